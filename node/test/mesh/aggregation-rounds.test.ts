/**
 * Round state is bounded (`maxRounds`, oldest forgotten first), but a round that a collect() is
 * waiting on must not be forgotten: the wait checks that state object, so shares arriving after the
 * eviction would go to a fresh state and the round would come out short (members counted missing).
 */
import { describe, expect, it } from 'vitest'
import { createRoundStore } from '../../src/mesh/aggregation/rounds.ts'

describe('the round store', () => {
  it('forgets the oldest idle round beyond maxRounds, never one being collected', async () => {
    const store = createRoundStore({ maxRounds: 2, roundWindowS: 86_400, nowS: () => 1000 })
    const collected = store.round(1)
    let done = false
    const waiting = store.waitFor(collected, () => done, 10_000)
    const idle = store.round(2)
    store.round(3)
    store.round(4)
    // Round 1 is still being waited on: kept (same object); round 2 was idle: forgotten.
    expect(store.round(1)).toBe(collected)
    expect(store.round(2)).not.toBe(idle)
    done = true
    store.notify(collected)
    await waiting
    // Once the wait is over, round 1 is an ordinary old round again.
    store.round(5)
    store.round(6)
    expect(store.round(1)).not.toBe(collected)
  })
})
