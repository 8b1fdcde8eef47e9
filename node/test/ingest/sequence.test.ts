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
})
