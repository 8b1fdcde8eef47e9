/**
 * Compiles the ledger and a circuit profile's Groth16 verifier with solc-js (the WASM compiler shipped
 * in the npm `solc` package: no compiler downloads), caching the output by a hash of the sources,
 * settings and compiler version so a second run costs a file read instead of ~2 s of solc.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import {
  readSetupInfo,
  type TrustedSetupInfo,
  type VerificationKeyJson,
  verifyingKeyConstants,
} from '../../circuits/src/setup.ts'

/** Repository root, found from this file so nothing depends on the working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const LEDGER_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'ZkMeterLedger.sol')
/** What the ledger and its net-bill extension share (types, storage layout, checks). */
export const LEDGER_BASE_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'ZkMeterLedgerBase.sol')
/** The net-bill extension the ledger deploys and delegates to (issue 17). */
export const NET_BILLS_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'ZkMeterNetBills.sol')
/** The tariff rules library the ledger imports (internal functions: inlined, nothing to deploy). */
export const TARIFF_RULES_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'TariffRules.sol')
/** The dev chain's test stablecoin (6 decimals, EIP-2612 permit): what `--asset token` bills in. */
export const TEST_STABLECOIN_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'TestStablecoin.sol')
/** The hand-written batch verifier; it takes the verifying key as a constructor argument. */
export const BATCH_VERIFIER_SOURCE = join(REPO_ROOT, 'contracts', 'src', 'Groth16BatchVerifier.sol')

/**
 * solc-js runs in a child process (solc-child.ts), and only when something must really be compiled:
 * loading it builds the whole compiler (~115 MB RSS that V8 keeps after the compile), which the
 * caller must not carry — a household node deploys its ledger on its first start and would otherwise
 * stay at ~255 MB (bench:node first_start_rss_mb). The cache key uses the package's version (what
 * `solc.version()` reports, without the build suffix), so checking the cache needs no compiler.
 */
const SOLC_CHILD = fileURLToPath(new URL('./solc-child.ts', import.meta.url))

async function compileInChild(inputJson: string): Promise<{ version: string; output: string }> {
  const child = spawn(process.execPath, [SOLC_CHILD], { stdio: ['pipe', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => stdout.push(c))
  child.stderr.on('data', (c: Buffer) => stderr.push(c))
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  child.stdin.end(inputJson)
  const code = await exited
  if (code !== 0) {
    throw new CompilationError(
      `the solc child process (contracts/ts/solc-child.ts) exited with ${code}: ${Buffer.concat(stderr).toString('utf8').trim().slice(-2000)}`,
    )
  }
  return JSON.parse(Buffer.concat(stdout).toString('utf8')) as { version: string; output: string }
}
const SOLC_PACKAGE_VERSION = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve('solc/package.json'), 'utf8')) as {
    version: string
  }
).version

/** solc's ABI JSON: a list of fragments, handed to ethers as is. */
export type Abi = readonly Record<string, unknown>[]

export interface CompiledContract {
  abi: Abi
  bytecode: `0x${string}`
}

export interface LedgerArtifacts {
  profile: string
  ledger: CompiledContract
  verifier: CompiledContract
  batchVerifier: CompiledContract
  /** The test stablecoin the dev chain deploys (never the production tools). */
  testStablecoin: CompiledContract
  /**
   * The verifying key's 24 coordinates in verification_key.json order (the order verifyingKeyHash
   * hashes): the batch verifier's constructor argument.
   */
  verifyingKey: bigint[]
  /** The circuit build's trusted setup (its manifest): what the ledger anchors at deploy. */
  setup: TrustedSetupInfo
  /**
   * The net-bill circuit's verifier (contract renamed Groth16NetVerifier) and its setup, from
   * circuits/build/<profile>/net/; absent when that build is not there (the ledger then deploys
   * with net bills disabled).
   */
  net?: { verifier: CompiledContract; setup: TrustedSetupInfo }
}

/** solc reported errors (not warnings) for the given sources. */
export class CompilationError extends ZkMeterError {
  override name = 'CompilationError'
}

/** The circuit profile's verifier has not been generated yet. */
export class MissingVerifierError extends ZkMeterError {
  override name = 'MissingVerifierError'
}

/**
 * Optimiser tuned for calls over deployment (bills are submitted and paid far more often than the
 * ledger is deployed). Cancun for transient storage (the reentrancy guard); every major L2 has it.
 */
const SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[]
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

/** An import of an npm package's Solidity file (e.g. OpenZeppelin's) that is not installed. */
export class MissingImportError extends ZkMeterError {
  override name = 'MissingImportError'
}

const IMPORT_PATTERN = /^\s*import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']\s*;/gm

/**
 * Adds every file `sources` import, transitively, as solc would name it: a relative import resolved
 * against its importer's unit name, anything else (`@openzeppelin/contracts/...`) read from the npm
 * package in node_modules. solc-js has no file system of its own, and passing the closure as
 * sources (instead of an import callback across the child process) keeps the cache key a hash of
 * every byte compiled.
 */
export function withImports(sources: Readonly<Record<string, string>>): Record<string, string> {
  const all: Record<string, string> = { ...sources }
  const require = createRequire(import.meta.url)
  const pending = Object.keys(all)
  while (pending.length > 0) {
    const unit = pending.pop() as string
    for (const match of (all[unit] as string).matchAll(IMPORT_PATTERN)) {
      const path = match[1] as string
      const name = path.startsWith('.') ? posix.normalize(posix.join(posix.dirname(unit), path)) : path
      if (all[name] !== undefined) continue
      let file: string
      try {
        file = require.resolve(name)
      } catch (err) {
        throw new MissingImportError(
          `${unit} imports ${path} (${name}), which is neither among the sources nor in an installed package`,
          { cause: err },
        )
      }
      all[name] = readFileSync(file, 'utf8')
      pending.push(name)
    }
  }
  return all
}

/**
 * Standard-JSON compile of `sources` (unit name → Solidity text) and what they import (withImports).
 * Returns every contract by name.
 * With `cacheDir`, a result for identical sources/settings/compiler is reused from `<cacheDir>/artifacts.json`.
 */
export async function compileSolidity(
  sources: Readonly<Record<string, string>>,
  options: { cacheDir?: string } = {},
): Promise<Record<string, CompiledContract>> {
  if (sources === null || typeof sources !== 'object' || Object.keys(sources).length === 0) {
    throw new InvalidInputError('compileSolidity needs at least one source: { "Name.sol": "<solidity>" }')
  }
  for (const [unit, content] of Object.entries(sources)) {
    if (typeof content !== 'string') throw new InvalidInputError(`source ${unit} must be Solidity text`)
  }
  const closure = withImports(sources)
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(closure).map(([unit, content]) => [unit, { content }])),
    settings: SETTINGS,
  }
  const inputJson = JSON.stringify(input)
  const hash = createHash('sha256').update(SOLC_PACKAGE_VERSION).update('\0').update(inputJson).digest('hex')
  const cacheFile = options.cacheDir === undefined ? undefined : join(options.cacheDir, 'artifacts.json')
  if (cacheFile !== undefined && existsSync(cacheFile)) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as {
        hash?: string
        contracts?: Record<string, CompiledContract>
      }
      if (cached.hash === hash && cached.contracts !== undefined) return cached.contracts
    } catch {
      // A torn or hand-edited cache is just recompiled below.
    }
  }

  const solc = await compileInChild(inputJson)
  const output = JSON.parse(solc.output) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) {
    throw new CompilationError(
      `solc ${solc.version} rejected the sources:\n${errors.map((e) => e.formattedMessage).join('\n')}`,
      { details: { errors: errors.map((e) => e.formattedMessage) } },
    )
  }
  const contracts: Record<string, CompiledContract> = {}
  for (const unit of Object.values(output.contracts ?? {})) {
    for (const [name, contract] of Object.entries(unit)) {
      contracts[name] = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
    }
  }
  if (cacheFile !== undefined) {
    await mkdir(dirname(cacheFile), { recursive: true })
    // Write-then-rename so a concurrent reader (another test process) never sees half a file.
    const tmp = `${cacheFile}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify({ hash, solc: solc.version, contracts }))
    await rename(tmp, cacheFile)
  }
  return contracts
}

const PROFILE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/

/** Path of the verifier the circuit build writes for `profile`. */
export function verifierSourcePath(profile: string): string {
  return join(REPO_ROOT, 'circuits', 'build', profile, 'Groth16Verifier.sol')
}

/**
 * Compiles ZkMeterLedger with the Groth16 verifier of circuit profile `profile` (e.g. 'test',
 * 'production'), cached in contracts/build/<profile>/.
 */
export async function compileLedger(profile: string): Promise<LedgerArtifacts> {
  if (typeof profile !== 'string' || !PROFILE_PATTERN.test(profile)) {
    throw new InvalidInputError(
      `circuit profile must be a lowercase name such as 'test' or 'production', got ${JSON.stringify(profile)}`,
    )
  }
  const verifierPath = verifierSourcePath(profile)
  if (!existsSync(verifierPath)) {
    throw new MissingVerifierError(
      `no Groth16 verifier for circuit profile '${profile}' at circuits/build/${profile}/Groth16Verifier.sol: ` +
        `build the circuit first (npm run build:circuits${profile === 'production' ? '' : `:${profile}`})`,
      { details: { profile } },
    )
  }
  const setup = readSetupInfo(dirname(verifierPath))
  if (setup === undefined) {
    throw new MissingVerifierError(
      `circuits/build/${profile}/manifest.json does not say which trusted setup the verifier comes from: ` +
        `rebuild the circuit (npm run build:circuits${profile === 'production' ? ' -- --ptau FILE' : `:${profile}`})`,
      { details: { profile } },
    )
  }
  // The net-bill verifier is snarkjs' template too: renamed, so both verifiers compile side by side.
  const netDir = join(dirname(verifierPath), 'net')
  const netSetup = existsSync(join(netDir, 'Groth16Verifier.sol')) ? readSetupInfo(netDir) : undefined
  const netSources: Record<string, string> =
    netSetup === undefined
      ? {}
      : {
          'Groth16NetVerifier.sol': (await readFile(join(netDir, 'Groth16Verifier.sol'), 'utf8')).replace(
            /\bcontract Groth16Verifier\b/,
            'contract Groth16NetVerifier',
          ),
        }
  const contracts = await compileSolidity(
    {
      'ZkMeterLedger.sol': await readFile(LEDGER_SOURCE, 'utf8'),
      'ZkMeterLedgerBase.sol': await readFile(LEDGER_BASE_SOURCE, 'utf8'),
      'ZkMeterNetBills.sol': await readFile(NET_BILLS_SOURCE, 'utf8'),
      ...netSources,
      'TariffRules.sol': await readFile(TARIFF_RULES_SOURCE, 'utf8'),
      'Groth16Verifier.sol': await readFile(verifierPath, 'utf8'),
      'Groth16BatchVerifier.sol': await readFile(BATCH_VERIFIER_SOURCE, 'utf8'),
      'TestStablecoin.sol': await readFile(TEST_STABLECOIN_SOURCE, 'utf8'),
    },
    { cacheDir: join(REPO_ROOT, 'contracts', 'build', profile) },
  )
  const ledger = contracts.ZkMeterLedger
  const verifier = contracts.Groth16Verifier
  const batchVerifier = contracts.Groth16BatchVerifier
  const testStablecoin = contracts.TestStablecoin
  if (
    ledger === undefined ||
    verifier === undefined ||
    batchVerifier === undefined ||
    testStablecoin === undefined
  ) {
    throw new CompilationError(
      `expected contracts ZkMeterLedger, Groth16Verifier, Groth16BatchVerifier and TestStablecoin, solc produced ${Object.keys(contracts).join(', ')}`,
    )
  }
  const vk = JSON.parse(
    await readFile(join(dirname(verifierPath), 'verification_key.json'), 'utf8'),
  ) as VerificationKeyJson
  const verifyingKey = verifyingKeyConstants(vk).map((hex) => BigInt(`0x${hex}`))
  const netBills = contracts.ZkMeterNetBills
  if (netBills === undefined) throw new CompilationError('solc produced no ZkMeterNetBills')
  const netVerifier = contracts.Groth16NetVerifier
  const net =
    netSetup !== undefined && netVerifier !== undefined
      ? { verifier: netVerifier, setup: netSetup }
      : undefined
  return {
    profile,
    // One ABI for the ledger address: its own functions plus the extension's, which its fallback
    // delegates to (events and errors of both are emitted from the ledger's address).
    ledger: { abi: mergeAbi(ledger.abi, netBills.abi), bytecode: ledger.bytecode },
    verifier,
    batchVerifier,
    testStablecoin,
    verifyingKey,
    setup,
    ...(net === undefined ? {} : { net }),
  }
}

/** `a` plus the fragments of `b` it does not have (by kind and name); never b's constructor. */
function mergeAbi(a: Abi, b: Abi): Abi {
  const key = (f: Record<string, unknown>) => `${String(f.type)}:${String(f.name)}`
  const seen = new Set(a.map(key))
  return [...a, ...b.filter((f) => f.type !== 'constructor' && f.type !== 'fallback' && !seen.has(key(f)))]
}
