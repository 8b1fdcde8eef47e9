/**
 * Circuit profiles: the sizes the Bill circuit is compiled at. Each has a checked-in main file under
 * circuits/main/ (circom needs the template parameters at compile time) and a build directory
 * circuits/build/<profile>/ (gitignored).
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export type ProfileName = 'test' | 'production'

export interface Profile {
  name: ProfileName
  /** Readings per period (the circuit size). */
  n: number
  /** Tariff slots per UTC day. */
  slots: number
  /** Main file, relative to the repository root. */
  main: string
  /** The net-bill circuit's main file (import cost and export credit, circuits/net_bill.circom). */
  netMain: string
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = Object.freeze({
  // Two days of 15-minute readings: small enough for CI, same construction as production.
  test: {
    name: 'test',
    n: 192,
    slots: 96,
    main: 'circuits/main/bill_test.circom',
    netMain: 'circuits/main/net_bill_test.circom',
  },
  // 31 days × 96 slots (docs/protocol.md §1).
  production: {
    name: 'production',
    n: 2976,
    slots: 96,
    main: 'circuits/main/bill_production.circom',
    netMain: 'circuits/main/net_bill_production.circom',
  },
})

/** The naive baseline, compiled for its constraint count only (bench/prove.ts). */
export const NAIVE_PRODUCTION = { n: 2976, main: 'circuits/main/naive_bill_production.circom' } as const

export function isProfileName(value: unknown): value is ProfileName {
  return value === 'test' || value === 'production'
}

/** Repository root (circom2 runs from here: it only sees paths below its working directory). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CIRCUITS_DIR = join(REPO_ROOT, 'circuits')
export const BUILD_ROOT = join(CIRCUITS_DIR, 'build')

export function profileBuildDir(profile: ProfileName, buildRoot: string = BUILD_ROOT): string {
  return join(buildRoot, profile)
}

/**
 * Where a profile's net-bill circuit is built: a `net/` directory inside the profile's, with the same
 * file names (bill.wasm, bill.zkey, verification_key.json, Groth16Verifier.sol, manifest.json).
 */
export function netBuildDir(profile: ProfileName, buildRoot: string = BUILD_ROOT): string {
  return join(profileBuildDir(profile, buildRoot), 'net')
}

/** The npm script that builds a profile (named in "not built" errors). */
export function buildScriptFor(profile: ProfileName): string {
  return profile === 'test' ? 'npm run build:circuits:test' : 'npm run build:circuits'
}
