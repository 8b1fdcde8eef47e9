import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  commit,
  deriveSalt,
  FIELD_ORDER,
  InvalidPeriodShapeError,
  MAX_READING,
} from '#protocol/commitment.ts'
import { createCommitmentAccumulator, restoreCommitmentAccumulator } from '../../src/meter/commitment.ts'

/** Feeds the non-zero readings to the accumulator in index order, as a meter closing intervals would. */
function incremental(readings: readonly number[], salt: bigint, n: number, skipZeros: boolean): bigint {
  const acc = createCommitmentAccumulator(salt, n)
  readings.forEach((r, i) => {
    if (!skipZeros || r !== 0) acc.add(i, r)
  })
  return acc.finish()
}

describe('incremental period commitment', () => {
  const salt = deriveSalt(new Uint8Array(32).fill(3), new Uint8Array(20).fill(4), 1_764_000_000)

  it('equals commit() of the whole array for the production and test sizes', () => {
    for (const n of [2976, 192]) {
      const readings = Array.from({ length: n }, (_, i) => (i * 7919) % (MAX_READING + 1))
      expect(incremental(readings, salt, n, false)).toBe(commit(readings, salt, n))
    }
  })

  it('equals commit() for any readings, sizes, salts and gaps (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 700 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MAX_READING })), { maxLength: n }),
              fc.bigInt({ min: 0n, max: FIELD_ORDER - 1n }),
              fc.boolean(),
            ),
          ),
        ([n, readings, s, skipZeros]) => {
          expect(incremental(readings, s, n, skipZeros)).toBe(commit(readings, s, n))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('an empty period commits to the chain over zeros', () => {
    expect(createCommitmentAccumulator(salt, 192).finish()).toBe(commit([], salt, 192))
  })

  it('refuses out-of-order indices, out-of-range readings and reuse', () => {
    const acc = createCommitmentAccumulator(salt, 192)
    acc.add(5, 10)
    expect(() => acc.add(5, 1)).toThrow(/index/)
    expect(() => acc.add(192, 1)).toThrow(/index/)
    expect(() => acc.add(6, MAX_READING + 1)).toThrow(/reading 6/)
    expect(() => acc.add(7, 1.5)).toThrow(/reading 7/)
    expect(acc.nextIndex).toBe(6)
    acc.finish()
    expect(() => acc.finish()).toThrow(/already finished/)
    expect(() => createCommitmentAccumulator(FIELD_ORDER, 192)).toThrow(/salt/)
  })

  it('a snapshot mid-period carries the slot sums: the restored accumulator commits as the whole array', () => {
    const readings = Array.from({ length: 2976 }, (_, i) => (i * 7919) % 2000)
    const acc = createCommitmentAccumulator(salt, 2976)
    for (const [i, r] of readings.slice(0, 1000).entries()) acc.add(i, r)
    const snap = JSON.parse(JSON.stringify(acc.snapshot()))
    expect(snap.slots).toBe(96)
    expect(snap.sums).toHaveLength(96)
    const restored = restoreCommitmentAccumulator(snap)
    for (const [i, r] of readings.slice(1000).entries()) restored.add(1000 + i, r)
    expect(restored.finish()).toBe(commit(readings, salt, 2976))
  })

  it('refuses a snapshot from before commitment version 2 (no slot sums) or with impossible sums', () => {
    const acc = createCommitmentAccumulator(salt, 192)
    acc.add(0, 7)
    const { slots: _slots, sums: _sums, ...v1 } = acc.snapshot()
    expect(() => restoreCommitmentAccumulator(v1 as never)).toThrow(/older version/)
    const snap = acc.snapshot()
    expect(() => restoreCommitmentAccumulator({ ...snap, sums: snap.sums.slice(1) })).toThrow(/disagree/)
    expect(() => restoreCommitmentAccumulator({ ...snap, sums: snap.sums.map(() => -1) })).toThrow(
      /slot sum 0/,
    )
  })

  it('refuses at period open a period whose slot sums could outgrow their 20-bit lanes (version 3)', () => {
    // 32 days of slots fit (32 × (2^15 − 1) < 2^20); one reading more could not be committed at
    // the close, so the meter finds out when the period opens, not a month later.
    expect(() => createCommitmentAccumulator(salt, 32 * 96)).not.toThrow()
    expect(() => createCommitmentAccumulator(salt, 32 * 96 + 1)).toThrow(InvalidPeriodShapeError)
    expect(() => createCommitmentAccumulator(salt, 33 * 24, 24)).toThrow(InvalidPeriodShapeError)
    const acc = createCommitmentAccumulator(salt, 32 * 24, 24)
    for (let i = 0; i < 32 * 24; i++) acc.add(i, MAX_READING)
    expect(acc.finish()).toBe(commit(Array(32 * 24).fill(MAX_READING), salt, 32 * 24, 24))
  })
})
