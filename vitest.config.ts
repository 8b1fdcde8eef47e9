import { defineConfig } from 'vitest/config'

// One runner for every TypeScript test in the repository. Proof generation and the in-process
// chain are CPU-heavy, so files run in forked processes (snarkjs' ffjavascript cannot load in
// worker_threads) and the timeouts are generous; benchmarks live under bench/, not here.
export default defineConfig({
  test: {
    include: ['{protocol,node,circuits,contracts,firmware,ui,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/build/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 30_000,
  },
})
