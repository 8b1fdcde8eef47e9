/**
 * How the prover child runs: how many threads it proves with, and the V8 flags and environment it
 * is started with. snarkjs' curve runs one worker thread per core; on a 2-core box they halve a
 * proof's time. What made the threaded child 340-390 MB at its peak (docs/benchmarks/prove.md,
 * 2026-12-08) was not the threads themselves but memory nobody collected in time: every
 * multi-exponentiation task sends its worker a copy of the bases (about 110 MB per proof in all),
 * which the worker's V8 heap of 5 MB does not notice and keeps until a collection it has no reason
 * to start, and glibc keeps each thread's freed blocks in that thread's own arena. The flags below
 * make each thread collect them as they pile up; with them the threaded child stays under 300 MB,
 * so it is what every box with two cores uses.
 */
import { availableParallelism } from 'node:os'
import { InvalidInputError } from '#protocol/errors.ts'

/**
 * V8 flags of the prover child (process-wide: its main thread and snarkjs' worker threads).
 *
 * --external-memory-accounted-in-global-limit: V8 counts ArrayBuffer memory (the bases and
 *   scalars copied into each worker for every task) against the heap's collection limit, so a
 *   worker collects them once they reach a few tens of MB, not when its own small heap grows.
 * --max-old-space-size=64 (MB): that limit follows the heap's size limit; 64 MB keeps it low. The
 *   child's live JavaScript data is 13-15 MB (main thread, after a collection) and about 5 MB per
 *   worker; the proving key, witness and curve buffers are ArrayBuffers, outside this limit.
 * --max-semi-space-size=4 (MB): a young generation of 3 × 4 MB per thread instead of up to 3 × 16:
 *   young ArrayBuffers (the copies) die in the next scavenge, which comes sooner. It took another
 *   30 MB off the peak and the extra collections' CPU back (docs/benchmarks/prove.md).
 */
export const PROVER_CHILD_EXEC_ARGV: readonly string[] = [
  '--external-memory-accounted-in-global-limit',
  '--max-old-space-size=64',
  '--max-semi-space-size=4',
]

/**
 * The prover child's environment: the node's, with glibc's malloc kept to one arena (unless the
 * operator set MALLOC_ARENA_MAX). With one arena per thread, what a worker frees is reused only by
 * that worker; one shared arena saved 25-30 MB of the threaded peak, at no measurable cost (a few
 * hundred allocations per proof). Other C libraries ignore the variable.
 */
export function proverChildEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '1' }
}

/** One thread on a single core (worker threads buy nothing there); `ZKMETER_PROVER_THREADS` overrides. */
export function proveOnOneThread(
  env: Record<string, string | undefined> = process.env,
  cores = availableParallelism(),
): boolean {
  const asked = env.ZKMETER_PROVER_THREADS
  if (asked === 'single') return true
  if (asked === 'multi') return false
  if (asked !== undefined && asked !== '') {
    throw new InvalidInputError(`ZKMETER_PROVER_THREADS must be "single" or "multi", got "${asked}"`)
  }
  return cores < 2
}
