/**
 * Every interval this home contributes a masked share of its interval's Wh to the area's round (never
 * the value itself), once the area has enough members for the privacy floor.
 */

import type { Logger } from '../../log/logger.ts'
import type { MeshNode } from '../node.ts'
import { type MeshCounters, MIN_MEMBERS } from './types.ts'

export type Contribute = (round: number, wh: number) => void

export function createContributor(mesh: MeshNode, counters: MeshCounters, log: Logger): Contribute {
  return (round, wh) => {
    if (!mesh.running || mesh.meter === undefined) return
    if (mesh.members.list().length < MIN_MEMBERS) {
      counters.sharesSkipped++
      return
    }
    mesh.aggregation.contribute(round, wh).then(
      () => void counters.sharesContributed++,
      (error: unknown) => {
        counters.sharesSkipped++
        // Only the error's name: a contribute() message may quote this home's own value.
        const name = error instanceof Error ? error.name : 'Error'
        if (name !== 'MeshNotRunningError') log.warn('share not contributed', { round, error: name })
      },
    )
  }
}
