import fc from 'fast-check'
import { poseidon16 } from 'poseidon-lite/poseidon16'
import { describe, expect, it } from 'vitest'
import {
  billTotals,
  commit,
  deriveSalt,
  FIELD_ORDER,
  InvalidPeriodShapeError,
  InvalidPriceError,
  InvalidReadingError,
  InvalidSaltError,
  LANE_BITS,
  layoutWord,
  MAX_READING,
  MAX_SLOT_SUM,
  packReadings,
  packSlotSums,
  READING_BITS,
  readingsDigest,
  SLOTS,
  slotSums,
  tariffHash,
} from '../commitment.ts'

const N = 192
const readingsArb = fc.array(fc.integer({ min: 0, max: MAX_READING }), { maxLength: N })
const saltArb = fc.bigInt({ min: 0n, max: FIELD_ORDER - 1n })

describe('commitment reference implementation (docs/protocol.md §3–4)', () => {
  it('bounds a reading to 15 bits and packs it in a 16-bit lane', () => {
    expect(READING_BITS).toBe(15)
    expect(MAX_READING).toBe(32767)
    expect(LANE_BITS).toBe(16)
    expect(() => packReadings([MAX_READING + 1], N)).toThrow(InvalidReadingError)
    expect(() => packReadings([65535], N)).toThrow(InvalidReadingError)
  })

  it('packs 15 readings per element, little-endian in 16-bit lanes, zero-padded to ceil(N/15)', () => {
    const packed = packReadings([1, 2, MAX_READING], N)
    expect(packed).toHaveLength(Math.ceil(N / 15))
    expect(packed[0]).toBe(1n + (2n << 16n) + (32767n << 32n))
    expect(packed.slice(1).every((p) => p === 0n)).toBe(true)
    // Reading k of an element sits at bit 16·k whatever the range check: lane 14 starts at bit 224.
    const last = packReadings([...Array(14).fill(0), MAX_READING], 15)
    expect(last[0]).toBe(32767n << 224n)
  })

  it('is the Poseidon16 chain from the salt over the packed readings, then over H and the packed slot sums (version 3)', () => {
    const readings = Array.from({ length: N }, (_, i) => (i * 37) % 500)
    const packed = packReadings(readings, N)
    let state = 42n
    for (let c = 0; c < packed.length; c += 15) {
      state = poseidon16([state, ...Array.from({ length: 15 }, (_, k) => packed[c + k] ?? 0n)])
    }
    expect(readingsDigest(readings, 42n, N)).toBe(state)
    const sums = Array.from(
      { length: SLOTS },
      (_, s) => BigInt(readings[s] ?? 0) + BigInt(readings[s + 96] ?? 0),
    )
    expect(slotSums(readings, N)).toEqual(sums)
    // One Poseidon16 call: R, the layout word, 8 elements of 12 sums in 20-bit lanes, 6 zeros.
    const packed12 = Array.from({ length: 8 }, (_, j) =>
      Array.from({ length: 12 }, (_, k) => (sums[12 * j + k] as bigint) << BigInt(20 * k)).reduce(
        (a, b) => a + b,
      ),
    )
    const h = 3n + (1n << 8n) + (96n << 16n)
    expect(layoutWord(SLOTS)).toBe(h)
    expect(packSlotSums(sums)).toEqual(packed12)
    expect(commit(readings, 42n, N)).toBe(poseidon16([state, h, ...packed12, 0n, 0n, 0n, 0n, 0n, 0n]))
  })

  it('packs slot sums 12 per element in 20-bit lanes and refuses a sum that does not fit its lane', () => {
    expect(MAX_SLOT_SUM).toBe(2 ** 20 - 1)
    // 31 days of readings at the 15-bit limit fit a lane; 32 days do too (the bound, MAX_DAYS).
    expect(31 * MAX_READING).toBeLessThanOrEqual(MAX_SLOT_SUM)
    expect(32 * MAX_READING).toBeLessThanOrEqual(MAX_SLOT_SUM)
    expect(packSlotSums([1n, 2n, BigInt(MAX_SLOT_SUM)])).toEqual([
      1n + (2n << 20n) + (BigInt(MAX_SLOT_SUM) << 40n),
    ])
    expect(packSlotSums(Array(13).fill(1n))).toHaveLength(2)
    expect(packSlotSums([...Array(11).fill(0n), 5n])[0]).toBe(5n << 220n)
    expect(() => packSlotSums([BigInt(MAX_SLOT_SUM) + 1n])).toThrow(InvalidReadingError)
    expect(() => packSlotSums([-1n])).toThrow(InvalidReadingError)
    expect(() => packSlotSums([])).toThrow(InvalidReadingError)
  })

  it('refuses a period whose slot sums could outgrow their lane (more than 32 days)', () => {
    expect(() => commit([], 1n, 32 * 96)).not.toThrow()
    expect(() => commit([], 1n, 32 * 96 + 1)).toThrow(InvalidPeriodShapeError)
    expect(() => commit([], 1n, 33 * 24, 24)).toThrow(InvalidPeriodShapeError)
  })

  it('the layout word separates layouts: slot count and vector count are hashed', () => {
    expect(layoutWord(96, 2)).not.toBe(layoutWord(96, 1))
    expect(layoutWord(24)).not.toBe(layoutWord(96))
    expect(() => layoutWord(96, 0)).toThrow(InvalidReadingError)
    // 24 slots (hourly intervals) is a different commitment from 96 slots with the same readings.
    const readings = Array.from({ length: 96 }, (_, i) => i)
    expect(commit(readings, 3n, 96, 24)).not.toBe(commit(readings, 3n, 96, 96))
  })

  it('slot sums: reading i counts in slot i mod slots; their total is the energy', () => {
    fc.assert(
      fc.property(readingsArb, fc.constantFrom(96, 24, 7), (readings, slots) => {
        const sums = slotSums(readings, N, slots)
        expect(sums).toHaveLength(slots)
        expect(sums.reduce((a, b) => a + b, 0n)).toBe(billTotals(readings, [1n], N).energyWh)
        readings.forEach((_, i) => {
          const bumped = [...readings]
          bumped[i] = (bumped[i] as number) === MAX_READING ? 0 : (bumped[i] as number) + 1
          const changed = slotSums(bumped, N, slots).findIndex((v, s) => v !== sums[s])
          expect(changed).toBe(i % slots)
        })
      }),
      { numRuns: 10 },
    )
    expect(() => slotSums([], N, 0)).toThrow(InvalidReadingError)
    expect(() => slotSums([], N, 1.5)).toThrow(InvalidReadingError)
  })

  it('moving energy between slots changes the commitment even with the same total energy', () => {
    const readings = Array.from({ length: N }, (_, i) => 100 + (i % 7))
    const moved = [...readings]
    moved[10] = (moved[10] as number) + 50 // slot 10
    moved[106] = (moved[106] as number) - 50 // slot 10 again: the same slot sums, but R differs
    const swapped = [...readings]
    swapped[10] = (swapped[10] as number) + 50 // slot 10
    swapped[80] = (swapped[80] as number) - 50 // slot 80
    expect(slotSums(moved, N)).toEqual(slotSums(readings, N))
    expect(commit(moved, 5n, N)).not.toBe(commit(readings, 5n, N))
    expect(slotSums(swapped, N)).not.toEqual(slotSums(readings, N))
    expect(commit(swapped, 5n, N)).not.toBe(commit(readings, 5n, N))
  })

  it('trailing zeros are the same period (readings after the period end read 0)', () => {
    fc.assert(
      fc.property(readingsArb, saltArb, (readings, salt) => {
        const padded = [...readings, ...Array(N - readings.length).fill(0)]
        expect(commit(readings, salt, N)).toBe(commit(padded, salt, N))
      }),
      { numRuns: 30 },
    )
  })

  it('changes when any reading or the salt changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX_READING - 1 }), { minLength: 1, maxLength: N }),
        fc.nat(),
        saltArb,
        (readings, at, salt) => {
          const i = at % readings.length
          const bumped = readings.map((r, j) => (j === i ? r + 1 : r))
          expect(commit(bumped, salt, N)).not.toBe(commit(readings, salt, N))
          expect(commit(readings, (salt + 1n) % FIELD_ORDER, N)).not.toBe(commit(readings, salt, N))
        },
      ),
      { numRuns: 30 },
    )
  })

  it('rejects every invalid reading, salt and price with the named error', () => {
    const badReading = fc.oneof(
      fc.integer({ max: -1 }),
      fc.integer({ min: MAX_READING + 1 }),
      fc.double({ noInteger: true }),
      fc.constant(Number.NaN),
      fc.string(),
    )
    fc.assert(
      fc.property(readingsArb, badReading, fc.nat(), (readings, bad, at) => {
        const copy: unknown[] = [...readings, 0]
        copy[at % copy.length] = bad
        expect(() => commit(copy as number[], 1n, N + 1)).toThrow(InvalidReadingError)
      }),
    )
    expect(() => commit(Array(N + 1).fill(0), 1n, N)).toThrow(/at most 192 readings/)
    expect(() => commit([], FIELD_ORDER, N)).toThrow(InvalidSaltError)
    expect(() => commit([], -1n, N)).toThrow(InvalidSaltError)
    expect(() => tariffHash([])).toThrow(InvalidPriceError)
    expect(() => tariffHash([1n << 64n])).toThrow(InvalidPriceError)
    expect(() => tariffHash([1 as unknown as bigint])).toThrow(InvalidPriceError)
  })

  it('bill totals: Σ reading × price of its slot, and Σ readings', () => {
    const prices = Array.from({ length: 96 }, (_, s) => BigInt(1000 + s))
    const readings = Array.from({ length: N }, (_, i) => i % 7)
    const { total, energyWh } = billTotals(readings, prices, N)
    expect(energyWh).toBe(BigInt(readings.reduce((a, b) => a + b, 0)))
    expect(total).toBe(readings.reduce((acc, r, i) => acc + BigInt(r) * BigInt(1000 + (i % 96)), 0n))
  })

  it('derives a salt below r that depends on every input', () => {
    const key = new Uint8Array(32).fill(1)
    const meter = new Uint8Array(20).fill(2)
    const s = deriveSalt(key, meter, 1764000000)
    expect(s).toBeLessThan(FIELD_ORDER)
    expect(deriveSalt(key, meter, 1764000900)).not.toBe(s)
    expect(deriveSalt(new Uint8Array(32).fill(3), meter, 1764000000)).not.toBe(s)
    expect(deriveSalt(key, new Uint8Array(20).fill(4), 1764000000)).not.toBe(s)
    expect(() => deriveSalt(new Uint8Array(31), meter, 0)).toThrow(InvalidSaltError)
    expect(() => deriveSalt(key, meter, -1)).toThrow(InvalidSaltError)
  })
})
