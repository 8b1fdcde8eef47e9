/**
 * Production trusted setup: a public Powers of Tau (phase 1) and a multi-party Groth16 phase 2.
 * One ceremony lives in one directory (ceremony.json + the zkey chain); docs/trusted-setup.md walks
 * through it. Subcommands (`node circuits/scripts/ceremony.ts <cmd> …`):
 *
 *   import     --ptau <file> --dir <ceremony>            verify a public prepared ptau, record it
 *   start      --profile test|production --dir <ceremony>  compile, phase-2 start (bill_0000.zkey)
 *   contribute --dir <ceremony> --name <who> [--entropy <text>]   add a contribution, verify it
 *   verify     --dir <ceremony>                         verify every contribution of the chain
 *   beacon     --dir <ceremony> --hash <hex> [--iterations-exp 10]   final public beacon
 *   export     --dir <ceremony> --out <build dir>       zkey, wasm, vkey, Solidity verifier, manifest
 *
 * Security rests on at least one contributor being honest and destroying their entropy. snarkjs
 * mixes the contributor's entropy with 64 bytes of OS randomness; without --entropy a contributor
 * gets OS randomness only, which is the stronger default.
 */
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import * as snarkjs from 'snarkjs'
import { ZkMeterError } from '#protocol/errors.ts'
import { isProfileName, PROFILES, type ProfileName, profileBuildDir } from '../src/profiles.ts'
import type { Manifest } from './build.ts'
import {
  compileCircuit,
  exportArtifacts,
  initialZkey,
  type Log,
  quietLogger,
  setupPower,
  withLock,
} from './pipeline.ts'

/** A ceremony step failed or was asked out of order. */
export class CeremonyError extends ZkMeterError {
  override name = 'CeremonyError'
}

interface Contribution {
  index: number
  zkey: string
  name: string
  kind: 'start' | 'contribution' | 'beacon'
  /** snarkjs' contribution hash (hex), to publish so contributors can check their own. */
  hash?: string
}

interface CeremonyState {
  ptau?: string
  ptauPower?: number
  profile?: ProfileName
  r1cs?: string
  wasm?: string
  constraints?: number
  power?: number
  compileKey?: string
  chain: Contribution[]
  finalized: boolean
}

const STATE = 'ceremony.json'

async function loadState(dir: string): Promise<CeremonyState> {
  try {
    return JSON.parse(await readFile(join(dir, STATE), 'utf8')) as CeremonyState
  } catch {
    return { chain: [], finalized: false }
  }
}

async function saveState(dir: string, state: CeremonyState): Promise<void> {
  await writeFile(join(dir, STATE), `${JSON.stringify(state, null, 2)}\n`)
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function zkeyName(index: number): string {
  return `bill_${String(index).padStart(4, '0')}.zkey`
}

function last(state: CeremonyState): Contribution {
  const l = state.chain.at(-1)
  if (!l) throw new CeremonyError('the ceremony has not started: run `ceremony.ts start` first')
  return l
}

/** Verifies a public, *prepared* Powers of Tau file and records it as the ceremony's phase 1. */
export async function importPtau(dir: string, ptauPath: string, log: Log): Promise<void> {
  await mkdir(dir, { recursive: true })
  const ptau = resolve(ptauPath)
  log(`verifying ${ptau} (every point relation; minutes for large files)…`)
  const warnings: string[] = []
  const logger: snarkjs.Logger = { ...quietLogger(log), warn: (m) => warnings.push(m) }
  const ok = await snarkjs.powersOfTau.verify(ptau, logger)
  if (!ok) throw new CeremonyError(`${ptau} failed Powers of Tau verification: do not use it`)
  if (warnings.some((w) => /phase2|prepare/i.test(w))) {
    throw new CeremonyError(
      `${ptau} is not prepared for phase 2: use a prepared file (e.g. the Hermez "final" files) or run \`npx snarkjs powersoftau prepare phase2\` on it`,
    )
  }
  const power = readPtauPower(await readFile(ptau))
  const state = await loadState(dir)
  state.ptau = ptau
  state.ptauPower = power
  await saveState(dir, state)
  log(`Powers of Tau 2^${power} verified and recorded`)
}

/** The power field of a ptau header (section 1: n8, q, power, ceremonyPower). */
function readPtauPower(bytes: Buffer): number {
  let pos = 12
  const nSections = bytes.readUInt32LE(8)
  for (let i = 0; i < nSections; i++) {
    const type = bytes.readUInt32LE(pos)
    const size = Number(bytes.readBigUInt64LE(pos + 4))
    if (type === 1) {
      const n8 = bytes.readUInt32LE(pos + 12)
      return bytes.readUInt32LE(pos + 16 + n8)
    }
    pos += 12 + size
  }
  throw new CeremonyError('the ptau file has no header section')
}

/** Compiles the profile and starts phase 2 from the imported ptau (no randomness yet). */
export async function start(dir: string, profile: ProfileName, log: Log): Promise<void> {
  const state = await loadState(dir)
  if (!state.ptau || state.ptauPower === undefined) {
    throw new CeremonyError('no Powers of Tau imported: run `ceremony.ts import --ptau <file>` first')
  }
  if (state.chain.length > 0) throw new CeremonyError(`the ceremony in ${dir} has already started`)
  // The same (cached) compile as the dev build: the circuit does not depend on the setup.
  const buildDir = profileBuildDir(profile)
  await mkdir(buildDir, { recursive: true })
  const compiled = await withLock(
    join(buildDir, '.build.lock'),
    () => compileCircuit(PROFILES[profile].main, buildDir, { wasm: true, log }),
    log,
  )
  const power = await setupPower(compiled.r1cs)
  if (power > state.ptauPower) {
    throw new CeremonyError(
      `the ${profile} circuit needs a ptau of 2^${power}; the imported one is 2^${state.ptauPower}`,
    )
  }
  const zkey = join(dir, zkeyName(0))
  log(`phase 2 start: groth16 setup of ${compiled.constraints} constraints on 2^${power}`)
  await initialZkey(compiled.r1cs, state.ptau, zkey, log)
  Object.assign(state, {
    profile,
    r1cs: compiled.r1cs,
    wasm: compiled.wasm,
    constraints: compiled.constraints,
    power,
    compileKey: compiled.key,
  })
  state.chain = [{ index: 0, zkey: zkeyName(0), name: 'initial (no contribution)', kind: 'start' }]
  state.finalized = false
  await saveState(dir, state)
}

/** Adds one contribution on top of the last zkey and verifies the chain up to it. */
export async function contribute(
  dir: string,
  name: string,
  entropy: string | undefined,
  log: Log,
): Promise<string> {
  const state = await loadState(dir)
  const prev = last(state)
  if (state.finalized)
    throw new CeremonyError('the ceremony is finalized (beacon applied): no more contributions')
  if (!name.trim()) throw new CeremonyError('a contribution needs a --name')
  const index = prev.index + 1
  const next = join(dir, zkeyName(index))
  const hash = await snarkjs.zKey.contribute(
    join(dir, prev.zkey),
    next,
    name,
    entropy ?? randomBytes(64).toString('hex'),
    quietLogger(log),
  )
  state.chain.push({ index, zkey: zkeyName(index), name, kind: 'contribution', hash: hex(hash) })
  await saveState(dir, state)
  await verifyOne(dir, state, index, log)
  log(`contribution #${index} by "${name}": ${hex(hash)}`)
  return hex(hash)
}

/** Verifies zkey #index of the chain (see verifyAll). */
export async function verifyContribution(dir: string, index: number, log: Log): Promise<void> {
  await verifyOne(dir, await loadState(dir), index, log)
}

async function verifyOne(dir: string, state: CeremonyState, index: number, log: Log): Promise<void> {
  if (!state.ptau || !state.r1cs) throw new CeremonyError('the ceremony has not started')
  const entry = state.chain[index]
  if (!entry) throw new CeremonyError(`no zkey #${index} in the chain`)
  const ok =
    index === 0
      ? await snarkjs.zKey.verifyFromR1cs(state.r1cs, state.ptau, join(dir, entry.zkey), quietLogger(log))
      : await snarkjs.zKey.verifyFromInit(
          join(dir, zkeyName(0)),
          state.ptau,
          join(dir, entry.zkey),
          quietLogger(log),
        )
  if (!ok)
    throw new CeremonyError(
      `zkey #${index} (${entry.name}) FAILED verification: discard it and everything after`,
    )
}

/**
 * Verifies the whole chain: `snarkjs zkey verify` of the last zkey against the r1cs and the ptau
 * recomputes the initial zkey and checks every contribution recorded in the zkey's transcript (each
 * contributor's delta proof and each hand-over to the next).
 */
export async function verifyAll(dir: string, log: Log): Promise<void> {
  const state = await loadState(dir)
  const final = last(state)
  if (!state.ptau || !state.r1cs) throw new CeremonyError('the ceremony has not started')
  const ok = await snarkjs.zKey.verifyFromR1cs(
    state.r1cs,
    state.ptau,
    join(dir, final.zkey),
    quietLogger(log),
  )
  if (!ok) throw new CeremonyError(`the chain up to zkey #${final.index} FAILED verification: do not use it`)
  log(`the initial zkey and all ${final.index} contributions verified`)
}

/** Applies the final public beacon (e.g. a future block hash announced in advance). */
export async function beacon(dir: string, beaconHex: string, iterationsExp: number, log: Log): Promise<void> {
  const state = await loadState(dir)
  const prev = last(state)
  if (state.finalized) throw new CeremonyError('the beacon has already been applied')
  if (!/^([0-9a-fA-F]{2}){1,64}$/.test(beaconHex))
    throw new CeremonyError('--hash must be hex bytes (e.g. a block hash)')
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) {
    throw new CeremonyError('--iterations-exp must be an integer in [10, 63]')
  }
  if (prev.index === 0) throw new CeremonyError('add at least one contribution before the beacon')
  const index = prev.index + 1
  const hash = await snarkjs.zKey.beacon(
    join(dir, prev.zkey),
    join(dir, zkeyName(index)),
    'final beacon',
    beaconHex,
    iterationsExp,
    quietLogger(log),
  )
  state.chain.push({
    index,
    zkey: zkeyName(index),
    name: `beacon ${beaconHex}`,
    kind: 'beacon',
    hash: hex(hash),
  })
  state.finalized = true
  await saveState(dir, state)
  await verifyOne(dir, state, index, log)
  log(`beacon applied: ${hex(hash)}`)
}

/** Writes a build directory loadCircuit() accepts, from the finalized ceremony. */
export async function exportCeremony(dir: string, outDir: string, log: Log): Promise<void> {
  const state = await loadState(dir)
  const final = last(state)
  if (!state.finalized) throw new CeremonyError('apply the final beacon before exporting')
  if (!state.profile || !state.wasm || state.constraints === undefined || state.power === undefined) {
    throw new CeremonyError('the ceremony state is incomplete')
  }
  await mkdir(outDir, { recursive: true })
  await copyFile(join(dir, final.zkey), join(outDir, 'bill.zkey'))
  await copyFile(state.wasm, join(outDir, 'bill.wasm'))
  if (state.r1cs) await copyFile(state.r1cs, join(outDir, 'bill.r1cs'))
  await exportArtifacts(join(outDir, 'bill.zkey'), outDir, `ceremony:${final.hash}`, { insecure: false, log })
  const spec = PROFILES[state.profile]
  const manifest: Manifest = {
    profile: state.profile,
    n: spec.n,
    slots: spec.slots,
    constraints: state.constraints,
    power: state.power,
    inputHash: final.hash ?? '',
    trustedSetup: 'ceremony',
    publicSignals: ['commitment', 'tariffHash', 'total', 'energyWh'],
  }
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  log(`exported to ${outDir}`)
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2)
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: 'string' },
      ptau: { type: 'string' },
      profile: { type: 'string' },
      name: { type: 'string' },
      entropy: { type: 'string' },
      hash: { type: 'string' },
      'iterations-exp': { type: 'string', default: '10' },
      out: { type: 'string' },
    },
  })
  const log: Log = (m) => console.log(`[ceremony] ${m}`)
  const dir = values.dir
  if (!dir) throw new CeremonyError('--dir <ceremony directory> is required')
  switch (cmd) {
    case 'import':
      if (!values.ptau) throw new CeremonyError('--ptau <prepared Powers of Tau file> is required')
      return importPtau(dir, values.ptau, log)
    case 'start':
      if (!isProfileName(values.profile)) throw new CeremonyError('--profile test|production is required')
      return start(dir, values.profile, log)
    case 'contribute':
      await contribute(dir, values.name ?? '', values.entropy, log)
      return
    case 'verify':
      return verifyAll(dir, log)
    case 'beacon':
      if (!values.hash) throw new CeremonyError('--hash <hex beacon> is required')
      return beacon(dir, values.hash, Number(values['iterations-exp']), log)
    case 'export':
      // A directory of its own: the dev build (build.ts) owns circuits/build/<profile>/.
      if (!values.out)
        throw new CeremonyError(
          '--out <build directory>, e.g. circuits/build/production-ceremony, is required',
        )
      return exportCeremony(dir, values.out, log)
    default:
      throw new CeremonyError(
        `unknown subcommand "${cmd ?? ''}": use import, start, contribute, verify, beacon or export (see docs/trusted-setup.md)`,
      )
  }
}

if (import.meta.main) {
  try {
    await main()
  } catch (err) {
    console.error(err instanceof ZkMeterError ? `${err.name}: ${err.message}` : err)
    process.exitCode = 1
  } finally {
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  }
}
