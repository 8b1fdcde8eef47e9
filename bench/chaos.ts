/**
 * bench:chaos — the chaos harness of issue 15 (bench/support/chaos-run.ts, docs/reliability.md):
 * one household node, its virtual meter at high speed, and BENCH_CHAOS_FAULTS (default 60) seeded
 * faults at random moments: kill -9 of the node (during ingest, sealing, proving, submission,
 * payment, backup), of its dev chain and of its prover child; chain RPC resets, errors and slow
 * answers; a full disk; wall-clock jumps. The invariants are checked after each fault and at the end.
 * Figures:
 *   faults                 faults injected
 *   records_lost           acknowledged records missing from the vault at the end (must be 0)
 *   invariant_violations   every broken invariant, each printed with the seed (must be 0)
 *   restart_p95_s          start → first answer from /api/status, over every restart
 * BENCH_CHAOS_SEED replays a run (the seed is printed first); BENCH_CHAOS_KINDS limits the fault
 * kinds (comma-separated, of FAULT_KINDS); BENCH_CHAOS_SPEED the meter's speed (default 7200);
 * BENCH_CHAOS_KEEP=1 keeps the data directory (and the node's log); BENCH_CHAOS_DRAIN_MIN caps the final
 * wait for the bill backlog (default 30). SIGUSR2 ends the faults early and runs the final checks.
 */
import { cpus } from 'node:os'
import { buildNode } from '../tools/build-node.mjs'
import { FAULT_KINDS, type FaultKind, runChaos } from './support/chaos-run.ts'

const seed = Number(process.env.BENCH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
const faults = Number(process.env.BENCH_CHAOS_FAULTS ?? 60)
const kinds = (process.env.BENCH_CHAOS_KINDS?.split(',') ?? [...FAULT_KINDS]) as FaultKind[]
for (const kind of kinds)
  if (!FAULT_KINDS.includes(kind))
    throw new Error(`unknown fault kind ${kind}; known: ${FAULT_KINDS.join(', ')}`)

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
}

console.log(`seed ${seed} (BENCH_CHAOS_SEED=${seed} replays this run)`)
const built = await buildNode()
console.log(`bundle ${built.file} (${built.ms} ms)`)
const load = async () => (await import('node:fs/promises')).readFile('/proc/loadavg', 'utf8')
const loadStart = (await load()).split(' ').slice(0, 3).join(' ')
const started = performance.now()
// SIGUSR2 ends the faults where they are and runs the final checks (the figures then say how many).
let endEarly = false
process.on('SIGUSR2', () => {
  endEarly = true
})
const result = await runChaos({
  endEarly: () => endEarly,
  seed,
  faults,
  kinds,
  keep: process.env.BENCH_CHAOS_KEEP === '1',
  ...(process.env.BENCH_CHAOS_SPEED ? { meterSpeed: Number(process.env.BENCH_CHAOS_SPEED) } : {}),
  ...(process.env.BENCH_CHAOS_DRAIN_MIN
    ? { drainCapMs: Number(process.env.BENCH_CHAOS_DRAIN_MIN) * 60_000 }
    : {}),
})
const loadEnd = (await load()).split(' ').slice(0, 3).join(' ')
console.log(`faults by kind: ${JSON.stringify(result.byKind)}`)
console.log(
  `acknowledged up to seq ${result.ackedSeq}, ${result.bills} bills, ${result.restarts.length} starts`,
)
for (const v of result.violations) console.log(`violation: ${v}`)
console.log(
  `load average at start ${loadStart}, at end ${loadEnd}; ${((performance.now() - started) / 60_000).toFixed(1)} min`,
)
if (result.violations.length > 0) process.exitCode = 1
console.log(
  JSON.stringify({
    bench: 'chaos',
    machine: `${cpus().length} cores, ${process.version}`,
    figures: {
      seed,
      faults: result.faults,
      records_lost: result.recordsLost,
      records_gone: result.goneRecords,
      invariant_violations: result.violations.length,
      restart_p95_s: Number(percentile(result.restarts, 95).toFixed(2)),
      restart_max_s: Number(Math.max(...result.restarts).toFixed(2)),
      restarts: result.restarts.length,
      acked_seq: result.ackedSeq,
      bills: result.bills,
      drain_s: Math.round(result.drainSeconds),
      final_catch_up_s: Number(result.finalCatchUpSeconds.toFixed(1)),
    },
  }),
)
