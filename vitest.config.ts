import { defineConfig } from 'vitest/config'
import { scaledBudget } from './test/support/load.ts'
import { ALL_TESTS, EXCLUDED, SYSTEM_TESTS } from './test/support/tiers.ts'

// One runner for every TypeScript test in the repository, in two tiers (test/support/tiers.ts says
// which file is in which): `vitest run` runs both in one invocation (so `npm test` and .ci/run see
// one summary), `--project unit` or `--project system` one of them. Proof generation and the
// in-process chain are CPU-heavy, so files run in forked processes (snarkjs' ffjavascript cannot
// load in worker_threads) and the timeouts are generous; benchmarks live under bench/, not here.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time on 2 cores. Vitest's default here was one, and the suite took 23 min; with two
    // it passed whole in 17.5 min at load 6–9 (a chaos bench beside it, 2026-12-07), so the system tests
    // hold beside each other, and a quiet machine runs the suite in under 15 min.
    maxWorkers: 2,
    // Quiet-machine figures, stretched by the machine's load when the run starts (test/support/load.ts);
    // the waits inside tests stretch again at every probe, and fail first, naming what they awaited.
    testTimeout: scaledBudget(120_000),
    hookTimeout: scaledBudget(300_000),
    teardownTimeout: 30_000,
    // expect.poll's own default is 1 s: a browser test polling for a payment batch or a stream update
    // failed at load 17 ("Paying 6 of 6 …" still shown) although the flow finished seconds later. The
    // waits are for events that do come; only a failing poll pays the longer budget.
    expect: { poll: { timeout: scaledBudget(10_000) } },
    projects: [
      { extends: true, test: { name: 'unit', include: ALL_TESTS, exclude: [...EXCLUDED, ...SYSTEM_TESTS] } },
      { extends: true, test: { name: 'system', include: [...SYSTEM_TESTS], exclude: EXCLUDED } },
    ],
  },
})
