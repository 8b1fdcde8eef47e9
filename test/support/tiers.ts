/**
 * The two test tiers, decided here and nowhere else (vitest.config.ts reads this list).
 *
 * unit (`npm run test:unit`, under 2 minutes on 2 cores): pure and single-component tests, in
 * process; an in-process dev chain or MQTT broker is fine.
 * system (`npm run test:system`): what starts a stack: household nodes (in process or forked),
 * bill proofs (Groth16, seconds of CPU each), the circuit build and its powers of tau, crash tests
 * that kill child processes mid-write, browsers, and external programs (mosquitto, socat, the AVR
 * and lx106 toolchains with the firmware simulation). Only this tier needs `npm run
 * build:circuits:test` and `npm run build:ui` first. Measured per file (docs/benchmarks.md, Test
 * tiers): these are the files that take tens of seconds to minutes each.
 *
 * A test file not named below is a unit test. Moving a file named here means changing its line:
 * test/support/tiers.test.ts fails on a line that names no file.
 */
export const SYSTEM_TESTS: readonly string[] = [
  // household nodes and the CLI: a whole stack, in process or forked
  'node/test/app/at-rest.test.ts',
  'node/test/app/cli.test.ts',
  'node/test/app/crash.test.ts',
  'node/test/app/e2e.test.ts',
  'node/test/tls/node-https.test.ts',
  'node/test/mesh/household/mesh.test.ts',
  'node/test/mesh/privacy/sybil.test.ts',
  'node/test/chain/embedded-chain.test.ts',
  'node/test/utility/cli.test.ts',
  // bill proofs, and the circuit build they need
  'circuits/test/bill.test.ts',
  'circuits/test/net-bill.test.ts',
  'circuits/test/build.test.ts',
  'circuits/test/dev-ptau.test.ts',
  'circuits/test/ceremony.test.ts',
  'contracts/test/forged-bill.test.ts',
  'contracts/test/ledger-bills.test.ts',
  'contracts/test/ledger-token.test.ts',
  'contracts/test/ledger-net.test.ts',
  'node/test/http/bills-routes.test.ts',
  'node/test/billing/crash-retry.test.ts',
  'node/test/billing/retry.test.ts',
  'node/test/billing/payments.test.ts',
  'node/test/billing/token-payments.test.ts',
  'node/test/billing/net-bills.test.ts',
  'node/test/billing/chain-faults.test.ts',
  'node/test/billing/prover/prover-process.test.ts',
  // crash tests: child processes killed with SIGKILL and restarted
  'node/test/ingest/crash.test.ts',
  'node/test/vault/crash.test.ts',
  // the chaos harness in short: a forked household node under seeded faults (bench:chaos)
  'test/chaos/chaos.test.ts',
  // browsers
  'ui/test/components.test.ts',
  'ui/test/safety.test.ts',
  'ui/test/bills.test.ts',
  'ui/test/e2e.test.ts',
  'ui/test/token-bills.test.ts',
  'ui/test/utility-token.test.ts',
  'ui/test/a11y.test.ts',
  'ui/test/resident-answers.test.ts',
  'node/test/http/browser-attacks.test.ts',
  'node/test/tls/browser.test.ts',
  'ui/test/pwa.test.ts',
  'ui/test/insight-view.test.ts',
  // external programs: broker, pty pair, firmware toolchains and simulation
  'node/test/automation/mosquitto.test.ts',
  'node/test/ingest/mosquitto.test.ts',
  'node/test/meter/mosquitto.test.ts',
  'node/test/mqtt/mosquitto-policy.test.ts',
  // Debian's mosquitto_sub (the unauthenticated '#' attack) and mosquitto_passwd (hash format)
  'node/test/mqtt/access.test.ts',
  'node/test/mqtt/passwords.test.ts',
  'node/test/serial/pty.test.ts',
  'firmware/test/esp8266.test.ts',
  'firmware/test/uno-sim.test.ts',
]

/** Every test file in the repository, both tiers. */
export const ALL_TESTS = ['{protocol,node,circuits,contracts,firmware,ui,test}/**/*.test.ts']

export const EXCLUDED = ['**/node_modules/**', '**/build/**', '**/dist/**']
