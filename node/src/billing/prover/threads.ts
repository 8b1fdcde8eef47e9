/**
 * How many threads the prover child proves with. snarkjs' curve runs one worker thread per core;
 * on a 2-core box they shorten a proof, but they add 40-60 MB to its peak memory
 * (docs/benchmarks.md, prove), which a 512 MB-1 GB household box cannot spare.
 */
import { availableParallelism, totalmem } from 'node:os'
import { InvalidInputError } from '#protocol/errors.ts'

/** Below this much memory the prover keeps to one thread (a Raspberry-Pi-class box). */
const SMALL_BOX_BYTES = 2 * 1024 ** 3

/** One thread on a box with under 2 GiB of memory or a single core; `ZKMETER_PROVER_THREADS` overrides. */
export function proveOnOneThread(
  env: Record<string, string | undefined> = process.env,
  memory = totalmem(),
  cores = availableParallelism(),
): boolean {
  const asked = env.ZKMETER_PROVER_THREADS
  if (asked === 'single') return true
  if (asked === 'multi') return false
  if (asked !== undefined && asked !== '') {
    throw new InvalidInputError(`ZKMETER_PROVER_THREADS must be "single" or "multi", got "${asked}"`)
  }
  return memory < SMALL_BOX_BYTES || cores < 2
}
