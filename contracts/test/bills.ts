/**
 * Real bills for the ledger tests and the gas benchmark: readings over a period, the meter's salt,
 * a Groth16 proof from the circuit helper, and the meter-signed period that goes with it.
 */
import { keccak256, toUtf8Bytes } from 'ethers'
import { billTotals, commit, deriveSalt } from '#protocol/commitment.ts'
import { type Eip712Domain, hexToBytes } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { loadCircuit, prove, toSolidityProof } from '../../circuits/src/index.ts'
import { loadNetCircuit, proveNet } from '../../circuits/src/net.ts'
import type { BillingPeriod, NetBillSubmission, SolidityProof } from '../ts/ledger.ts'
import { DAY, INTERVAL, type MeterKey, signExportPeriod, signPeriod } from './env.ts'

export type Circuit = Awaited<ReturnType<typeof loadCircuit>>

export interface PreparedBill {
  period: BillingPeriod & { periodStart: number; periodEnd: number; startCounter: bigint; endCounter: bigint }
  readings: number[]
  proof: SolidityProof
  total: bigint
  energyWh: bigint
  tariffHash: bigint
  tariffId: bigint
  cidDigest: `0x${string}`
}

const PAIRING_KEY = hexToBytes(keccak256(toUtf8Bytes('zkmeter/test-pairing-key')), 32)

/** Price curve in wei per Wh: a base price with an evening peak (slots 68–87, 17:00–22:00). */
export function priceCurve(base: bigint, peak: bigint, slots: number): bigint[] {
  return Array.from({ length: slots }, (_, s) => (s >= 68 && s < 88 ? peak : base))
}

/** Readings indexed from the UTC midnight before `start` (protocol §2): zero outside [start, end). */
export function periodReadings(start: number, end: number, n: number, seed: number): number[] {
  const anchor = start - (start % DAY)
  return Array.from({ length: n }, (_, i) => {
    const t = anchor + i * INTERVAL
    return t >= start && t < end ? 40 + ((i * 37 + seed * 101) % 300) : 0
  })
}

/** Proves a period's bill with the circuit helper and checks the public signals against the reference code. */
export async function prepareBill(
  circuit: Circuit,
  options: {
    meter: MeterKey
    start: number
    end: number
    startCounter: bigint
    prices: bigint[]
    tariffId: bigint
    seed: number
  },
): Promise<PreparedBill> {
  const { meter, start, end, startCounter, prices, tariffId, seed } = options
  const readings = periodReadings(start, end, circuit.n, seed)
  const salt = deriveSalt(PAIRING_KEY, hexToBytes(meter.address, 20), start)
  const { proof, publicSignals } = await prove(circuit, { readings, salt, prices })
  const expected = billTotals(readings, prices, circuit.n)
  const commitment = commit(readings, salt, circuit.n)
  if (
    BigInt(publicSignals.commitment) !== commitment ||
    BigInt(publicSignals.total) !== expected.total ||
    BigInt(publicSignals.energyWh) !== expected.energyWh
  ) {
    throw new InvalidInputError(
      'the circuit helper proved public signals that differ from the reference code',
    )
  }
  return {
    period: {
      meter: meter.address,
      periodStart: start,
      periodEnd: end,
      startCounter,
      endCounter: startCounter + expected.energyWh,
      commitment,
    },
    readings,
    proof: toSolidityProof(proof),
    total: expected.total,
    energyWh: expected.energyWh,
    tariffHash: BigInt(publicSignals.tariffHash),
    tariffId,
    cidDigest: keccak256(toUtf8Bytes(`bafy-test-manifest-${meter.address}-${start}`)) as `0x${string}`,
  }
}

export { loadCircuit }

export interface PreparedNetBill {
  period: PreparedBill['period']
  exportPeriod: PreparedBill['period']
  proof: SolidityProof
  cost: bigint
  credit: bigint
  importWh: bigint
  exportWh: bigint
  tariffId: bigint
  cidDigest: `0x${string}`
}

/** What `submitNetBill` takes for a prepared net bill: both halves signed by its meter's key. */
export function netBillSubmission(
  bill: Omit<PreparedNetBill, 'exportPeriod'> & { exportPeriod: BillingPeriod },
  key: MeterKey,
  domain: Eip712Domain,
): NetBillSubmission {
  return {
    period: bill.period,
    signature: signPeriod(key, domain, bill.period),
    exportPeriod: bill.exportPeriod,
    exportSignature: signExportPeriod(key, domain, bill.exportPeriod),
    proof: bill.proof,
    cost: bill.cost,
    credit: bill.credit,
    tariffId: bill.tariffId,
    cidDigest: bill.cidDigest,
  }
}

/** Exported Wh per interval: a midday PV bump (slots 36–63) inside [start, end), scaled by `sun`. */
export function exportReadings(start: number, end: number, n: number, sun: number): number[] {
  const anchor = start - (start % DAY)
  return Array.from({ length: n }, (_, i) => {
    const t = anchor + i * INTERVAL
    const slot = i % 96
    return t >= start && t < end && slot >= 36 && slot < 64 ? Math.round(sun * (100 + ((i * 53) % 200))) : 0
  })
}

/**
 * Proves a period's net bill (import cost, export credit) with the net circuit helper; the meter's
 * two halves (BillingPeriod, ExportPeriod) are returned unsigned.
 */
export async function prepareNetBill(
  netCircuit: Circuit,
  options: {
    meter: MeterKey
    start: number
    end: number
    startCounter: bigint
    exportStartCounter: bigint
    prices: bigint[]
    feedInPrices: bigint[]
    tariffId: bigint
    seed: number
    /** Scale of the PV export (1: a sunny day). */
    sun: number
  },
): Promise<PreparedNetBill> {
  const { meter, start, end, startCounter, exportStartCounter, prices, feedInPrices, tariffId, seed, sun } =
    options
  const importReadings = periodReadings(start, end, netCircuit.n, seed)
  const exported = exportReadings(start, end, netCircuit.n, sun)
  const salt = deriveSalt(PAIRING_KEY, hexToBytes(meter.address, 20), start)
  const { proof, publicSignals, amounts } = await proveNet(netCircuit, {
    importReadings,
    exportReadings: exported,
    salt,
    prices,
    feedInPrices,
  })
  return {
    period: {
      meter: meter.address,
      periodStart: start,
      periodEnd: end,
      startCounter,
      endCounter: startCounter + amounts.importWh,
      commitment: publicSignals.commitment,
    },
    exportPeriod: {
      meter: meter.address,
      periodStart: start,
      periodEnd: end,
      startCounter: exportStartCounter,
      endCounter: exportStartCounter + amounts.exportWh,
      commitment: publicSignals.exportCommitment,
    },
    proof: toSolidityProof(proof),
    ...amounts,
    tariffId,
    cidDigest: keccak256(toUtf8Bytes(`bafy-test-net-manifest-${meter.address}-${start}`)) as `0x${string}`,
  }
}

export { loadNetCircuit }
