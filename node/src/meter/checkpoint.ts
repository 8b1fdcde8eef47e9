/**
 * The virtual meter's non-volatile memory: one JSON file replaced atomically and durably (write,
 * fsync, rename) before any message that depends on it is published, so a killed meter resumes with
 * the same counter and never reuses a sequence number, as the firmware's checkpoint log guarantees.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import type { RelaySnapshot } from '#protocol/meter/relays.ts'
import {
  readSealedJsonSync,
  SealedStateError,
  sealedStateKey,
  writeSealedJsonAtomic,
} from '../storage/sealed-json.ts'
import type { AccumulatorSnapshot } from './commitment.ts'
import { MeterStateError } from './errors.ts'
import type { HazardStimuli } from './household.ts'
import type { BufferedRecord } from './record-buffer.ts'

export const CHECKPOINT_VERSION = 1

export interface MeterCheckpoint {
  v: typeof CHECKPOINT_VERSION
  meter: `0x${string}`
  /** Simulated time processed up to. */
  time: number
  /** The seq the next record will carry. */
  seq: number
  energyWh: number
  /** Energy below one Wh not yet in the counter, in joules (0..3599). */
  joulesRemainder: number
  intervalStartCounter: number
  /**
   * The export counter, its sub-Wh remainder and its value at the interval's start. Absent in a
   * checkpoint written before export metering: read as 0 (that meter never exported).
   */
  exportedWh?: number
  exportJoulesRemainder?: number
  intervalStartExport?: number
  periodDays: number
  firstPeriodStart: number
  periodsClosed: number
  period?: {
    start: number
    end: number
    anchor: number
    startCounter: number
    acc: AccumulatorSnapshot
    /** Absent before export metering: the period's export readings so far were all 0. */
    exportStartCounter?: number
    exportAcc?: AccumulatorSnapshot
  }
  relays: RelaySnapshot
  stimuli: HazardStimuli
  hazards: number
  /** Unacknowledged records, saved on a clean stop only. */
  buffer?: BufferedRecord[]
}

/**
 * The checkpoint holds undelivered records and the running commitment, so it is sealed under a key
 * derived from the meter's own private key, as a real meter's flash would be readable only by it.
 */
export const CHECKPOINT_PURPOSE = 'virtual-meter'
export const checkpointKey = (meterPrivateKey: Uint8Array): Uint8Array =>
  sealedStateKey(meterPrivateKey, CHECKPOINT_PURPOSE)

export function writeCheckpoint(path: string, checkpoint: MeterCheckpoint, key: Uint8Array): Promise<void> {
  return writeSealedJsonAtomic(path, checkpoint, key, CHECKPOINT_PURPOSE)
}

function corrupt(path: string, problem: string, cause?: unknown): MeterStateError {
  return new MeterStateError(
    `the meter state file ${path} is unusable (${problem}); restore it or delete it to provision a new meter`,
    { details: { path }, cause },
  )
}

const isInt = (v: unknown, min = 0): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min

/**
 * Reads a checkpoint (sealed, or plain JSON as older versions wrote it: the next write seals it);
 * undefined when the file does not exist, MeterStateError when it is damaged or not this meter's.
 */
export function readCheckpoint(path: string, key: Uint8Array): MeterCheckpoint | undefined {
  if (!existsSync(path)) return undefined
  let value: unknown
  try {
    value = readSealedJsonSync(path, key, CHECKPOINT_PURPOSE).value
  } catch (cause) {
    if (cause instanceof SealedStateError) throw corrupt(path, 'sealed under another key or edited', cause)
    throw corrupt(path, 'not JSON', cause)
  }
  const c = value as MeterCheckpoint
  if (typeof c !== 'object' || c === null || c.v !== CHECKPOINT_VERSION)
    throw corrupt(path, 'unknown version')
  if (typeof c.meter !== 'string' || !/^0x[0-9a-f]{40}$/.test(c.meter))
    throw corrupt(path, 'bad meter address')
  for (const key of [
    'time',
    'seq',
    'energyWh',
    'joulesRemainder',
    'intervalStartCounter',
    'periodDays',
    'firstPeriodStart',
    'periodsClosed',
    'hazards',
  ] as const) {
    if (!isInt(c[key])) throw corrupt(path, `${key} must be a non-negative integer`)
  }
  if (c.joulesRemainder >= 3600 || c.intervalStartCounter > c.energyWh)
    throw corrupt(path, 'inconsistent counter')
  for (const key of ['exportedWh', 'exportJoulesRemainder', 'intervalStartExport'] as const) {
    if (c[key] !== undefined && !isInt(c[key])) throw corrupt(path, `${key} must be a non-negative integer`)
  }
  if ((c.exportJoulesRemainder ?? 0) >= 3600 || (c.intervalStartExport ?? 0) > (c.exportedWh ?? 0))
    throw corrupt(path, 'inconsistent export counter')
  const r = c.relays
  if (typeof r !== 'object' || r === null || !isInt(r.requested) || !isInt(r.fanSpeed) || !isInt(r.hazards)) {
    throw corrupt(path, 'bad relay state')
  }
  const s = c.stimuli
  if (
    typeof s !== 'object' ||
    s === null ||
    ![s.flame, s.gas, s.water].every((b) => typeof b === 'boolean')
  ) {
    throw corrupt(path, 'bad hazard stimuli')
  }
  if (c.period !== undefined) {
    const p = c.period
    if (
      typeof p !== 'object' ||
      p === null ||
      ![p.start, p.end, p.anchor, p.startCounter].every((v) => isInt(v)) ||
      (p.exportStartCounter !== undefined && !isInt(p.exportStartCounter)) ||
      (p.exportStartCounter === undefined) !== (p.exportAcc === undefined)
    ) {
      throw corrupt(path, 'bad period')
    }
  }
  if (c.buffer !== undefined) {
    if (!Array.isArray(c.buffer) || !c.buffer.every((b) => isInt(b?.seq) && typeof b.payload === 'string')) {
      throw corrupt(path, 'bad record buffer')
    }
  }
  return c
}

/** What an integrator needs before start(): where the saved meter's simulated clock stood. */
export function readMeterCheckpoint(
  path: string,
  meterPrivateKey: Uint8Array,
): { time: number; seq: number; energyWh: number; meter: `0x${string}` } | undefined {
  const c = readCheckpoint(path, checkpointKey(meterPrivateKey))
  return c && { time: c.time, seq: c.seq, energyWh: c.energyWh, meter: c.meter }
}

/** A signed close kept for ResendPeriod: its start and the PERIOD payload exactly as published. */
export interface KeptClose {
  periodStart: number
  payload: string
}

/**
 * The kept closes live in their own file (`<stateFile>.closes`), written once per period close
 * before the close is published, like the firmware's close store: the checkpoint is rewritten at
 * every record and must stay small.
 */
export const closesFileOf = (stateFile: string): string => `${stateFile}.closes`

export function writeKeptCloses(stateFile: string, closes: readonly KeptClose[]): void {
  const path = closesFileOf(stateFile)
  // Signed period closes (counters and commitments, published anyway): not sealed, but private to
  // the node's user like every file it writes. A stale temp file may predate the mode: remove it.
  rmSync(`${path}.tmp`, { force: true })
  writeFileSync(`${path}.tmp`, JSON.stringify(closes), { mode: 0o600 })
  renameSync(`${path}.tmp`, path)
}

/** The kept closes; [] when there are none yet, MeterStateError when the file is damaged. */
export function readKeptCloses(stateFile: string): KeptClose[] {
  const path = closesFileOf(stateFile)
  if (!existsSync(path)) return []
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw corrupt(path, 'not JSON', cause)
  }
  if (!Array.isArray(value) || !value.every((c) => isInt(c?.periodStart) && typeof c.payload === 'string')) {
    throw corrupt(path, 'not a list of { periodStart, payload }')
  }
  return value as KeptClose[]
}
