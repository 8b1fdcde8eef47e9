/**
 * The period commitment and the tariff hash, exactly as docs/protocol.md §3–4 defines them and as
 * circuits/bill.circom constrains them (commitment version 3: the readings digest extended by a
 * layout word and the meter's per-slot sums packed 12 to a field element, which is all the bill
 * circuit needs to open). Firmware (C++) and the virtual meter reproduce these bytes;
 * protocol/vectors/ pins them.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { poseidon2 } from 'poseidon-lite/poseidon2'
import { poseidon16 } from 'poseidon-lite/poseidon16'
import { InvalidInputError } from './errors.ts'

/** BN254 scalar field order: every circuit signal lives below it. */
export const FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
/**
 * A reading is the Wh consumed in one interval, range-checked to 15 bits: 32,767 Wh per 15 min is
 * 131 kW continuous, far above any household supply (protocol §1).
 */
export const READING_BITS = 15
export const MAX_READING = (1 << READING_BITS) - 1
/** Packing lane width: reading k of a packed element sits at bit LANE_BITS·k (protocol §3). */
export const LANE_BITS = 16
export const READINGS_PER_ELEMENT = 15
export const CHAIN_RATE = 15
export const MAX_PRICE = (1n << 64n) - 1n
/** Tariff slots per UTC day in production (protocol §1): 15-minute intervals. */
export const SLOTS = 96
/**
 * Version of the commitment construction (protocol §3), carried as `v` of the PERIOD payload.
 * 1: PoseidonChain(salt, packed readings). 2: that digest chained with the per-slot sums.
 * 3: that digest chained with a layout word and the per-slot sums packed 12 to an element.
 */
export const COMMITMENT_VERSION = 3
/**
 * Slot-sum packing (version 3): sum k of a packed element sits at bit SUM_LANE_BITS·k. A sum is at
 * most MAX_DAYS × MAX_READING = 32 × 32,767 < 2^20, and 12 lanes × 20 bits = 240 bits < 254, so an
 * element is an integer below r and its 20-bit decomposition is unique (the circuit range-checks
 * every lane to 20 bits, which is what makes the opening unique).
 */
export const SUM_LANE_BITS = 20
export const SUMS_PER_ELEMENT = 12
export const MAX_SLOT_SUM = (1 << SUM_LANE_BITS) - 1
/** Days of readings a slot sum may cover: ⌈N / SLOTS⌉ ≤ 32 keeps every sum below 2^20. */
export const MAX_DAYS = 32
/**
 * Slot-sum vectors in a version-3 commitment: 1. Imported and exported energy are committed
 * separately, each with one vector (protocol §3); the layout word carries the count and the direction.
 */
export const SLOT_SUM_VECTORS = 1
/**
 * Which counter a commitment's readings come from, as the layout word's direction byte (bits 40..47):
 * 0 imported energy (OBIS 1-0:1.8.0), 1 exported energy (OBIS 1-0:2.8.0). Import is 0 so the import
 * commitment (and the bill circuit that opens it) is what it was before export metering.
 */
export const DIRECTION = { import: 0, export: 1 } as const
export type Direction = keyof typeof DIRECTION

export class InvalidReadingError extends InvalidInputError {
  override name = 'InvalidReadingError'
}
export class InvalidSaltError extends InvalidInputError {
  override name = 'InvalidSaltError'
}
export class InvalidPriceError extends InvalidInputError {
  override name = 'InvalidPriceError'
}
/** A period longer than the commitment's slot-sum lanes can hold (⌈N / SLOTS⌉ > MAX_DAYS). */
export class InvalidPeriodShapeError extends InvalidInputError {
  override name = 'InvalidPeriodShapeError'
}

/** Poseidon16 sponge-like chain: state ← Poseidon16(state, next 15 elements, zero-padded). */
export function poseidonChain(init: bigint, elements: readonly bigint[]): bigint {
  let state = init
  for (let offset = 0; offset < elements.length; offset += CHAIN_RATE) {
    const block: bigint[] = [state]
    for (let k = 0; k < CHAIN_RATE; k++) block.push(elements[offset + k] ?? 0n)
    state = poseidon16(block)
  }
  return state
}

/** Checks readings are whole Wh in [0, 2^15) and returns them as numbers. */
export function validateReadings(readings: readonly unknown[], n: number): readonly number[] {
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidReadingError(`period size N must be a positive integer, got ${n}`)
  if (!Array.isArray(readings)) throw new InvalidReadingError('readings must be an array of integers')
  if (readings.length > n) {
    throw new InvalidReadingError(`a period holds at most ${n} readings, got ${readings.length}`, {
      details: { max: n, got: readings.length },
    })
  }
  readings.forEach((r, i) => {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > MAX_READING) {
      throw new InvalidReadingError(
        `reading ${i} must be an integer number of Wh in [0, ${MAX_READING}], got ${String(r)}`,
        { details: { index: i, value: String(r) } },
      )
    }
  })
  return readings as readonly number[]
}

/** Packs 15 readings per field element in 16-bit lanes, little-endian within the element. */
export function packReadings(readings: readonly number[], n: number): bigint[] {
  validateReadings(readings, n)
  const elements = Math.ceil(n / READINGS_PER_ELEMENT)
  const packed: bigint[] = []
  for (let j = 0; j < elements; j++) {
    let value = 0n
    for (let k = READINGS_PER_ELEMENT - 1; k >= 0; k--) {
      value = (value << BigInt(LANE_BITS)) | BigInt(readings[j * READINGS_PER_ELEMENT + k] ?? 0)
    }
    packed.push(value)
  }
  return packed
}

function validateSalt(salt: bigint): void {
  if (typeof salt !== 'bigint' || salt < 0n || salt >= FIELD_ORDER) {
    throw new InvalidSaltError('salt must be a bigint in [0, r) where r is the BN254 scalar field order')
  }
}

/**
 * R = PoseidonChain(salt, packed readings): binds every reading (version 1's whole commitment).
 * `readings` may be shorter than `n`: the rest read 0 (intervals after the period's end).
 */
export function readingsDigest(readings: readonly number[], salt: bigint, n: number): bigint {
  validateSalt(salt)
  return poseidonChain(salt, packReadings(readings, n))
}

/** Slots per UTC day: an interval is a whole number of seconds, so at most 86,400. */
export function validateSlots(slots: number): number {
  if (!Number.isInteger(slots) || slots <= 0 || slots > 86_400) {
    throw new InvalidReadingError(`slots per day must be an integer in [1, 86400], got ${String(slots)}`)
  }
  return slots
}

/**
 * S[s] = Σ readings[i] over i ≡ s (mod slots): readings are indexed from the UTC midnight of the
 * period's first day (protocol §2), so reading i is in slot i mod slots.
 */
export function slotSums(readings: readonly number[], n: number, slots: number = SLOTS): bigint[] {
  validateReadings(readings, n)
  validateSlots(slots)
  const sums = new Array<number>(slots).fill(0)
  readings.forEach((r, i) => {
    sums[i % slots] = (sums[i % slots] as number) + r
  })
  return sums.map(BigInt)
}

/**
 * Checks that a period of `n` readings over `slots` slots per day keeps every slot sum below 2^20:
 * ⌈n / slots⌉ ≤ MAX_DAYS (32). Production (2976 / 96 = 31 days) and the test profile pass.
 */
export function validatePeriodShape(n: number, slots: number): void {
  validateSlots(slots)
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidPeriodShapeError(`period size N must be a positive integer, got ${n}`)
  if (Math.ceil(n / slots) > MAX_DAYS) {
    throw new InvalidPeriodShapeError(
      `a period of ${n} readings over ${slots} slots a day spans ${Math.ceil(n / slots)} days: a slot sum (${SUM_LANE_BITS}-bit lane, protocol §3) holds at most ${MAX_DAYS}`,
      { details: { n, slots, maxDays: MAX_DAYS } },
    )
  }
}

/**
 * H = 3 + 2^8 · vectors + 2^16 · slots + 2^40 · direction: the first element the chain absorbs after
 * R (protocol §3). It names the layout (version, how many slot-sum vectors, how many slots each,
 * which counter), so a commitment of one layout can never be opened as another: an export
 * commitment is not an import commitment, whatever its readings.
 */
export function layoutWord(
  slots: number,
  vectors: number = SLOT_SUM_VECTORS,
  direction: Direction = 'import',
): bigint {
  validateSlots(slots)
  if (!Number.isInteger(vectors) || vectors < 1 || vectors > 255) {
    throw new InvalidReadingError(`slot-sum vectors must be an integer in [1, 255], got ${String(vectors)}`)
  }
  const d = DIRECTION[direction]
  if (d === undefined)
    throw new InvalidReadingError(`direction must be import or export, got ${String(direction)}`)
  return BigInt(COMMITMENT_VERSION) + (BigInt(vectors) << 8n) + (BigInt(slots) << 16n) + (BigInt(d) << 40n)
}

/** Packs slot sums 12 per field element in 20-bit lanes, little-endian, zero-padded (protocol §3). */
export function packSlotSums(sums: readonly bigint[]): bigint[] {
  if (!Array.isArray(sums) || sums.length === 0) {
    throw new InvalidReadingError('a commitment needs at least one slot sum')
  }
  sums.forEach((v, s) => {
    if (typeof v !== 'bigint' || v < 0n || v > BigInt(MAX_SLOT_SUM)) {
      throw new InvalidReadingError(
        `slot sum ${s} must be a bigint in [0, ${MAX_SLOT_SUM}] (a ${SUM_LANE_BITS}-bit lane), got ${String(v)}`,
        { details: { slot: s, value: String(v) } },
      )
    }
  })
  const packed: bigint[] = []
  for (let j = 0; j < Math.ceil(sums.length / SUMS_PER_ELEMENT); j++) {
    let value = 0n
    for (let k = SUMS_PER_ELEMENT - 1; k >= 0; k--) {
      value = (value << BigInt(SUM_LANE_BITS)) | (sums[j * SUMS_PER_ELEMENT + k] ?? 0n)
    }
    packed.push(value)
  }
  return packed
}

/**
 * C = PoseidonChain(R, [H, packed S]): the readings digest R chained with the layout word and the
 * per-slot sums packed 12 to an element (protocol §3, version 3). The meter computes all of it from
 * its own readings; the bill circuit opens only R (as an opaque private value) and S, so it needs
 * no per-reading range checks, and one Poseidon16 call for 96 sums (version 2 needed seven).
 */
export function commitToSlotSums(
  digest: bigint,
  sums: readonly bigint[],
  direction: Direction = 'import',
): bigint {
  if (typeof digest !== 'bigint' || digest < 0n || digest >= FIELD_ORDER) {
    throw new InvalidSaltError('the readings digest must be a bigint in [0, r)')
  }
  const packed = packSlotSums(sums)
  return poseidonChain(digest, [layoutWord(sums.length, SLOT_SUM_VECTORS, direction), ...packed])
}

/** C = PoseidonChain(PoseidonChain(salt, packed readings), [H, packed slot sums]) (protocol §3). */
export function commit(
  readings: readonly number[],
  salt: bigint,
  n: number,
  slots: number = SLOTS,
  direction: Direction = 'import',
): bigint {
  validatePeriodShape(n, slots)
  return commitToSlotSums(readingsDigest(readings, salt, n), slotSums(readings, n, slots), direction)
}

/**
 * The export commitment of a period (protocol §3): the same construction over the exported Wh per
 * interval, with the same salt and the export direction in the layout word.
 */
export function commitExport(
  readings: readonly number[],
  salt: bigint,
  n: number,
  slots: number = SLOTS,
): bigint {
  return commit(readings, salt, n, slots, 'export')
}

/** T = PoseidonChain(SLOTS, prices); prices are wei per Wh, one per slot of the UTC day. */
export function tariffHash(prices: readonly bigint[]): bigint {
  if (!Array.isArray(prices) || prices.length === 0) {
    throw new InvalidPriceError('a tariff needs at least one price slot')
  }
  prices.forEach((p, i) => {
    if (typeof p !== 'bigint' || p < 0n || p > MAX_PRICE) {
      throw new InvalidPriceError(
        `price ${i} must be a bigint number of wei per Wh in [0, 2^64), got ${String(p)}`,
      )
    }
  })
  return poseidonChain(BigInt(prices.length), prices)
}

function be64(value: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, value)
  return out
}

/** salt = keccak256("zkmeter/salt/v1" ‖ pairingKey ‖ meter ‖ be64(periodStart)) mod r (protocol §3). */
export function deriveSalt(pairingKey: Uint8Array, meter: Uint8Array, periodStart: number): bigint {
  if (!(pairingKey instanceof Uint8Array) || pairingKey.length !== 32) {
    throw new InvalidSaltError('the pairing key must be 32 bytes')
  }
  if (!(meter instanceof Uint8Array) || meter.length !== 20) {
    throw new InvalidSaltError('the meter address must be 20 bytes')
  }
  if (!Number.isSafeInteger(periodStart) || periodStart < 0) {
    throw new InvalidSaltError(
      `periodStart must be a non-negative integer of unix seconds, got ${periodStart}`,
    )
  }
  const tag = new TextEncoder().encode('zkmeter/salt/v1')
  const input = new Uint8Array(tag.length + 32 + 20 + 8)
  input.set(tag, 0)
  input.set(pairingKey, tag.length)
  input.set(meter, tag.length + 32)
  input.set(be64(BigInt(periodStart)), tag.length + 52)
  const digest = keccak_256(input)
  let value = 0n
  for (const byte of digest) value = (value << 8n) | BigInt(byte)
  return value % FIELD_ORDER
}

/** Total cost in wei and energy in Wh of a period, as the circuit computes them. */
export function billTotals(
  readings: readonly number[],
  prices: readonly bigint[],
  n: number,
): { total: bigint; energyWh: bigint } {
  validateReadings(readings, n)
  tariffHash(prices)
  let total = 0n
  let energyWh = 0n
  readings.forEach((r, i) => {
    total += BigInt(r) * (prices[i % prices.length] as bigint)
    energyWh += BigInt(r)
  })
  return { total, energyWh }
}

/** Bits of the cost and of the credit in a net bill's packed public signal (SLOTS · 2^84 < 2^91). */
export const NET_AMOUNT_BITS = 91
/** Bits of each energy in the packed signal: SLOTS 20-bit lanes sum below 2^27 for SLOTS ≤ 128. */
export const NET_ENERGY_BITS = 27

/** What a net bill proves (circuits/net_bill.circom): cost at the import curve, credit at the feed-in curve. */
export interface NetAmounts {
  cost: bigint
  credit: bigint
  importWh: bigint
  exportWh: bigint
}

/**
 * The net-bill tariff hash: Poseidon(T, T_f), T the import curve's tariff hash and T_f the feed-in
 * curve's, each PoseidonChain(SLOTS, prices) (protocol §4). The utility publishes it with the feed-in
 * curve (ZkMeterLedger.publishFeedIn); anyone can recompute it from the two published curves.
 */
export function netTariffHash(prices: readonly bigint[], feedInPrices: readonly bigint[]): bigint {
  if (!Array.isArray(feedInPrices) || feedInPrices.length !== prices?.length) {
    throw new InvalidPriceError(
      `the feed-in curve must have one price per slot of the import curve (${prices?.length}), got ${
        Array.isArray(feedInPrices) ? feedInPrices.length : typeof feedInPrices
      }`,
    )
  }
  return poseidon2([tariffHash(prices), tariffHash(feedInPrices)])
}

/** packed = cost + 2^91 · credit + 2^182 · importWh + 2^209 · exportWh: the net circuit's fourth public signal. */
export function packNetAmounts(a: NetAmounts): bigint {
  const fields: [keyof NetAmounts, number][] = [
    ['cost', NET_AMOUNT_BITS],
    ['credit', NET_AMOUNT_BITS],
    ['importWh', NET_ENERGY_BITS],
    ['exportWh', NET_ENERGY_BITS],
  ]
  let packed = 0n
  let shift = 0n
  for (const [name, bits] of fields) {
    const v = a?.[name]
    if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(bits)) {
      throw new InvalidInputError(`net bill ${name} must be a bigint in [0, 2^${bits}), got ${String(v)}`)
    }
    packed |= v << shift
    shift += BigInt(bits)
  }
  return packed
}

/** The inverse of packNetAmounts. */
export function unpackNetAmounts(packed: bigint): NetAmounts {
  if (
    typeof packed !== 'bigint' ||
    packed < 0n ||
    packed >= 1n << BigInt(2 * NET_AMOUNT_BITS + 2 * NET_ENERGY_BITS)
  ) {
    throw new InvalidInputError(`a packed net bill is a bigint below 2^236, got ${String(packed)}`)
  }
  const mask = (bits: number) => (1n << BigInt(bits)) - 1n
  const A = BigInt(NET_AMOUNT_BITS)
  const E = BigInt(NET_ENERGY_BITS)
  return {
    cost: packed & mask(NET_AMOUNT_BITS),
    credit: (packed >> A) & mask(NET_AMOUNT_BITS),
    importWh: (packed >> (2n * A)) & mask(NET_ENERGY_BITS),
    exportWh: (packed >> (2n * A + E)) & mask(NET_ENERGY_BITS),
  }
}
