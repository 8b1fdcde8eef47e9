/**
 * Debouncing the hazard bits, so a noisy sensor cannot flap an alarm: a hazard is raised after it is
 * seen in enough consecutive readings or for long enough, and cleared after enough readings or time
 * without it (whichever comes first).
 */
import { HAZARDS, type Hazard } from './reading.ts'

export interface DebounceLimits {
  raiseAfterReadings: number
  raiseAfterMs: number
  clearAfterReadings: number
  clearAfterMs: number
}

interface Debounce {
  setStreak: number
  setSince: number
  clearStreak: number
  clearSince: number
}

/**
 * `observe` takes one reading's view of a hazard and whether its alarm is active now; it answers
 * 'raise' or 'clear' when the alarm should change, undefined otherwise.
 */
export function createHazardDebounce(limits: DebounceLimits) {
  const debounce = new Map<Hazard, Debounce>(
    HAZARDS.map((h) => [h, { setStreak: 0, setSince: 0, clearStreak: 0, clearSince: 0 }]),
  )
  return {
    observe(hazard: Hazard, present: boolean, active: boolean, now: number): 'raise' | 'clear' | undefined {
      const d = debounce.get(hazard)!
      if (present) {
        d.clearStreak = 0
        if (d.setStreak === 0) d.setSince = now
        d.setStreak++
        const persisted = d.setStreak >= limits.raiseAfterReadings || now - d.setSince >= limits.raiseAfterMs
        return persisted && !active ? 'raise' : undefined
      }
      d.setStreak = 0
      if (!active) return undefined
      if (d.clearStreak === 0) d.clearSince = now
      d.clearStreak++
      const cleared = d.clearStreak >= limits.clearAfterReadings || now - d.clearSince >= limits.clearAfterMs
      return cleared ? 'clear' : undefined
    },
  }
}
