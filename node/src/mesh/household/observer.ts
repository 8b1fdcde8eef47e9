/**
 * The utility's aggregation observer (on the dev chain, this node): collects each round's area total
 * once enough homes take part, into the aggregate series. Errors name rounds, counts and meters, never
 * values.
 */

import type { Logger } from '../../log/logger.ts'
import type { MeshNode } from '../node.ts'
import type { AggregateSeries } from './aggregate-series.ts'
import { type MeshCounters, MIN_MEMBERS } from './types.ts'

const SAVE_AGGREGATES_MS = 10_000
/** Collections in flight at most. */
const MAX_COLLECTING = 200

export interface AggregationObserver {
  /** Collects one round's total (once per round). */
  collect(round: number): Promise<void>
  /** The last failed round's error, for /api/mesh. */
  lastError(): string | null
  /** Stops the periodic save (the composition saves once more after the mesh stops). */
  stopSaving(): void
}

export function createObserver(deps: {
  enabled: boolean
  mesh: MeshNode
  series: AggregateSeries
  /** How many round ids to remember as tried. */
  maxTried: number
  counters: MeshCounters
  log: Logger
}): AggregationObserver {
  const { mesh, series, counters, log } = deps
  let collecting = 0
  let lastAggregationError: string | null = null
  /**
   * Rounds already being collected or tried (bounded): a round learnt from shares is announced by every
   * member's share, and one collection per round is enough (a second would re-publish its recover).
   */
  const attempted = new Set<number>()

  function noteFailure(error: unknown): void {
    counters.roundsFailed++
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    // Aggregation errors name rounds, counts and meters, never values. Logged once per new reason.
    const reason = text.replace(/\d+/g, '#')
    if (reason !== lastAggregationError?.replace(/\d+/g, '#'))
      log.warn('an aggregation round failed', { error: text })
    lastAggregationError = text
  }

  async function collect(round: number): Promise<void> {
    if (!mesh.running || series.points.has(round) || attempted.has(round)) return
    if (mesh.members.list().length < MIN_MEMBERS || collecting > MAX_COLLECTING) return
    attempted.add(round)
    if (attempted.size > deps.maxTried) {
      const oldest = attempted.values().next()
      if (!oldest.done) attempted.delete(oldest.value)
    }
    collecting++
    try {
      // Homes reach an interval's end within seconds of each other (virtual meters: a few seconds of
      // start-up apart); a share arriving after the wait cannot be summed for this round.
      const result = await mesh.aggregation.collect(round, {
        shareTimeoutMs: 8000,
        shareIdleMs: 8000,
        revealTimeoutMs: 4000,
      })
      if (result.contributors.length < MIN_MEMBERS) return
      series.add({ time: round, totalWh: Number(result.totalWh), households: result.contributors.length })
      counters.roundsCollected++
    } catch (error) {
      if (!mesh.running) return
      noteFailure(error)
    } finally {
      collecting--
    }
  }

  // An observer that speaks for no meter has no interval records of its own to say which rounds run:
  // it collects each round it learns from the members' shares (the first share starts the collection).
  if (deps.enabled && mesh.meter === undefined)
    mesh.aggregation.on('share', ({ round }) => void collect(round))
  const saveTimer = deps.enabled
    ? setInterval(() => void series.save().catch(() => undefined), SAVE_AGGREGATES_MS)
    : undefined

  return {
    collect,
    lastError: () => lastAggregationError,
    stopSaving: () => clearInterval(saveTimer),
  }
}
