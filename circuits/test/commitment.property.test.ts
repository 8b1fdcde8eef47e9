import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LANE_BITS, MAX_READING } from '#protocol/commitment.ts'
import {
  commit,
  FIELD_ORDER,
  InvalidPriceError,
  InvalidReadingError,
  InvalidSaltError,
  packReadings,
  tariffHash,
} from '../src/index.ts'

const N = 192
const reading = fc.integer({ min: 0, max: MAX_READING })
const readingsArb = fc.array(reading, { maxLength: N })
const salt = fc.bigInt({ min: 0n, max: FIELD_ORDER - 1n })
const price = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })

// Anything that is not a whole number of Wh in [0, 2^15), including the top half of a 16-bit lane.
const badReading = fc.oneof(
  fc.integer({ min: MAX_READING + 1, max: 2 ** 16 - 1 }),
  fc.integer({ min: MAX_READING + 1, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, '1', null, undefined, 1n, {}),
)

/** Readings with one bad value spliced in at a random position. */
const readingsWithBad = fc
  .tuple(fc.array(reading, { maxLength: N - 1 }), badReading, fc.nat())
  .map(([rs, bad, at]) => {
    const out: unknown[] = [...rs]
    out.splice(at % (rs.length + 1), 0, bad)
    return out as number[]
  })

describe('packReadings', () => {
  it('accepts every array of at most N 15-bit readings and packs 15 per element in 16-bit lanes, losslessly', () => {
    expect(LANE_BITS).toBe(16)
    fc.assert(
      fc.property(readingsArb, (rs) => {
        const packed = packReadings(rs, N)
        expect(packed).toHaveLength(Math.ceil(N / 15))
        const unpacked = packed.flatMap((e) =>
          Array.from({ length: 15 }, (_, k) => Number((e >> BigInt(16 * k)) & 0xffffn)),
        )
        // The top bit of every lane is 0: a reading never reaches into it.
        expect(unpacked.every((r) => r <= MAX_READING)).toBe(true)
        expect(unpacked.slice(0, rs.length)).toEqual(rs)
        expect(unpacked.slice(rs.length).every((r) => r === 0)).toBe(true)
        expect(packed.every((e) => e < 1n << 240n)).toBe(true)
      }),
    )
  })

  it('throws InvalidReadingError for any bad reading', () => {
    fc.assert(
      fc.property(readingsWithBad, (rs) => {
        expect(() => packReadings(rs, N)).toThrow(InvalidReadingError)
      }),
    )
  })

  it('throws InvalidReadingError for more than N readings or a bad N', () => {
    fc.assert(
      fc.property(fc.array(reading, { minLength: N + 1, maxLength: N + 20 }), (rs) => {
        expect(() => packReadings(rs, N)).toThrow(InvalidReadingError)
      }),
    )
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => packReadings([], n)).toThrow(InvalidReadingError)
    expect(() => packReadings('1,2' as unknown as number[], N)).toThrow(InvalidReadingError)
  })
})

describe('commit', () => {
  it('never throws for valid readings and salt, and returns a field element', () => {
    fc.assert(
      fc.property(readingsArb, salt, (rs, s) => {
        const c = commit(rs, s, N)
        expect(c >= 0n && c < FIELD_ORDER).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('throws InvalidSaltError for a salt outside [0, r)', () => {
    const badSalt = fc.oneof(
      fc.bigInt({ min: FIELD_ORDER, max: 1n << 256n }),
      fc.bigInt({ min: -(1n << 256n), max: -1n }),
      fc.constantFrom(1 as unknown as bigint, '1' as unknown as bigint, null as unknown as bigint),
    )
    fc.assert(
      fc.property(readingsArb, badSalt, (rs, s) => {
        expect(() => commit(rs, s, N)).toThrow(InvalidSaltError)
      }),
    )
  })

  it('throws InvalidReadingError for bad readings whatever the salt', () => {
    fc.assert(
      fc.property(readingsWithBad, salt, (rs, s) => {
        expect(() => commit(rs, s, N)).toThrow(InvalidReadingError)
      }),
    )
  })

  it('gives distinct commitments for distinct (readings, salt) pairs', () => {
    // Trailing zeros are the same period (missing readings read 0), so compare padded arrays.
    const pad = (rs: number[]) => Array.from({ length: N }, (_, i) => rs[i] ?? 0)
    fc.assert(
      fc.property(readingsArb, salt, readingsArb, salt, (r1, s1, r2, s2) => {
        fc.pre(s1 !== s2 || pad(r1).join() !== pad(r2).join())
        expect(commit(r1, s1, N)).not.toBe(commit(r2, s2, N))
      }),
      { numRuns: 50 },
    )
  })

  it('changes when a single reading changes by one Wh', () => {
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: N }), fc.nat(), salt, (rs, at, s) => {
        const i = at % rs.length
        const changed = [...rs]
        changed[i] = rs[i] === MAX_READING ? MAX_READING - 1 : (rs[i] as number) + 1
        expect(commit(changed, s, N)).not.toBe(commit(rs, s, N))
      }),
      { numRuns: 50 },
    )
  })
})

describe('tariffHash', () => {
  const curve = fc.array(price, { minLength: 1, maxLength: 96 })

  it('never throws for prices in [0, 2^64)', () => {
    fc.assert(
      fc.property(curve, (ps) => {
        const t = tariffHash(ps)
        expect(t >= 0n && t < FIELD_ORDER).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('throws InvalidPriceError for any bad price or an empty curve', () => {
    const badPrice = fc.oneof(
      fc.bigInt({ min: 1n << 64n, max: 1n << 256n }),
      fc.bigInt({ min: -(1n << 64n), max: -1n }),
      fc.constantFrom(1 as unknown as bigint, '5' as unknown as bigint, undefined as unknown as bigint),
    )
    fc.assert(
      fc.property(fc.array(price, { maxLength: 95 }), badPrice, fc.nat(), (ps, bad, at) => {
        const prices = [...ps]
        prices.splice(at % (ps.length + 1), 0, bad)
        expect(() => tariffHash(prices)).toThrow(InvalidPriceError)
      }),
    )
    expect(() => tariffHash([])).toThrow(InvalidPriceError)
    expect(() => tariffHash('1' as unknown as bigint[])).toThrow(InvalidPriceError)
  })

  it('distinguishes distinct curves, including ones that differ only in length', () => {
    fc.assert(
      fc.property(curve, curve, (a, b) => {
        fc.pre(a.length !== b.length || a.some((p, i) => p !== b[i]))
        expect(tariffHash(a)).not.toBe(tariffHash(b))
      }),
      { numRuns: 50 },
    )
    expect(tariffHash([5n])).not.toBe(tariffHash([5n, 0n]))
  })
})
