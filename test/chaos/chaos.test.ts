/**
 * The chaos harness (bench/support/chaos-run.ts, `npm run bench:chaos`) in short: one seeded run of
 * a few faults against a real household node (the `npm start` bundle), with every invariant checked
 * after each fault and at the end. No acknowledged record may be lost and no invariant broken.
 * The seed is fixed so a failure here replays with `BENCH_CHAOS_SEED=<seed> BENCH_CHAOS_FAULTS=<n>
 * npm run bench:chaos` (the moments still depend on the machine; the faults and phases do not).
 *
 * On 2026-12-07 (2 shared cores, load 15–23) this failed on a bug it found, not on the harness: a
 * kill -9 of the node also kills its virtual meter, whose unacknowledged records are lost and then
 * signed gone; a period missing several intervals is rejected, and every later bill then fails
 * PeriodGap or waits behind it for ever (docs/reliability.md, The chaos harness). It passes once
 * billing gets past a period the meter cannot bill.
 */
import { beforeAll, expect, it } from 'vitest'
import { runChaos } from '../../bench/support/chaos-run.ts'
import { buildNode } from '../../tools/build-node.mjs'
import { scaledBudget } from '../support/load.ts'

const SEED = 20261207
const FAULTS = 5

beforeAll(async () => {
  await buildNode()
}, scaledBudget(120_000))

it(
  `loses no acknowledged record and breaks no invariant over ${FAULTS} seeded faults`,
  async () => {
    const result = await runChaos({ seed: SEED, faults: FAULTS, log: (line) => console.info(line) })
    expect(result.faults).toBe(FAULTS)
    expect(result.recordsLost).toBe(0)
    expect(result.violations).toEqual([])
  },
  scaledBudget(240_000),
)
