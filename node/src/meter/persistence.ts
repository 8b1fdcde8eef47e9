/**
 * The meter's non-volatile state: the checkpoint written before anything that depends on it leaves
 * the meter, and the restore (or fresh start) when the meter starts again.
 */

import { deriveSalt } from '#protocol/commitment.ts'
import { maxPeriodDays } from '#protocol/meter/period.ts'
import { createAlarms, createRelayController } from '#protocol/meter/relays.ts'
import {
  CHECKPOINT_VERSION,
  checkpointKey,
  type MeterCheckpoint,
  readCheckpoint,
  readKeptCloses,
  writeCheckpoint,
} from './checkpoint.ts'
import {
  type AccumulatorSnapshot,
  createCommitmentAccumulator,
  restoreCommitmentAccumulator,
} from './commitment.ts'
import { MeterStateError } from './errors.ts'
import { energyWh, exportedWh, type MeterContext } from './sim-state.ts'

type PersistenceContext = Pick<
  MeterContext,
  'o' | 'address' | 'addressBytes' | 'interval' | 'geometry' | 'sim' | 'buffer' | 'log'
>

export interface Persistence {
  /**
   * Takes a checkpoint of the state now, to be saved before anything that depends on it leaves the
   * meter (no-op without stateFile): the publisher waits for durable() before each publish.
   */
  persist(): void
  /**
   * Resolves once every checkpoint taken so far is on disk; rejects if the latest write failed (what
   * depends on it must not be published then).
   */
  durable(): Promise<void>
  /** Fresh meter, or the state saved by the previous run; throws MeterStateError if unusable. */
  prepare(now: number): void
}

function checkpointOf(ctx: PersistenceContext): MeterCheckpoint {
  const { sim, buffer } = ctx
  const { period } = sim
  return {
    v: CHECKPOINT_VERSION,
    meter: ctx.address,
    time: sim.t,
    seq: sim.seq,
    energyWh: energyWh(sim),
    joulesRemainder: sim.joules % 3600,
    intervalStartCounter: sim.intervalStartCounter,
    exportedWh: exportedWh(sim),
    exportJoulesRemainder: sim.exportJoules % 3600,
    intervalStartExport: sim.intervalStartExport,
    periodDays: sim.periodDays,
    firstPeriodStart: sim.firstPeriodStart,
    periodsClosed: sim.periodsClosed,
    ...(period && {
      period: {
        start: period.start,
        end: period.end,
        anchor: period.anchor,
        startCounter: period.startCounter,
        acc: period.acc.snapshot(),
        exportStartCounter: period.exportStartCounter,
        exportAcc: period.exportAcc.snapshot(),
      },
    }),
    relays: sim.relays.snapshot(),
    stimuli: { ...sim.stimuli },
    hazards: sim.alarms.hazards(),
    // Every checkpoint holds the records not yet acknowledged, as the firmware's flash ring does: a
    // meter killed (with the node it runs in) resends them when asked, instead of signing them gone.
    // Before 2026-12-07 only a clean stop saved them, and the chaos harness found 4-590 records signed
    // gone per node kill, whose periods then could not be billed.
    buffer: buffer.range(0, Number.MAX_SAFE_INTEGER),
  }
}

/**
 * The export accumulator of a period opened by a meter that did not meter export yet: every export
 * reading so far is 0, so it is a fresh accumulator (the period's own salt) positioned where the
 * import one stands.
 */
function zeroExportAccumulator(
  ctx: Pick<PersistenceContext, 'o' | 'addressBytes'>,
  start: number,
  imported: AccumulatorSnapshot,
) {
  const salt = deriveSalt(ctx.o.pairingKey, ctx.addressBytes, start)
  const acc = createCommitmentAccumulator(salt, imported.n, imported.slots, 'export')
  if (imported.next > 0) acc.add(imported.next - 1, 0)
  return acc
}

function restore(ctx: PersistenceContext, stateFile: string, saved: MeterCheckpoint): void {
  const { sim } = ctx
  if (saved.meter !== ctx.address) {
    throw new MeterStateError(
      `the state file ${stateFile} belongs to meter ${saved.meter}, not ${ctx.address}; use another stateFile`,
    )
  }
  sim.t = saved.time
  sim.seq = saved.seq
  sim.baseWh = saved.energyWh
  sim.joules = saved.joulesRemainder
  sim.intervalStartCounter = saved.intervalStartCounter
  sim.baseExportWh = saved.exportedWh ?? 0
  sim.exportJoules = saved.exportJoulesRemainder ?? 0
  sim.intervalStartExport = saved.intervalStartExport ?? sim.baseExportWh
  sim.periodDays = Math.min(saved.periodDays, maxPeriodDays(ctx.geometry))
  sim.firstPeriodStart = saved.firstPeriodStart
  sim.periodsClosed = saved.periodsClosed
  sim.recentPeriods = readKeptCloses(stateFile)
  sim.period = saved.period && {
    start: saved.period.start,
    end: saved.period.end,
    anchor: saved.period.anchor,
    startCounter: saved.period.startCounter,
    acc: restoreCommitmentAccumulator(saved.period.acc),
    // A period opened before export metering: nothing was exported in it so far.
    exportStartCounter: saved.period.exportStartCounter ?? sim.baseExportWh,
    exportAcc: saved.period.exportAcc
      ? restoreCommitmentAccumulator(saved.period.exportAcc)
      : zeroExportAccumulator(ctx, saved.period.start, saved.period.acc),
  }
  sim.relays = createRelayController(saved.relays)
  sim.alarms = createAlarms(saved.hazards)
  Object.assign(sim.stimuli, saved.stimuli)
  for (const r of saved.buffer ?? []) ctx.buffer.push(r)
}

/**
 * Checkpoints written one at a time, off the event loop's critical path. The meter takes a checkpoint
 * before every record it publishes; written synchronously (as before 2026-12-07) each one held the
 * whole process — three household nodes in one test process spent 55 % of their time in renameSync
 * on a busy disk, and the nodes stalled for a minute. Now a checkpoint taken while a write is under
 * way replaces any other one waiting (the newest state covers everything before it), so a burst of
 * records costs one write, and publishing waits for the write that covers it.
 */
function createCheckpointWriter(write: (checkpoint: MeterCheckpoint) => Promise<void>) {
  let waiting: { checkpoint: MeterCheckpoint; done: Promise<void> } | undefined
  let last: Promise<void> = Promise.resolve()
  return {
    save(checkpoint: MeterCheckpoint): void {
      if (waiting) {
        waiting.checkpoint = checkpoint
        return
      }
      const job: { checkpoint: MeterCheckpoint; done: Promise<void> } = { checkpoint, done: last }
      // Starts after the write before it has ended, whatever its outcome.
      job.done = last
        .catch(() => undefined)
        .then(() => {
          if (waiting === job) waiting = undefined
          return write(job.checkpoint)
        })
      waiting = job
      last = job.done
      // The outcome is read through durable(); an unobserved failure must not crash the process.
      job.done.catch(() => undefined)
    },
    /** The newest write (waiting or under way): it covers every checkpoint taken so far. */
    durable: (): Promise<void> => last,
  }
}

export function createPersistence(ctx: PersistenceContext): Persistence {
  const { o, sim } = ctx
  const key = checkpointKey(o.privateKey)
  const stateFile = o.stateFile
  const writer =
    stateFile === undefined
      ? undefined
      : createCheckpointWriter((checkpoint) => writeCheckpoint(stateFile, checkpoint, key))
  return {
    persist() {
      // The state as of now: what is published after this call depends on it.
      writer?.save(checkpointOf(ctx))
    },
    durable: () => writer?.durable() ?? Promise.resolve(),
    prepare(now) {
      const saved = o.stateFile ? readCheckpoint(o.stateFile, key) : undefined
      if (o.stateFile && saved) {
        restore(ctx, o.stateFile, saved)
        const t = sim.t
        if (now < t) {
          // Simulated time never runs backwards: the meter holds (publishes nothing new) until the
          // clock passes its saved time. Normal after a crash when the clock's own saved time lags
          // the meter's by a tick; start the clock at readMeterCheckpoint(stateFile).time to avoid it.
          ctx.log.info(
            `the clock (${now}) is ${t - now} s behind the meter's saved time (${t}); waiting for it`,
          )
        }
        if (now - t > o.maxCatchUpSeconds) {
          throw new MeterStateError(
            `the clock (${now}) is ${now - t} s past the meter's saved time (${t}), more than maxCatchUpSeconds ` +
              `(${o.maxCatchUpSeconds}); start the clock at readMeterCheckpoint(stateFile).time or raise the limit`,
            { details: { clock: now, saved: t } },
          )
        }
        sim.catchUpUntil = now
        return
      }
      sim.t = now
      sim.firstPeriodStart = o.firstPeriodStart ?? Math.ceil(now / ctx.interval) * ctx.interval
      if (sim.firstPeriodStart < now) {
        throw new MeterStateError(
          `firstPeriodStart ${sim.firstPeriodStart} is before the meter's start ${now}: the meter cannot know its counter then`,
        )
      }
      sim.period = undefined
    },
  }
}
