/**
 * The bill circuit's TypeScript API: load a built profile, prove a bill, verify it, and shape the
 * proof for the Solidity verifier. The commitment and tariff hash themselves live in commitment.ts.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type WitnessCalculator, WitnessCalculatorBuilder } from 'circom_runtime'
import { buildBn128 } from 'ffjavascript'
import * as snarkjs from 'snarkjs'
import {
  billTotals,
  commitToSlotSums,
  FIELD_ORDER,
  readingsDigest,
  slotSums,
  tariffHash,
  validateReadings,
} from '#protocol/commitment.ts'
import { CircuitNotBuiltError, InvalidCircuitInputError, InvalidProofError, WitnessError } from './errors.ts'
import { buildScriptFor, isProfileName, type ProfileName, profileBuildDir } from './profiles.ts'

export {
  billTotals,
  commit,
  deriveSalt,
  FIELD_ORDER,
  InvalidPriceError,
  InvalidReadingError,
  InvalidSaltError,
  packReadings,
  readingsDigest,
  slotSums,
  tariffHash,
} from '#protocol/commitment.ts'
export { CircuitNotBuiltError, InvalidCircuitInputError, InvalidProofError, WitnessError } from './errors.ts'
export type { ProfileName } from './profiles.ts'

export interface Circuit {
  profile: ProfileName
  /** Readings per period. */
  n: number
  /** Tariff slots per UTC day. */
  slots: number
  wasmPath: string
  zkeyPath: string
  verificationKey: snarkjs.VerificationKey
}

/** A Groth16 proof over BN254 as snarkjs produces it (decimal strings, projective coordinates). */
export type Groth16Proof = snarkjs.Groth16Proof

export interface PublicSignals {
  commitment: bigint
  tariffHash: bigint
  total: bigint
  energyWh: bigint
}

export interface BillWitness {
  readings: readonly number[]
  salt: bigint
  prices: readonly bigint[]
}

export interface BillProof {
  proof: Groth16Proof
  publicSignals: PublicSignals
  /** snarkjs' own output: the proof and the public signals as decimal strings in circuit order. */
  raw: { proof: Groth16Proof; publicSignals: string[] }
}

export interface SolidityProof {
  a: [bigint, bigint]
  b: [[bigint, bigint], [bigint, bigint]]
  c: [bigint, bigint]
}

/** Public signal order of the circuit (docs/protocol.md §5). */
export const PUBLIC_SIGNAL_ORDER = ['commitment', 'tariffHash', 'total', 'energyWh'] as const

interface Manifest {
  profile: ProfileName
  /** Absent in the bill's manifest (the first circuit); "net-bill" for the net bill's. */
  circuit?: 'net-bill'
  n: number
  slots: number
}

/**
 * A built circuit of `profile` in `dir`, checked to be the `kind` asked for (the bill and the net
 * bill both have 4 public signals, so the manifest's `circuit` tells them apart). Shared by
 * loadCircuit and loadNetCircuit.
 */
export function loadCircuitBuild(
  profile: ProfileName,
  dir: string,
  kind: 'bill' | 'net-bill',
  publicSignals: number,
): Circuit {
  const what = kind === 'bill' ? 'circuit' : 'net-bill circuit'
  const wasmPath = join(dir, 'bill.wasm')
  const zkeyPath = join(dir, 'bill.zkey')
  const manifestPath = join(dir, 'manifest.json')
  const vkPath = join(dir, 'verification_key.json')
  const missing = [wasmPath, zkeyPath, manifestPath, vkPath].filter((p) => !existsSync(p))
  if (missing.length > 0) {
    throw new CircuitNotBuiltError(
      `the "${profile}" ${what} is not built (missing ${missing.join(', ')}): run \`${buildScriptFor(profile)}\``,
      { details: { profile, missing } },
    )
  }
  let manifest: Manifest
  let verificationKey: snarkjs.VerificationKey
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    verificationKey = JSON.parse(readFileSync(vkPath, 'utf8')) as snarkjs.VerificationKey
  } catch (cause) {
    throw new CircuitNotBuiltError(
      `the "${profile}" ${what} build in ${dir} is unreadable: rebuild it with \`${buildScriptFor(profile)}\``,
      { details: { profile }, cause },
    )
  }
  const found = manifest.circuit ?? 'bill'
  if (manifest.profile !== profile || found !== kind || verificationKey.nPublic !== publicSignals) {
    throw new CircuitNotBuiltError(
      `${dir} does not hold a "${profile}" ${what} build: rebuild it with \`${buildScriptFor(profile)}\``,
      { details: { profile, found: `${manifest.profile} ${found}` } },
    )
  }
  return { profile, n: manifest.n, slots: manifest.slots, wasmPath, zkeyPath, verificationKey }
}

/** Loads a built profile (circuits/build/<profile>/ unless `buildDir` says otherwise). */
export function loadCircuit(profile: ProfileName, opts: { buildDir?: string } = {}): Circuit {
  if (!isProfileName(profile)) {
    throw new InvalidCircuitInputError(
      `unknown circuit profile "${String(profile)}": use 'test' or 'production'`,
    )
  }
  if (opts.buildDir !== undefined && typeof opts.buildDir !== 'string') {
    throw new InvalidCircuitInputError('opts.buildDir must be a directory path string')
  }
  return loadCircuitBuild(
    profile,
    opts.buildDir ?? profileBuildDir(profile),
    'bill',
    PUBLIC_SIGNAL_ORDER.length,
  )
}

function assertCircuit(circuit: Circuit): void {
  if (
    typeof circuit !== 'object' ||
    circuit === null ||
    !Number.isInteger(circuit.n) ||
    !Number.isInteger(circuit.slots) ||
    typeof circuit.wasmPath !== 'string' ||
    typeof circuit.zkeyPath !== 'string' ||
    typeof circuit.verificationKey !== 'object'
  ) {
    throw new InvalidCircuitInputError('circuit must be the object loadCircuit() returns')
  }
}

/**
 * snarkjs computes on a BN254 curve with worker threads that it keeps in `globalThis.curve_bn128`
 * and never stops; they keep the process (and test runners) alive. Terminate the curve when the
 * last concurrent operation of this module finishes; the next operation builds a new one.
 */
let activeOperations = 0
async function releaseCurve(): Promise<void> {
  activeOperations--
  if (activeOperations === 0) {
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  }
}
async function withCurve<T>(operation: () => Promise<T>): Promise<T> {
  activeOperations++
  try {
    return await operation()
  } finally {
    await releaseCurve()
  }
}

/**
 * Keeps the curve (worker threads, compiled WASM) alive between operations until the returned
 * function is called. A process that proves again and again (the node's prover child) would
 * otherwise build it anew for every proof: with the bill circuit at 2^13 that is a large part of a
 * proof's time (docs/benchmarks.md, prove). Calling the release twice does nothing.
 */
export function holdCurve(options: { singleThread?: boolean } = {}): () => Promise<void> {
  activeOperations++
  let released = false
  // snarkjs reuses `globalThis.curve_bn128` only for a threaded curve: asked for a single-threaded
  // one it builds a new curve (WASM module, constants) for every proof, about a seventh of a
  // proof's CPU. A single-threaded curve put there first is reused like a threaded one.
  const global = globalThis as { curve_bn128?: unknown }
  let single: unknown
  const curve = options.singleThread
    ? buildBn128(true).then((built) => {
        single = built
        global.curve_bn128 = built
      })
    : Promise.resolve()
  curveReady = curve
  return async () => {
    if (released) return
    released = true
    await curve.catch(() => undefined)
    await releaseCurve()
    // A single-threaded curve's terminate() leaves it in place: take it out, so that a later
    // operation gets the threaded curve it would have had.
    if (single !== undefined && global.curve_bn128 === single) global.curve_bn128 = null
  }
}
let curveReady: Promise<void> = Promise.resolve()

/**
 * What a proof reads besides its inputs, loaded once per loaded circuit: the witness calculator
 * (snarkjs' wtns.calculate compiles the 4 MB circuit WASM for every call) and the proving key's
 * bytes (snarkjs re-reads the zkey file for every proof). A prover that proves a burst of bills
 * pays for them once.
 */
interface ProvingResources {
  witness: WitnessCalculator
  zkey: { type: 'mem'; data: Uint8Array }
}
const resources = new WeakMap<Circuit, Promise<ProvingResources>>()
function provingResources(circuit: Circuit): Promise<ProvingResources> {
  let loaded = resources.get(circuit)
  if (loaded === undefined) {
    loaded = (async (): Promise<ProvingResources> => ({
      // circom_runtime allocates a 2 GiB WebAssembly.Memory (32,767 pages) up front that only circom 1
      // circuits use: circom 2 code (ours) brings its own memory. One page instead: V8 counts that
      // buffer as the prover's external memory, which steers its garbage collector (and on a small
      // box the reservation itself may fail), see docs/benchmarks/prove.md.
      witness: await WitnessCalculatorBuilder(await readFile(circuit.wasmPath), { memorySize: 1 }),
      zkey: { type: 'mem', data: new Uint8Array(await readFile(circuit.zkeyPath)) },
    }))()
    // A failed load (a file removed under us) is retried by the next proof, not remembered.
    loaded.catch(() => resources.delete(circuit))
    resources.set(circuit, loaded)
  }
  return loaded
}

function toPublicSignals(raw: readonly string[]): PublicSignals {
  const [commitment, tariff, total, energyWh] = raw.map((s) => BigInt(s))
  if (raw.length !== 4 || commitment === undefined || tariff === undefined || total === undefined) {
    throw new InvalidProofError(`expected 4 public signals, got ${raw.length}`)
  }
  return { commitment, tariffHash: tariff, total, energyWh: energyWh as bigint }
}

/**
 * The witness (a .wtns file image) of the circuit's private inputs, by the circuit's own witness
 * calculator, loaded once per loaded circuit. WitnessError when the inputs break a constraint.
 */
export async function witnessOf(circuit: Circuit, input: Record<string, unknown>): Promise<Uint8Array> {
  const { witness } = await provingResources(circuit)
  // One WASM instance holds one witness at a time, and calculateWTNSBin yields between writing the
  // inputs and reading the witness: two bills proved at once (the prover child takes several) would
  // read each other's signals. So one at a time per circuit; a witness takes milliseconds.
  const previous = witnessQueue.get(circuit) ?? Promise.resolve()
  const mine = previous.then(async () => {
    try {
      return await witness.calculateWTNSBin(input, true)
    } catch (cause) {
      throw new WitnessError(`the bill inputs violate a circuit constraint: ${String(cause)}`, { cause })
    }
  })
  witnessQueue.set(
    circuit,
    mine.then(
      () => undefined,
      () => undefined,
    ),
  )
  return mine
}
const witnessQueue = new WeakMap<Circuit, Promise<void>>()

/**
 * Proves a bill: validates the inputs (named errors from commitment.ts / errors.ts), computes the
 * witness and a Groth16 proof. `readings` may be shorter than the circuit's N: the rest read 0.
 */
export async function prove(circuit: Circuit, input: BillWitness): Promise<BillProof> {
  assertCircuit(circuit)
  if (typeof input !== 'object' || input === null) {
    throw new InvalidCircuitInputError('prove() needs { readings, salt, prices }')
  }
  validateReadings(input.readings, circuit.n)
  if (!Array.isArray(input.prices) || input.prices.length !== circuit.slots) {
    throw new InvalidCircuitInputError(
      `prices must hold one price per tariff slot: ${circuit.slots} for the "${circuit.profile}" circuit, got ${
        Array.isArray(input.prices) ? input.prices.length : typeof input.prices
      }`,
    )
  }
  // The circuit opens the commitment to the readings digest and the per-slot sums (protocol §3,
  // version 3; the circuit packs the sums itself): both are computed here from the readings,
  // exactly as the meter computes them.
  const digest = readingsDigest(input.readings, input.salt, circuit.n)
  const sums = slotSums(input.readings, circuit.n, circuit.slots)
  // The circuit computes exactly these; computing them here validates salt and prices with the
  // reference code's named errors and catches a circuit/reference mismatch after proving.
  const expected: PublicSignals = {
    commitment: commitToSlotSums(digest, sums),
    tariffHash: tariffHash(input.prices),
    ...billTotals(input.readings, input.prices, circuit.n),
  }
  const witnessInput = {
    readingsDigest: digest.toString(),
    slotSums: sums.map(String),
    prices: input.prices.map((p) => p.toString()),
  }
  return withCurve(async () => {
    const wtns = { type: 'mem' as const, data: await witnessOf(circuit, witnessInput) }
    const { zkey } = await provingResources(circuit)
    await curveReady
    const raw = await snarkjs.groth16.prove(zkey, wtns)
    const publicSignals = toPublicSignals(raw.publicSignals)
    for (const name of PUBLIC_SIGNAL_ORDER) {
      if (publicSignals[name] !== expected[name]) {
        throw new WitnessError(
          `the circuit's ${name} (${publicSignals[name]}) differs from the reference implementation's (${expected[name]}): the build does not match protocol/commitment.ts; rebuild the circuit`,
        )
      }
    }
    return { proof: raw.proof, publicSignals, raw }
  })
}

/**
 * A Groth16 proof of `circuit` for a witness input (signal name → decimal strings), with the curve
 * and proving resources this module manages. For the other circuits of a profile (net.ts); prove()
 * above is the bill's own, with its checks.
 */
export async function proveInput(
  circuit: Circuit,
  witnessInput: Record<string, unknown>,
): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
  assertCircuit(circuit)
  return withCurve(async () => {
    const wtns = { type: 'mem' as const, data: await witnessOf(circuit, witnessInput) }
    const { zkey } = await provingResources(circuit)
    await curveReady
    return snarkjs.groth16.prove(zkey, wtns)
  })
}

/** Verifies a proof of any of the profile's circuits against its own verification key. */
export async function verifySignals(
  circuit: Circuit,
  proof: Groth16Proof,
  publicSignals: readonly bigint[],
): Promise<boolean> {
  assertCircuit(circuit)
  assertProofShape(proof)
  const signals = publicSignals.map((v, i) =>
    assertFieldElement(v, `public signal ${i}`, InvalidProofError).toString(),
  )
  return withCurve(() => snarkjs.groth16.verify(circuit.verificationKey, signals, proof))
}

function assertFieldElement(value: unknown, what: string, ErrorClass: typeof InvalidProofError): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= FIELD_ORDER) {
    throw new ErrorClass(`${what} must be a bigint in [0, r) (BN254 scalar field), got ${String(value)}`)
  }
  return value
}

/** The public signals in circuit (and Solidity verifier) order. */
export function publicSignalsArray(ps: PublicSignals): [bigint, bigint, bigint, bigint] {
  if (typeof ps !== 'object' || ps === null) {
    throw new InvalidProofError('public signals must be { commitment, tariffHash, total, energyWh }')
  }
  const [a, b, c, d] = PUBLIC_SIGNAL_ORDER.map((name) =>
    assertFieldElement(ps[name], `public signal ${name}`, InvalidProofError),
  ) as [bigint, bigint, bigint, bigint]
  return [a, b, c, d]
}

function decimal(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^[0-9]{1,78}$/.test(value)) {
    throw new InvalidProofError(`${what} must be a decimal string, got ${String(value)}`)
  }
  const v = BigInt(value)
  if (v >= 1n << 256n) throw new InvalidProofError(`${what} does not fit 256 bits`)
  return v
}

function assertProofShape(proof: Groth16Proof): void {
  if (
    typeof proof !== 'object' ||
    proof === null ||
    !Array.isArray(proof.pi_a) ||
    proof.pi_a.length < 2 ||
    !Array.isArray(proof.pi_b) ||
    proof.pi_b.length < 2 ||
    !proof.pi_b.slice(0, 2).every((row) => Array.isArray(row) && row.length >= 2) ||
    !Array.isArray(proof.pi_c) ||
    proof.pi_c.length < 2
  ) {
    throw new InvalidProofError('proof must be a snarkjs Groth16 proof { pi_a, pi_b, pi_c }')
  }
}

/** Verifies a bill proof against the circuit's verification key. Never throws on a false proof. */
export async function verify(
  circuit: Circuit,
  proof: Groth16Proof,
  publicSignals: PublicSignals,
): Promise<boolean> {
  assertCircuit(circuit)
  assertProofShape(proof)
  const signals = publicSignalsArray(publicSignals).map(String)
  return withCurve(() => snarkjs.groth16.verify(circuit.verificationKey, signals, proof))
}

/**
 * Calldata form for the snarkjs Solidity verifier `verifyProof(a, b, c, publicSignals)`: affine
 * coordinates, and pi_b's Fp2 coordinates swapped (snarkjs stores [c0, c1], the EVM pairing
 * precompile expects [c1, c0]).
 */
export function toSolidityProof(proof: Groth16Proof): SolidityProof {
  assertProofShape(proof)
  const [ax, ay] = proof.pi_a
  const [bx, by] = proof.pi_b as [string[], string[]]
  const [cx, cy] = proof.pi_c
  return {
    a: [decimal(ax, 'pi_a[0]'), decimal(ay, 'pi_a[1]')],
    b: [
      [decimal(bx[1], 'pi_b[0][1]'), decimal(bx[0], 'pi_b[0][0]')],
      [decimal(by[1], 'pi_b[1][1]'), decimal(by[0], 'pi_b[1][0]')],
    ],
    c: [decimal(cx, 'pi_c[0]'), decimal(cy, 'pi_c[1]')],
  }
}
