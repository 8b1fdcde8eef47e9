/**
 * BillProver that proves in a child process (see prover-worker.ts for why), started only when a
 * bill is to be proved and ended after a while without work: a household proves a bill a month, and
 * an idle prover child holds ~90 MB (snarkjs, the curve) for nothing. Loading it again costs about a
 * second next to a proof of seconds.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ZkMeterError } from '#protocol/errors.ts'
import { CircuitNotBuiltError } from '../../../../circuits/src/errors.ts'
import { buildScriptFor, netBuildDir, profileBuildDir } from '../../../../circuits/src/profiles.ts'
import type { BillProver, NetBillProofResult } from '../biller.ts'
import type { BillProof, ProveNetRequest, ProveRequest, ProverReply } from './prover-messages.ts'
import { PROVER_CHILD_EXEC_ARGV, proverChildEnv } from './threads.ts'

/** The prover process died or could not start: retrying (with a new process) may succeed. */
export class ProverProcessError extends Error {
  override name = 'ProverProcessError'
}

/** A proving error the child reported (invalid witness, …): retrying will not help. */
export class ProvingError extends ZkMeterError {
  override name = 'ProvingError'
}

type Pending = { resolve: (proof: BillProof | NetBillProofResult) => void; reject: (e: Error) => void }

export interface ProcessProver extends BillProver {
  n: number
  slots: number
  /**
   * Whether the net-bill circuit is built (circuits/build/<profile>/net/): `proveNet` is present
   * only then, and the node makes import bills only without it.
   */
  readonly netBuilt: boolean
  /** Whether a prover child is running now (for measurements and tests). */
  readonly running: boolean
  close(): Promise<void>
}

const WORKER = fileURLToPath(new URL('./prover-worker.ts', import.meta.url))

/** Default time a prover child may sit without work before it is ended. */
export const PROVER_IDLE_MS = 15_000

/**
 * The circuit's size from its build manifest, without loading snarkjs (the child checks the whole
 * build again when it starts). A missing build is reported at node start, not at the first bill.
 */
function circuitShape(profile: 'test' | 'production'): { n: number; slots: number } {
  const dir = profileBuildDir(profile)
  const files = ['bill.wasm', 'bill.zkey', 'manifest.json', 'verification_key.json'].map((f) => join(dir, f))
  const missing = files.filter((f) => !existsSync(f))
  if (missing.length > 0) {
    throw new CircuitNotBuiltError(
      `the "${profile}" circuit is not built (missing ${missing.join(', ')}): run \`${buildScriptFor(profile)}\``,
      { details: { profile, missing } },
    )
  }
  let manifest: { profile?: unknown; n?: unknown; slots?: unknown }
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as typeof manifest
  } catch (cause) {
    throw new CircuitNotBuiltError(
      `the "${profile}" circuit build in ${dir} is unreadable: rebuild it with \`${buildScriptFor(profile)}\``,
      { details: { profile }, cause },
    )
  }
  if (manifest.profile !== profile || !Number.isInteger(manifest.n) || !Number.isInteger(manifest.slots)) {
    throw new CircuitNotBuiltError(
      `${dir} does not hold a "${profile}" bill circuit build: rebuild it with \`${buildScriptFor(profile)}\``,
      { details: { profile, found: manifest.profile } },
    )
  }
  return { n: manifest.n as number, slots: manifest.slots as number }
}

/** Whether the profile's net-bill circuit is built (its files present; the child checks them when it loads it). */
function netCircuitBuilt(profile: 'test' | 'production'): boolean {
  const dir = netBuildDir(profile)
  return ['bill.wasm', 'bill.zkey', 'manifest.json', 'verification_key.json'].every((f) =>
    existsSync(join(dir, f)),
  )
}

/** One prover child and the proofs it owes: a child's death fails only its own requests. */
interface Worker {
  proc: ChildProcess
  ready: Promise<void>
  pending: Map<number, Pending>
  exited: Promise<void>
}

export async function processProver(
  profile: 'test' | 'production',
  options: { idleMs?: number } = {},
): Promise<ProcessProver> {
  const { n, slots } = circuitShape(profile)
  const idleMs = options.idleMs ?? PROVER_IDLE_MS
  let worker: Worker | undefined
  let idleTimer: NodeJS.Timeout | undefined
  let nextId = 1
  let closed = false

  const spawn = (): Worker => {
    const proc = fork(WORKER, [profile], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Not the node's V8 flags (its small young generation, tools/build-node.mjs, would slow
      // proving): the prover's own, which keep the threaded peak under 300 MB (threads.ts).
      execArgv: [...PROVER_CHILD_EXEC_ARGV],
      env: proverChildEnv(),
    })
    const pending = new Map<number, Pending>()
    let markReady: () => void = () => {}
    let failStart: (e: Error) => void = () => {}
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      failStart = reject
    })
    ready.catch(() => {}) // observed by prove(); a child nobody waits for must not crash the node
    proc.on('message', (message: ProverReply) => {
      if (message.type === 'ready') {
        if (message.n !== n || message.slots !== slots) {
          failStart(new ProvingError(`the prover loaded a circuit of ${message.n} readings, expected ${n}`))
        } else markReady()
      } else if (message.type === 'fatal') {
        failStart(new ProvingError(`${message.error.name}: ${message.error.message}`))
      } else {
        const p = pending.get(message.id)
        pending.delete(message.id)
        if (message.type === 'result' || message.type === 'net-result') p?.resolve(message.result)
        else
          p?.reject(
            new ProvingError(`${message.error.name}: ${message.error.message}`, {
              details: { name: message.error.name },
            }),
          )
        if (pending.size === 0) armIdle()
      }
    })
    const exited = new Promise<void>((resolve) => {
      proc.on('exit', (code, signal) => {
        if (worker?.proc === proc) worker = undefined
        const error = new ProverProcessError(`the prover process exited (${signal ?? code})`)
        failStart(error)
        for (const p of pending.values()) p.reject(error)
        pending.clear()
        resolve()
      })
    })
    return { proc, ready, pending, exited }
  }

  // Ends the child once it has had nothing to do for idleMs. Detached from the child before the
  // kill, so a proof asked for meanwhile starts a new one instead of landing on a dying process.
  const armIdle = () => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      const idle = worker
      if (!idle || idle.pending.size > 0) return
      worker = undefined
      idle.proc.kill('SIGKILL')
    }, idleMs)
    idleTimer.unref()
  }

  /**
   * One proof by the child, a bill's or a net bill's: the same lifecycle for both (started on demand,
   * ended when idle, killed by close, its death failing only its own requests).
   */
  const request = async <R>(make: (id: number) => ProveRequest | ProveNetRequest): Promise<R> => {
    if (closed) throw new ProverProcessError('the prover is closed')
    clearTimeout(idleTimer)
    worker ??= spawn()
    const current = worker
    await current.ready
    if (closed) throw new ProverProcessError('the prover is closed')
    const id = nextId++
    return new Promise<R>((resolve, reject) => {
      current.pending.set(id, { resolve: resolve as Pending['resolve'], reject })
      const message = make(id)
      // A child killed from outside may have closed its channel before its exit is handled: the
      // send fails then. Without a callback the ChildProcess emits 'error' for it, which nobody
      // listens to, and the whole node dies (bench:chaos, seed 515). Fail this proof instead; the
      // exit handler fails the others, and the next proof starts a new child.
      const lost = (cause: Error) => {
        if (!current.pending.delete(id)) return
        if (worker === current) worker = undefined
        reject(new ProverProcessError(`the prover process is gone: ${cause.message}`, { cause }))
      }
      if (!current.proc.connected) return lost(new Error('its channel is closed'))
      current.proc.send(message, (error) => {
        if (error) lost(error)
      })
    })
  }

  const netBuilt = netCircuitBuilt(profile)
  return {
    n,
    slots,
    netBuilt,
    get running() {
      return worker !== undefined
    },
    prove: (inputs) =>
      request<BillProof>((id) => ({
        id,
        kind: 'bill',
        readings: [...inputs.readings],
        salt: inputs.salt,
        prices: [...inputs.prices],
      })),
    ...(netBuilt
      ? {
          proveNet: (inputs: Parameters<NonNullable<BillProver['proveNet']>>[0]) =>
            request<NetBillProofResult>((id) => ({
              id,
              kind: 'net',
              importReadings: [...inputs.importReadings],
              exportReadings: [...inputs.exportReadings],
              salt: inputs.salt,
              prices: [...inputs.prices],
              feedInPrices: [...inputs.feedInPrices],
            })),
        }
      : {}),
    async close() {
      closed = true
      clearTimeout(idleTimer)
      const current = worker
      if (!current) return
      current.proc.kill('SIGKILL')
      await current.exited
    },
  }
}
