/**
 * Every interval this home contributes a masked share of its interval's Wh to the area's round (never
 * the value itself), once the area has enough members for the privacy floor.
 */

import type { Logger } from '../../log/logger.ts'
import type { MeshNode } from '../node.ts'
import { type MeshCounters, MIN_MEMBERS } from './types.ts'

export type Contribute = ((round: number, wh: number) => void) & {
  /** The latest round this home contributed to (the privacy view shows that day's ε). */
  latestRound(): number | undefined
}

export function createContributor(mesh: MeshNode, counters: MeshCounters, log: Logger): Contribute {
  let latest: number | undefined
  const contribute = (round: number, wh: number) => {
    if (!mesh.running || mesh.meter === undefined) return
    if (mesh.members.list().length < MIN_MEMBERS) {
      counters.sharesSkipped++
      return
    }
    mesh.aggregation.contribute(round, wh).then(
      () => {
        counters.sharesContributed++
        latest = Math.max(latest ?? round, round)
      },
      (error: unknown) => {
        counters.sharesSkipped++
        // Only the error's name: a contribute() message may quote this home's own value.
        const name = error instanceof Error ? error.name : 'Error'
        // The budget of that day is spent: the privacy view should show that day.
        if (name === 'PrivacyBudgetSpentError') latest = Math.max(latest ?? round, round)
        if (name !== 'MeshNotRunningError') log.warn('share not contributed', { round, error: name })
      },
    )
  }
  return Object.assign(contribute, { latestRound: () => latest })
}
