import {
  billTotals,
  commitToSlotSums,
  type NetAmounts,
  netTariffHash,
  packNetAmounts,
  readingsDigest,
  slotSums,
  unpackNetAmounts,
  validateReadings,
} from '#protocol/commitment.ts'
import { InvalidCircuitInputError, InvalidProofError, WitnessError } from './errors.ts'
import { type Circuit, type Groth16Proof, loadCircuitBuild, proveInput, verifySignals } from './index.ts'
import { isProfileName, netBuildDir, type ProfileName } from './profiles.ts'

export type { NetAmounts } from '#protocol/commitment.ts'
export { netTariffHash, packNetAmounts, unpackNetAmounts } from '#protocol/commitment.ts'

/** Public signal order of the net-bill circuit. */
export const NET_PUBLIC_SIGNAL_ORDER = ['commitment', 'exportCommitment', 'tariffHash', 'packed'] as const

export interface NetPublicSignals {
  /** The import commitment C (direction 0), as the meter signs it in BillingPeriod. */
  commitment: bigint
  /** The export commitment C_x (direction 1), as the meter signs it in ExportPeriod. */
  exportCommitment: bigint
  /** Poseidon(T, T_f): the import and feed-in curves' hashes (netTariffHash). */
  tariffHash: bigint
  /** cost, credit, importWh, exportWh in one field element (packNetAmounts). */
  packed: bigint
}

export interface NetBillWitness {
  /** Imported Wh per interval (OBIS 1-0:1.8.0 deltas); may be shorter than N. */
  importReadings: readonly number[]
  /** Exported Wh per interval (OBIS 1-0:2.8.0 deltas); may be shorter than N. */
  exportReadings: readonly number[]
  /** The period's salt: both commitments use it (protocol §3). */
  salt: bigint
  /** The import curve, one price per slot. */
  prices: readonly bigint[]
  /** The feed-in curve published with it, one price per slot. */
  feedInPrices: readonly bigint[]
}

export interface NetBillProof {
  proof: Groth16Proof
  publicSignals: NetPublicSignals
  amounts: NetAmounts
  raw: { proof: Groth16Proof; publicSignals: string[] }
}

/** Loads a built profile's net-bill circuit (circuits/build/<profile>/net/ unless `buildDir` says otherwise). */
export function loadNetCircuit(profile: ProfileName, opts: { buildDir?: string } = {}): Circuit {
  if (!isProfileName(profile)) {
    throw new InvalidCircuitInputError(
      `unknown circuit profile "${String(profile)}": use 'test' or 'production'`,
    )
  }
  return loadCircuitBuild(
    profile,
    opts.buildDir ?? netBuildDir(profile),
    'net-bill',
    NET_PUBLIC_SIGNAL_ORDER.length,
  )
}

function checkCurve(circuit: Circuit, name: string, prices: unknown): readonly bigint[] {
  if (!Array.isArray(prices) || prices.length !== circuit.slots) {
    throw new InvalidCircuitInputError(
      `${name} must hold one price per tariff slot: ${circuit.slots}, got ${Array.isArray(prices) ? prices.length : typeof prices}`,
    )
  }
  return prices as readonly bigint[]
}

/** The amounts a period's net bill proves, computed off-circuit from the readings (the reference). */
export function netAmounts(circuit: Circuit, input: NetBillWitness): NetAmounts {
  const imported = billTotals(input.importReadings, input.prices, circuit.n)
  const exported = billTotals(input.exportReadings, input.feedInPrices, circuit.n)
  return {
    cost: imported.total,
    credit: exported.total,
    importWh: imported.energyWh,
    exportWh: exported.energyWh,
  }
}

/**
 * The witness input of the net-bill circuit, as the meter's commitments define it: the readings
 * digests and per-slot sums of both directions (protocol §3), both curves.
 */
export function netWitnessInput(circuit: Circuit, input: NetBillWitness): Record<string, string | string[]> {
  validateReadings(input.importReadings, circuit.n)
  validateReadings(input.exportReadings, circuit.n)
  const prices = checkCurve(circuit, 'prices', input.prices)
  const feedIn = checkCurve(circuit, 'feedInPrices', input.feedInPrices)
  return {
    importDigest: readingsDigest(input.importReadings, input.salt, circuit.n).toString(),
    importSums: slotSums(input.importReadings, circuit.n, circuit.slots).map(String),
    exportDigest: readingsDigest(input.exportReadings, input.salt, circuit.n).toString(),
    exportSums: slotSums(input.exportReadings, circuit.n, circuit.slots).map(String),
    prices: prices.map(String),
    feedInPrices: feedIn.map(String),
  }
}

/** Proves a period's net bill; WitnessError if the build disagrees with the reference code. */
export async function proveNet(circuit: Circuit, input: NetBillWitness): Promise<NetBillProof> {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidCircuitInputError(
      'proveNet() needs { importReadings, exportReadings, salt, prices, feedInPrices }',
    )
  }
  const witnessInput = netWitnessInput(circuit, input)
  const amounts = netAmounts(circuit, input)
  const expected: NetPublicSignals = {
    commitment: commitToSlotSums(
      BigInt(witnessInput.importDigest as string),
      (witnessInput.importSums as string[]).map(BigInt),
    ),
    exportCommitment: commitToSlotSums(
      BigInt(witnessInput.exportDigest as string),
      (witnessInput.exportSums as string[]).map(BigInt),
      'export',
    ),
    tariffHash: netTariffHash(input.prices, input.feedInPrices),
    packed: packNetAmounts(amounts),
  }
  const raw = await proveInput(circuit, witnessInput)
  const publicSignals = toNetPublicSignals(raw.publicSignals)
  for (const name of NET_PUBLIC_SIGNAL_ORDER) {
    if (publicSignals[name] !== expected[name]) {
      throw new WitnessError(
        `the net circuit's ${name} (${publicSignals[name]}) differs from the reference implementation's (${expected[name]}): rebuild the circuit`,
      )
    }
  }
  return { proof: raw.proof, publicSignals, amounts: unpackNetAmounts(publicSignals.packed), raw }
}

export function toNetPublicSignals(raw: readonly string[]): NetPublicSignals {
  if (!Array.isArray(raw) || raw.length !== 4) {
    throw new InvalidProofError(
      `expected 4 public signals, got ${Array.isArray(raw) ? raw.length : typeof raw}`,
    )
  }
  const [commitment, exportCommitment, tariffHash, packed] = raw.map((s) => BigInt(s)) as [
    bigint,
    bigint,
    bigint,
    bigint,
  ]
  return { commitment, exportCommitment, tariffHash, packed }
}

/** Verifies a net-bill proof against the net circuit's verification key. Never throws on a false proof. */
export async function verifyNet(
  circuit: Circuit,
  proof: Groth16Proof,
  ps: NetPublicSignals,
): Promise<boolean> {
  if (typeof ps !== 'object' || ps === null) {
    throw new InvalidProofError('public signals must be { commitment, exportCommitment, tariffHash, packed }')
  }
  return verifySignals(
    circuit,
    proof,
    NET_PUBLIC_SIGNAL_ORDER.map((name) => ps[name]),
  )
}
