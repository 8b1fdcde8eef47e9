/**
 * npm run build:contracts [-- --profile test|production]: compiles the ledger with the profile's
 * verifier into contracts/build/<profile>/ (a no-op when the sources have not changed).
 */
import { parseArgs } from 'node:util'
import { compileLedger } from './compile.ts'

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'test' } } })
const started = performance.now()
const artifacts = await compileLedger(values.profile ?? 'test')
console.log(
  `contracts/build/${artifacts.profile}: ZkMeterLedger ${(artifacts.ledger.bytecode.length - 2) / 2} bytes, ` +
    `Groth16Verifier ${(artifacts.verifier.bytecode.length - 2) / 2} bytes (${Math.round(performance.now() - started)} ms)`,
)
