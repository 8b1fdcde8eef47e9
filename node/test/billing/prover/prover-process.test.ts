/**
 * The prover child runs only while there is proving to do: none at start, one during a proof, gone
 * after the idle time, and a new one for the next proof (real Groth16 proofs, test circuit).
 */
import { readdir, readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { commit, netTariffHash } from '#protocol/commitment.ts'
import { scaledBudget } from '../../../../test/support/load.ts'
import { processProver } from '../../../src/billing/prover/prover-process.ts'
import { PROVER_CHILD_EXEC_ARGV, proverChildEnv } from '../../../src/billing/prover/threads.ts'
import { demoFeedInPrices, demoPrices } from '../../../src/chain/embedded-chain.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** This process's prover children (Linux /proc). */
async function proverChildren(): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes('prover-worker')) found.push(Number(entry))
  }
  return found
}

describe('processProver', () => {
  it(
    'starts its child for a proof and ends it after the idle time',
    async () => {
      const prover = await processProver('test', { idleMs: 300 })
      try {
        expect(prover.running).toBe(false)
        expect(prover.n).toBe(192)
        const prices = demoPrices(prover.slots)
        const readings = Array.from({ length: prover.n }, (_, i) => (i * 7) % 500)
        const first = await prover.prove({ readings, salt: 12345n, prices })
        expect(first.energyWh).toBe(BigInt(readings.reduce((a, b) => a + b, 0)))
        expect(prover.running).toBe(true)
        const deadline = Date.now() + 5000
        while (prover.running && Date.now() < deadline) await sleep(50)
        expect(prover.running).toBe(false)
        // The next bill gets a new child and the same answer.
        const second = await prover.prove({ readings, salt: 12345n, prices })
        expect(second.commitment).toBe(first.commitment)
        expect(second.total).toBe(first.total)
      } finally {
        await prover.close()
      }
      expect(prover.running).toBe(false)
      await expect(prover.prove({ readings: [], salt: 1n, prices: [] })).rejects.toThrow(/closed/)
    },
    scaledBudget(120_000),
  )

  it(
    'proves a net bill in the same child, which ends after the idle time as after a bill, and is killed by close mid-proof',
    async () => {
      const prover = await processProver('test', { idleMs: 300 })
      try {
        expect(prover.netBuilt).toBe(true)
        const prices = demoPrices(prover.slots)
        const feedInPrices = demoFeedInPrices(prover.slots)
        const importReadings = Array.from({ length: prover.n }, (_, i) => (i * 7) % 500)
        const exportReadings: number[] = Array.from({ length: prover.n }, (_, i) =>
          i % 96 >= 40 && i % 96 < 56 ? 300 : 0,
        )
        const net = await (prover.proveNet as NonNullable<typeof prover.proveNet>)({
          importReadings,
          exportReadings,
          salt: 777n,
          prices,
          feedInPrices,
        })
        expect(net.importWh).toBe(BigInt(importReadings.reduce((a, b) => a + b, 0)))
        expect(net.exportWh).toBe(BigInt(exportReadings.reduce((a, b) => a + b, 0)))
        expect(net.tariffHash).toBe(netTariffHash(prices, feedInPrices))
        expect(net.commitment).toBe(commit(importReadings, 777n, prover.n, prover.slots))
        expect(net.exportCommitment).toBe(commit(exportReadings, 777n, prover.n, prover.slots, 'export'))
        expect(net.credit).toBe(
          exportReadings.reduce((a, r, i) => a + BigInt(r) * (feedInPrices[i % 96] ?? 0n), 0n),
        )
        expect(prover.running).toBe(true)
        const deadline = Date.now() + 5000
        while (prover.running && Date.now() < deadline) await sleep(50)
        expect(prover.running).toBe(false)
        // A net proof in flight when the node stops: the child is killed, the proof fails, nothing hangs.
        const inFlight = (prover.proveNet as NonNullable<typeof prover.proveNet>)({
          importReadings,
          exportReadings,
          salt: 778n,
          prices,
          feedInPrices,
        })
        const outcome = inFlight.then(
          () => 'proved',
          (error: Error) => error.name,
        )
        while (!prover.running) await sleep(10)
        await sleep(200)
        await prover.close()
        expect(['ProverProcessError', 'proved']).toContain(await outcome)
      } finally {
        await prover.close()
      }
      expect(prover.running).toBe(false)
    },
    scaledBudget(120_000),
  )

  it(
    'fails a proof asked of a child that was just killed, and does not crash the node',
    async () => {
      // bench:chaos (seed 515): kill -9 of the prover child, and the node's next prove() sent to the
      // closed IPC channel; the ChildProcess emitted 'error' (ERR_IPC_CHANNEL_CLOSED) with nobody
      // listening, and the whole node died of it.
      const prover = await processProver('test', { idleMs: 60_000 })
      const crashes: unknown[] = []
      const onCrash = (error: unknown) => crashes.push(error)
      process.on('uncaughtException', onCrash)
      try {
        const prices = demoPrices(prover.slots)
        const readings = Array.from({ length: prover.n }, (_, i) => (i * 7) % 500)
        await prover.prove({ readings, salt: 1n, prices })
        const [child] = await proverChildren()
        expect(child).toBeDefined()
        process.kill(child as number, 'SIGKILL')
        // Proofs asked at every moment of the child's death: before and after its channel is seen
        // closed, and before its exit is handled.
        const attempts = await Promise.allSettled(
          Array.from({ length: 40 }, async (_, i) => {
            await sleep(i)
            return prover.prove({ readings, salt: 2n, prices })
          }),
        )
        await sleep(500)
        expect(crashes).toEqual([])
        // A proof that landed on the dead child failed with a prover error; a later one got a new child.
        for (const a of attempts)
          if (a.status === 'rejected') expect((a.reason as Error).name).toBe('ProverProcessError')
        const again = await prover.prove({ readings, salt: 3n, prices })
        expect(again.energyWh).toBe(BigInt(readings.reduce((x, y) => x + y, 0)))
      } finally {
        process.off('uncaughtException', onCrash)
        await prover.close()
      }
    },
    scaledBudget(120_000),
  )

  it(
    'starts its child with the prover flags and environment, and the child peaks under 300 MB',
    async () => {
      // Issue 16: a 512 MB box. Before these flags the threaded child peaked at 340-390 MB over a
      // burst of proofs: the copies of the bases sent to snarkjs' curve workers were collected late
      // (node/src/billing/prover/threads.ts). The test circuit has the production one's size (the
      // commitment, not N, sets it), so its peak is the production peak.
      const prover = await processProver('test', { idleMs: 60_000 })
      try {
        const prices = demoPrices(prover.slots)
        const readings = Array.from({ length: prover.n }, (_, i) => (i * 7) % 500)
        for (let salt = 1n; salt <= 4n; salt++) {
          const proof = await prover.prove({ readings, salt, prices })
          expect(proof.energyWh).toBe(BigInt(readings.reduce((a, b) => a + b, 0)))
        }
        const [child] = await proverChildren()
        expect(child).toBeDefined()
        const argv = (await readFile(`/proc/${child}/cmdline`, 'utf8')).split('\0')
        for (const flag of PROVER_CHILD_EXEC_ARGV) expect(argv).toContain(flag)
        const environ = (await readFile(`/proc/${child}/environ`, 'utf8')).split('\0')
        expect(environ).toContain(`MALLOC_ARENA_MAX=${proverChildEnv().MALLOC_ARENA_MAX}`)
        // VmHWM: the child's peak resident memory, what getrusage's maxRSS reports (bench:prove).
        const status = await readFile(`/proc/${child}/status`, 'utf8')
        const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024
        const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1])
        console.log(`prover child: peak RSS ${peakMb.toFixed(0)} MB after 4 proofs, ${threads} threads`)
        expect(peakMb).toBeGreaterThan(50)
        // 300 MB is issue 16's figure for the 2-core box (one curve worker per core); each further
        // core adds a worker: 40 MB allowed for each (its isolate and WASM, 16-20 MB measured, and
        // its share of the copies).
        expect(peakMb).toBeLessThanOrEqual(300 + 40 * Math.max(0, availableParallelism() - 2))
      } finally {
        await prover.close()
      }
    },
    scaledBudget(120_000),
  )
})
