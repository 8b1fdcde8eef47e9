import { defineConfig } from 'vitest/config'
import { ALL_TESTS, EXCLUDED, SYSTEM_TESTS } from './test/support/tiers.ts'

// One runner for every TypeScript test in the repository, in two tiers (test/support/tiers.ts says
// which file is in which): `vitest run` runs both in one invocation (so `npm test` and .ci/run see
// one summary), `--project unit` or `--project system` one of them. Proof generation and the
// in-process chain are CPU-heavy, so files run in forked processes (snarkjs' ffjavascript cannot
// load in worker_threads) and the timeouts are generous; benchmarks live under bench/, not here.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ALL_TESTS, exclude: [...EXCLUDED, ...SYSTEM_TESTS] } },
      { extends: true, test: { name: 'system', include: [...SYSTEM_TESTS], exclude: EXCLUDED } },
    ],
  },
})
