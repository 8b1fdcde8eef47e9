/**
 * Interval and period boundaries: each closed interval is folded into the period commitment and
 * recorded; at the period's end the close is signed, kept for ResendPeriod, persisted and published
 * (retained), and the next period opens.
 */
import { deriveSalt } from '#protocol/commitment.ts'
import { anchorOf, periodEndFor, slotsOf } from '#protocol/meter/period.ts'
import { isoTime } from '#protocol/meter/status.ts'
import { type BillingPeriod, encodePeriodPayload, signExportPeriod, signPeriod } from '#protocol/records.ts'
import { writeKeptCloses } from './checkpoint.ts'
import { createCommitmentAccumulator } from './commitment.ts'
import type { Persistence } from './persistence.ts'
import type { RecordFn } from './recorder.ts'
import { energyWh, exportedWh, type MeterContext, type RunningPeriod } from './sim-state.ts'

/**
 * Signed period closes the meter keeps for ResendPeriod, as many as the firmware keeps
 * (PERIOD_CLOSES_KEPT, docs/protocol.md §7): the retained PERIOD carries only the last one.
 */
export const RECENT_PERIODS = 48

type PeriodContext = Pick<
  MeterContext,
  'o' | 'address' | 'addressBytes' | 'topics' | 'interval' | 'geometry' | 'sim' | 'publisher' | 'log'
>

export interface PeriodCloser {
  /** At an interval boundary: folds the interval into the commitment, records it, settles the boundary. */
  closeInterval(): void
  /**
   * Period transitions due at the current time. Also run at start: a meter killed between an
   * interval record and its period close closes the period when it comes back.
   */
  settleBoundary(): void
}

export function createPeriodCloser(
  ctx: PeriodContext,
  deps: { record: RecordFn; persistence: Pick<Persistence, 'persist'> },
): PeriodCloser {
  const { o, sim } = ctx
  const { record, persistence } = deps

  function openPeriod(start: number): void {
    const salt = deriveSalt(o.pairingKey, ctx.addressBytes, start)
    sim.period = {
      start,
      end: periodEndFor(start, sim.periodDays, ctx.geometry),
      anchor: anchorOf(start),
      startCounter: energyWh(sim),
      exportStartCounter: exportedWh(sim),
      acc: createCommitmentAccumulator(salt, o.periodSize, slotsOf(ctx.geometry)),
      // The export readings: same salt, the export direction in the layout word (protocol §3).
      exportAcc: createCommitmentAccumulator(salt, o.periodSize, slotsOf(ctx.geometry), 'export'),
    }
  }

  /** Closes the running period at its end and opens the next one; persists before publishing. */
  function closePeriod(current: RunningPeriod): void {
    const closed: BillingPeriod = {
      meter: ctx.address,
      periodStart: current.start,
      periodEnd: current.end,
      startCounter: current.startCounter,
      endCounter: energyWh(sim),
      commitment: current.acc.finish(),
    }
    const exportClose = {
      startCounter: current.exportStartCounter,
      endCounter: exportedWh(sim),
      commitment: current.exportAcc.finish(),
    }
    const payload = encodePeriodPayload(closed, signPeriod(o.domain, o.privateKey, closed), {
      ...exportClose,
      signature: signExportPeriod(o.domain, o.privateKey, closed, exportClose),
    })
    sim.periodsClosed++
    // A close replayed after a crash is byte-identical (RFC 6979): keep one copy.
    sim.recentPeriods = [
      ...sim.recentPeriods.filter((p) => p.periodStart !== closed.periodStart),
      { periodStart: closed.periodStart, payload },
    ].slice(-RECENT_PERIODS)
    if (o.stateFile) writeKeptCloses(o.stateFile, sim.recentPeriods)
    openPeriod(current.end)
    persistence.persist()
    ctx.publisher.publish(ctx.topics.period, payload, true)
    ctx.log.info(
      `period ${isoTime(current.start)} – ${isoTime(current.end)} closed: ${closed.endCounter - closed.startCounter} Wh`,
      { periodStart: current.start },
    )
  }

  function settleBoundary(): void {
    if (sim.period && sim.t >= sim.period.end) closePeriod(sim.period)
    if (!sim.period && sim.t === sim.firstPeriodStart) {
      openPeriod(sim.t)
      persistence.persist()
    }
  }

  function closeInterval(): void {
    const { interval } = ctx
    const counter = energyWh(sim)
    const intervalWh = counter - sim.intervalStartCounter
    sim.intervalStartCounter = counter
    const exported = exportedWh(sim)
    const intervalExportedWh = exported - sim.intervalStartExport
    sim.intervalStartExport = exported
    const { period, t } = sim
    if (period && t - interval >= period.start && t <= period.end) {
      period.acc.add((t - interval - period.anchor) / interval, intervalWh)
      period.exportAcc.add((t - interval - period.anchor) / interval, intervalExportedWh)
    }
    record(1, intervalWh, intervalExportedWh)
    settleBoundary()
  }

  return { closeInterval, settleBoundary }
}
