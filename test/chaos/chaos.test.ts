/**
 * The chaos harness (bench/support/chaos-run.ts, `npm run bench:chaos`) in short: one seeded run of
 * a few faults against a real household node (the `npm start` bundle), with every invariant checked
 * after each fault and at the end. No acknowledged record may be lost and no invariant broken.
 * The seed is fixed so a failure here replays with `BENCH_CHAOS_SEED=<seed> BENCH_CHAOS_FAULTS=<n>
 * npm run bench:chaos` (the moments still depend on the machine; the faults and phases do not).
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
    const lines: string[] = []
    const result = await runChaos({ seed: SEED, faults: FAULTS, log: (line) => lines.push(line) })
    console.info(lines.join('\n'))
    expect(result.faults).toBe(FAULTS)
    expect(result.recordsLost).toBe(0)
    expect(result.violations).toEqual([])
  },
  scaledBudget(240_000),
)
