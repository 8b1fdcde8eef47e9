/**
 * Builds a circuit profile: `node circuits/scripts/build.ts --profile test|production`.
 * Outputs in circuits/build/<profile>/: bill.wasm, bill.r1cs, bill.zkey, verification_key.json,
 * Groth16Verifier.sol, manifest.json. The trusted setup is an INSECURE development one (public
 * beacon entropy); the production path is circuits/scripts/ceremony.ts (docs/trusted-setup.md).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { isProfileName, PROFILES, type ProfileName, profileBuildDir, REPO_ROOT } from '../src/profiles.ts'
import {
  compileCircuit,
  ensureDevPtau,
  ensureDevZkey,
  exportArtifacts,
  type Log,
  setupPower,
  withLock,
} from './pipeline.ts'

export interface Manifest {
  profile: ProfileName
  n: number
  slots: number
  constraints: number
  power: number
  /** Hash of everything the zkey depends on (sources, parameters, tool versions, setup). */
  inputHash: string
  trustedSetup: 'INSECURE-development' | 'ceremony'
  publicSignals: ['commitment', 'tariffHash', 'total', 'energyWh']
}

export async function buildProfile(
  profile: ProfileName,
  opts: { buildDir?: string; log?: Log } = {},
): Promise<Manifest> {
  const log = opts.log ?? ((m: string) => console.log(`[circuits:${profile}] ${m}`))
  const outDir = opts.buildDir ?? profileBuildDir(profile)
  await mkdir(outDir, { recursive: true })
  return withLock(join(outDir, '.build.lock'), () => buildUnlocked(profile, outDir, log), log)
}

async function buildUnlocked(profile: ProfileName, outDir: string, log: Log): Promise<Manifest> {
  const spec = PROFILES[profile]
  const compiled = await compileCircuit(spec.main, outDir, { wasm: true, log })
  log(`${compiled.constraints} constraints (N = ${spec.n}, SLOTS = ${spec.slots})`)
  const power = await setupPower(compiled.r1cs)
  const ptau = await ensureDevPtau(power, log)
  const zkey = await ensureDevZkey(compiled.r1cs, ptau.path, outDir, [compiled.key, ptau.key], log)
  await exportArtifacts(zkey.zkey, outDir, zkey.key, { insecure: true, log })
  const manifest: Manifest = {
    profile,
    n: spec.n,
    slots: spec.slots,
    constraints: compiled.constraints,
    power,
    inputHash: zkey.key,
    trustedSetup: 'INSECURE-development',
    publicSignals: ['commitment', 'tariffHash', 'total', 'energyWh'],
  }
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  log(`ready (INSECURE development setup): ${relative(REPO_ROOT, outDir)}`)
  return manifest
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'test' } } })
  if (!isProfileName(values.profile)) {
    console.error(`unknown profile "${values.profile}": use --profile test or --profile production`)
    process.exit(2)
  }
  const started = Date.now()
  try {
    await buildProfile(values.profile)
  } finally {
    // snarkjs' curve keeps worker threads alive; without this the process never exits.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
  }
  console.log(`[circuits:${values.profile}] done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

if (import.meta.main) await main()
