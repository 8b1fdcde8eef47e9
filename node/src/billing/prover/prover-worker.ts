/**
 * Child process that proves bills (forked by prover-process.ts). Groth16 proving keeps a core
 * busy for seconds; in its own process it cannot stall the node's event loop (live stream,
 * relay commands, alarms), and a stop can kill it mid-proof. snarkjs' ffjavascript does not load
 * in worker_threads, hence a process.
 */
import { holdCurve } from '../../../../circuits/src/index.ts'
import { isProfileName } from '../../../../circuits/src/profiles.ts'
import { circuitProver } from './prover.ts'
import type { ProveNetRequest, ProveRequest, ProverReply } from './prover-messages.ts'
import { proveOnOneThread } from './threads.ts'

const send = (message: ProverReply) => process.send?.(message)

const profile = process.argv[2]
if (!isProfileName(profile)) {
  send({
    type: 'fatal',
    error: { name: 'InvalidInputError', message: `unknown circuit profile ${profile}` },
  })
  process.exit(1)
}

// Ctrl-C in a terminal signals the whole process group: dying here at once would fail the proof in
// flight before the node has begun to stop. The node ends this process itself (SIGKILL on stop),
// and its death closes the IPC channel, which ends this process too (below).
process.on('SIGINT', () => {})
process.on('disconnect', () => process.exit(0))

try {
  // This process lives for a burst of proofs and ends after a while without work (its threads
  // with it): keep the curve between proofs instead of building it for each. Threaded wherever
  // there are two cores: with the flags prover-process.ts starts it with (threads.ts) the threaded
  // peak stays under 300 MB, which a 512 MB box can spare; with one core threads buy nothing.
  holdCurve({ singleThread: proveOnOneThread() })
  const prover = await circuitProver(profile)
  send({ type: 'ready', n: prover.n, slots: prover.slots })
  const failed = (id: number) => (error: Error) =>
    send({ type: 'error', id, error: { name: error.name, message: error.message } })
  process.on('message', (request: ProveRequest | ProveNetRequest) => {
    if (request.kind === 'net') {
      prover
        .proveNet(request)
        .then((result) => send({ type: 'net-result', id: request.id, result }), failed(request.id))
      return
    }
    prover
      .prove(request)
      .then((result) => send({ type: 'result', id: request.id, result }), failed(request.id))
  })
} catch (error) {
  send({ type: 'fatal', error: { name: (error as Error).name, message: (error as Error).message } })
  process.exit(1)
}
