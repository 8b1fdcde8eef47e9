/**
 * Round bookkeeping: the state of each round in memory (bounded, oldest dropped first), which rounds
 * are open at all (the window around now), and the waits that collect() parks on until a round's
 * state changes. stop() releases every wait still pending.
 */
import type { RoundState } from './types.ts'

export interface RoundStore {
  /** The state of round `t`, created empty on first use (the oldest idle round is forgotten beyond `maxRounds`). */
  round(t: number): RoundState
  /** Whether a round (an interval-end unix time) is close enough to now to be accepted. */
  inWindow(t: number): boolean
  /** Wakes every wait on this round so it re-checks its condition. */
  notify(state: RoundState): void
  /** Resolves once `done()` holds (checked now and on every notify) or after `timeoutMs`. */
  waitFor(state: RoundState, done: () => boolean, timeoutMs: number): Promise<void>
  /** Releases every pending wait and forgets every round. */
  clear(): void
}

export function createRoundStore(options: {
  maxRounds: number
  roundWindowS: number
  /** Unix seconds. */
  nowS: () => number
}): RoundStore {
  const rounds = new Map<number, RoundState>()
  /** Pending waits, so clear() can release every collect() still waiting. */
  const finishers = new Set<() => void>()

  return {
    round(t) {
      let state = rounds.get(t)
      if (state === undefined) {
        state = {
          shares: new Map(),
          equivocators: new Set(),
          reveals: new Map(),
          revealLog: [],
          declaredMissing: new Set(),
          revealed: new Map(),
          waiters: new Set(),
        }
        rounds.set(t, state)
        // Oldest first, but never a round a collect() is waiting on: its state object is the one the
        // wait checks, so shares arriving after an eviction would land in a new state it never sees
        // and the round would come out short. Waits are bounded (one per collect in progress).
        for (const [oldest, old] of rounds) {
          if (rounds.size <= options.maxRounds) break
          if (old.waiters.size === 0) rounds.delete(oldest)
        }
      }
      return state
    },

    inWindow: (t) => Math.abs(t - options.nowS()) <= options.roundWindowS,

    notify(state) {
      for (const w of state.waiters) w()
    },

    waitFor(state, done, timeoutMs) {
      return new Promise((resolve) => {
        const finish = () => {
          clearTimeout(timer)
          finishers.delete(finish)
          state.waiters.delete(check)
          resolve()
        }
        const check = () => {
          if (done()) finish()
        }
        const timer = setTimeout(finish, timeoutMs)
        finishers.add(finish)
        state.waiters.add(check)
        check()
      })
    },

    clear() {
      for (const finish of [...finishers]) finish()
      rounds.clear()
    },
  }
}
