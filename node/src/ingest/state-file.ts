/**
 * The ingest checkpoint (`ingest-state.json`): what each meter's runtime looks like on disk and how it
 * is written (atomically) and read back. Its one job is the persistence format, so a change to it is
 * one reviewable diff; the checkpoint names the first journal segment still needed, which is how
 * recovery knows where to replay from.
 */
import type { BillingPeriod } from '#protocol/records.ts'
import { readTextIfExists, writeFileAtomic } from '../storage/json-file.ts'
import { openStateText, SealedStateError, sealJson } from '../storage/sealed-json.ts'
import type { IngestorConfig } from './config.ts'
import { exportCloseFromJson, exportCloseJson } from './export-close.ts'
import { setOpenPeriod } from './period-tracker.ts'
import { createSequenceTracker } from './sequence.ts'
import { IngestorStateError, type MeterRuntime, type PeriodEntry, type StateFile } from './types.ts'

const STATE_VERSION = 1
/** The sealing purpose of the checkpoint (storage/sealed-json.ts). */
export const INGEST_STATE_PURPOSE = 'ingest-state'

/** A billing period as JSON: the commitment as 0x + 64 hex digits. */
export const periodJson = (p: BillingPeriod) => ({
  ...p,
  commitment: `0x${p.commitment.toString(16).padStart(64, '0')}`,
})

/**
 * The checkpoint of every meter at `segment` (the first journal segment still needed). `dormant`
 * holds the state of meters no longer configured, carried over untouched.
 */
export function snapshotState(
  meters: ReadonlyMap<string, MeterRuntime>,
  dormant: StateFile['meters'],
  segment: number,
  flushing?: number,
): StateFile {
  const out: StateFile = {
    v: STATE_VERSION,
    segment,
    ...(flushing === undefined ? {} : { flushing }),
    meters: { ...dormant },
  }
  for (const m of meters.values()) {
    out.meters[m.address] = {
      seq: m.durable.snapshot(),
      intervals: [...m.intervals.values()].map((e) => [
        e.time,
        e.seq,
        e.energyWh,
        e.intervalWh,
        e.exportedWh ?? 0,
        e.intervalExportedWh ?? 0,
      ]),
      periods: [...m.periods.values()].map((p) => ({
        period: periodJson(p.period),
        signature: p.signature,
        ...(p.exportClose === undefined ? {} : { export: exportCloseJson(p.exportClose) }),
        status: p.status,
        ...(p.reason === undefined ? {} : { reason: p.reason }),
        ...(p.result === undefined
          ? {}
          : {
              result: {
                readings: p.result.readings,
                ...(p.result.exportReadings === undefined ? {} : { exportReadings: p.result.exportReadings }),
                salt: p.result.salt.toString(),
                ...(p.result.manifestCid === undefined ? {} : { manifestCid: p.result.manifestCid }),
                ...(p.result.cidDigest === undefined ? {} : { cidDigest: p.result.cidDigest }),
              },
            }),
      })),
      batches: [...m.batches],
      ...(m.open === undefined
        ? {}
        : { open: { periodStart: m.open.periodStart, periodDays: m.open.periodDays } }),
      ...(m.stateAnchor === undefined ? {} : { stateAnchor: m.stateAnchor }),
      ...(m.chainFloor === undefined ? {} : { chainFloor: m.chainFloor }),
    }
  }
  return out
}

export async function writeState(
  statePath: string,
  meters: ReadonlyMap<string, MeterRuntime>,
  dormant: StateFile['meters'],
  segment: number,
  key?: Uint8Array,
  flushing?: number,
): Promise<void> {
  const state = snapshotState(meters, dormant, segment, flushing)
  await writeFileAtomic(
    statePath,
    key === undefined ? JSON.stringify(state) : sealJson(state, key, INGEST_STATE_PURPOSE),
  )
}

/**
 * Restores the checkpoint into the configured meters' runtimes (state of unconfigured meters goes to
 * `dormant`); returns the first journal segment to replay, 0 without a checkpoint.
 */
export async function loadState(
  statePath: string,
  meters: ReadonlyMap<string, MeterRuntime>,
  dormant: StateFile['meters'],
  cfg: Pick<IngestorConfig, 'interval' | 'n'>,
  key?: Uint8Array,
): Promise<{ segment: number; sealed: boolean; flushing?: number }> {
  const text = await readTextIfExists(statePath)
  if (text === undefined) return { segment: 0, sealed: true }
  let state: StateFile
  let sealed = false
  try {
    if (key === undefined) state = JSON.parse(text)
    else
      ({ value: state, sealed } = openStateText(text, key, INGEST_STATE_PURPOSE, statePath) as {
        value: StateFile
        sealed: boolean
      })
    if (state.v !== STATE_VERSION || typeof state.segment !== 'number') throw new Error('version')
    if (state.flushing !== undefined && !Number.isSafeInteger(state.flushing)) throw new Error('flushing')
  } catch (cause) {
    // A sealed file that does not open is not "unreadable, rebuild it": it is someone else's or
    // tampered with, and the resident must hear exactly that.
    if (cause instanceof SealedStateError) throw cause
    throw new IngestorStateError(
      `ingest state ${statePath} is unreadable; move it away to rebuild from the journal and the meter`,
      { cause },
    )
  }
  for (const [address, s] of Object.entries(state.meters)) {
    const m = meters.get(address)
    if (m === undefined) {
      dormant[address] = s
      continue
    }
    m.durable = createSequenceTracker(s.seq)
    m.accepted = createSequenceTracker(s.seq)
    // Entries written before export metering have four numbers: nothing was exported then.
    for (const [time, seq, energyWh, intervalWh, exportedWh = 0, intervalExportedWh = 0] of s.intervals)
      m.intervals.set(time, { time, seq, energyWh, intervalWh, exportedWh, intervalExportedWh })
    for (const p of s.periods) {
      const period = { ...p.period, commitment: BigInt(p.period.commitment) }
      const exportClose = p.export === undefined ? undefined : exportCloseFromJson(p.export)
      const entry: PeriodEntry = {
        period,
        signature: p.signature,
        ...(exportClose === undefined ? {} : { exportClose }),
        status: p.status,
        ...(p.reason === undefined ? {} : { reason: p.reason }),
      }
      if (p.result !== undefined) {
        entry.result = {
          meter: m.address,
          period,
          signature: p.signature,
          readings: p.result.readings,
          salt: BigInt(p.result.salt),
          ...(exportClose === undefined || p.result.exportReadings === undefined
            ? {}
            : { exportClose, exportReadings: p.result.exportReadings }),
          ...(p.result.manifestCid === undefined ? {} : { manifestCid: p.result.manifestCid }),
          ...(p.result.cidDigest === undefined ? {} : { cidDigest: p.result.cidDigest }),
        }
      }
      m.periods.set(period.periodStart, entry)
    }
    m.batches = new Map(s.batches)
    if (s.open !== undefined) setOpenPeriod(m, s.open.periodStart, s.open.periodDays, cfg)
    if (s.stateAnchor !== undefined) m.stateAnchor = s.stateAnchor
    if (s.chainFloor !== undefined) m.chainFloor = s.chainFloor
  }
  return {
    segment: state.segment,
    sealed,
    ...(state.flushing === undefined ? {} : { flushing: state.flushing }),
  }
}
