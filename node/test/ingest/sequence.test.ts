import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSequenceTracker } from '../../src/ingest/sequence.ts'

describe('sequence tracker', () => {
  it('acknowledges exactly the contiguous prefix, whatever the arrival order (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        fc.array(fc.nat({ max: 59 }), { maxLength: 20 }),
        (count, keys, dropped) => {
          const order = Array.from({ length: count }, (_, i) => i).sort(
            (a, b) => (keys[a] ?? 0) - (keys[b] ?? 0),
          )
          const tracker = createSequenceTracker(undefined, 0)
          const lost = new Set(dropped.filter((d) => d < count))
          for (const seq of order) {
            if (lost.has(seq)) continue
            const c = tracker.classify(seq, seq * 10)
            expect(c.kind).toBe('accept')
            tracker.store(seq, seq * 10)
            expect(tracker.classify(seq, seq * 10).kind).toBe('duplicate')
          }
          const firstLost = Math.min(count, ...lost)
          expect(tracker.mark).toBe(firstLost - 1)
          const missing = tracker
            .gaps()
            .flatMap((g) => Array.from({ length: g.to - g.from + 1 }, (_, i) => g.from + i))
          const highest = Math.max(-1, ...order.filter((s) => !lost.has(s)))
          expect(missing).toEqual([...lost].filter((s) => s < highest).sort((a, b) => a - b))
          const restored = createSequenceTracker(tracker.snapshot())
          expect(restored.mark).toBe(tracker.mark)
          expect(restored.gaps()).toEqual(tracker.gaps())
        },
      ),
      { numRuns: 200 },
    )
  })

  it('flags counter rollbacks against both neighbours', () => {
    const t = createSequenceTracker(undefined, 0)
    t.store(0, 100)
    t.store(2, 120)
    expect(t.classify(3, 119)).toMatchObject({ kind: 'counter-rollback', neighbourSeq: 2 })
    expect(t.classify(1, 99)).toMatchObject({ kind: 'counter-rollback', neighbourSeq: 0 })
    expect(t.classify(1, 121)).toMatchObject({ kind: 'counter-rollback', neighbourSeq: 2 })
    expect(t.classify(1, 110)).toEqual({ kind: 'accept', fillIn: true })
    expect(t.classify(5, 130)).toEqual({ kind: 'accept', fillIn: false, gap: { from: 3, to: 4 } })
  })

  it('refuses seqs below the configured first seq', () => {
    const t = createSequenceTracker(undefined, 10)
    expect(t.classify(9, 0)).toEqual({ kind: 'before-start', base: 10 })
  })

  it('settles gone ranges: the mark crosses them, gaps shrink, a snapshot keeps them (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 80 }),
        fc.array(fc.nat({ max: 79 }), { maxLength: 40 }),
        fc.array(fc.tuple(fc.nat({ max: 90 }), fc.nat({ max: 20 })), { maxLength: 6 }),
        (count, droppedList, notices) => {
          const dropped = new Set(droppedList.filter((d) => d > 0 && d < count - 1))
          const tracker = createSequenceTracker(undefined, 0)
          for (let seq = 0; seq < count; seq++) if (!dropped.has(seq)) tracker.store(seq, seq * 10)
          const settled = new Set<number>()
          for (const [from, length] of notices) {
            for (const r of tracker.skip(from, from + length)) {
              for (let s = r.from; s <= r.to; s++) {
                // Only seqs that were missing, and never past the highest seq seen.
                expect(dropped.has(s)).toBe(true)
                expect(settled.has(s)).toBe(false)
                settled.add(s)
              }
            }
          }
          const open = [...dropped].filter((s) => !settled.has(s)).sort((a, b) => a - b)
          expect(tracker.mark).toBe(open.length === 0 ? count - 1 : (open[0] as number) - 1)
          const gapSeqs = tracker
            .gaps()
            .flatMap((g) => Array.from({ length: g.to - g.from + 1 }, (_, i) => g.from + i))
          expect(gapSeqs).toEqual(open)
          for (const s of settled) {
            expect(tracker.has(s)).toBe(true)
            expect(tracker.classify(s, 0).kind).toBe('duplicate')
          }
          // The counter checks still compare the stored records around a gone range.
          const restored = createSequenceTracker(tracker.snapshot())
          expect(restored.mark).toBe(tracker.mark)
          expect(restored.gaps()).toEqual(tracker.gaps())
          expect(restored.gone()).toEqual(tracker.gone())
        },
      ),
      { numRuns: 300 },
    )
  })

  it('keeps counter checks across a gone range and ignores notices beyond what it has seen', () => {
    const tracker = createSequenceTracker(undefined, 0)
    tracker.store(0, 100)
    tracker.store(5, 500)
    expect(tracker.skip(6, 50)).toEqual([])
    expect(tracker.skip(1, 4)).toEqual([{ from: 1, to: 4 }])
    expect(tracker.mark).toBe(5)
    expect(tracker.classify(6, 499)).toMatchObject({ kind: 'counter-rollback', neighbourSeq: 5 })
    expect(tracker.classify(6, 500)).toMatchObject({ kind: 'accept' })
  })
})
