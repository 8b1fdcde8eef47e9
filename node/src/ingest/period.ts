/**
 * Period assembly (docs/protocol.md §2–3): turns the meter's interval records into the reading array
 * the circuit commits to, and cross-checks it against the meter's signed PERIOD close — counter chain,
 * energy sum and commitment — before anything is handed to the prover.
 */
import { commit, type Direction, deriveSalt, MAX_READING } from '#protocol/commitment.ts'
import { hexToBytes } from '#protocol/eip712.ts'
import type { BillingPeriod, ExportClose, MeterRecord } from '#protocol/records.ts'

/** What the node keeps of each interval record (kind 1) for assembly. */
export interface IntervalEntry {
  seq: number
  /** End of the interval (unix seconds, multiple of INTERVAL). */
  time: number
  energyWh: number
  intervalWh: number
  /** The export counter and the interval's export; absent in an entry kept before export metering (0). */
  exportedWh?: number
  intervalExportedWh?: number
}

/** The interval entry of an interval record (kind 1): both counters and both interval readings. */
export function intervalEntryOf(
  r: Pick<MeterRecord, 'seq' | 'time' | 'energyWh' | 'intervalWh' | 'exportedWh' | 'intervalExportedWh'>,
): IntervalEntry {
  return {
    seq: r.seq,
    time: r.time,
    energyWh: r.energyWh,
    intervalWh: r.intervalWh,
    exportedWh: r.exportedWh ?? 0,
    intervalExportedWh: r.intervalExportedWh ?? 0,
  }
}

export interface AssembledPeriod {
  meter: `0x${string}`
  period: BillingPeriod
  signature: `0x${string}`
  /** N readings indexed from the UTC midnight anchor of periodStart; zeros outside the period. */
  readings: number[]
  salt: bigint
  /** The close's export half and the exported Wh per interval it commits to (same indexing). */
  exportClose?: ExportClose
  exportReadings?: number[]
}

export type AssemblyOutcome =
  | { status: 'ok'; readings: number[]; salt: bigint }
  | { status: 'incomplete'; missing: number[] }
  | {
      status: 'mismatch'
      kind: 'counter-mismatch' | 'reading-out-of-range' | 'commitment-mismatch' | 'period-too-long'
      reason: string
    }

export interface AssemblyOptions {
  intervalSeconds: number
  /** Readings per committed period (circuit size): 2976 in production, smaller in test profiles. */
  n: number
  pairingKey: Uint8Array
  /** Which counter the commitment is over (protocol §3); default import. */
  direction?: Direction
}

/** Interval end times a period needs: periodStart + INTERVAL … periodEnd. */
export function periodIntervalEnds(period: BillingPeriod, intervalSeconds: number): number[] {
  const out: number[] = []
  for (let t = period.periodStart + intervalSeconds; t <= period.periodEnd; t += intervalSeconds) out.push(t)
  return out
}

/**
 * Builds the period's readings and checks them against the signed close.
 *
 * The cumulative counter at every interval boundary b is known from signed data when the record
 * ending at b is stored (its energyWh), or the one ending at b + INTERVAL (energyWh − intervalWh), or
 * b is the period's start/end (startCounter/endCounter of the signed close). Where two sources exist
 * they must agree. A reading is the counter difference across its interval, and must equal that
 * record's intervalWh when the record is there — so one lost interval record is recovered exactly
 * from its neighbours (protocol §6); two in a row are not, and the period waits for a Resend.
 */
export function assemblePeriod(
  period: BillingPeriod,
  intervals: ReadonlyMap<number, IntervalEntry>,
  options: AssemblyOptions,
): AssemblyOutcome {
  const { intervalSeconds: interval, n } = options
  const anchor = period.periodStart - (period.periodStart % 86_400)
  if (period.periodEnd > anchor + n * interval) {
    return {
      status: 'mismatch',
      kind: 'period-too-long',
      reason: `period ends after anchor + N·INTERVAL (N = ${n}): it cannot be committed by this circuit`,
    }
  }
  const counters = new Map<number, number>([
    [period.periodStart, period.startCounter],
    [period.periodEnd, period.endCounter],
  ])
  const mismatch = (reason: string): AssemblyOutcome => ({
    status: 'mismatch',
    kind: 'counter-mismatch',
    reason,
  })
  const learn = (boundary: number, value: number, source: string): AssemblyOutcome | undefined => {
    const known = counters.get(boundary)
    if (known !== undefined && known !== value) {
      return mismatch(
        `the counter at ${boundary} is ${value} by ${source} but ${known} by another signed value`,
      )
    }
    counters.set(boundary, value)
    return undefined
  }
  const ends = periodIntervalEnds(period, interval)
  for (const t of ends) {
    const entry = intervals.get(t)
    if (entry === undefined) continue
    const bad =
      learn(t, entry.energyWh, `interval record ${entry.seq}`) ??
      learn(t - interval, entry.energyWh - entry.intervalWh, `interval record ${entry.seq}`)
    if (bad !== undefined) return bad
  }
  const readings = new Array<number>(n).fill(0)
  const missing: number[] = []
  for (const t of ends) {
    const end = counters.get(t)
    const start = counters.get(t - interval)
    if (end === undefined || start === undefined) {
      missing.push(t)
      continue
    }
    const wh = end - start
    if (wh > MAX_READING || wh < 0) {
      return {
        status: 'mismatch',
        kind: wh < 0 ? 'counter-mismatch' : 'reading-out-of-range',
        reason: `the interval ending ${t} has ${wh} Wh: a reading must be in [0, ${MAX_READING}]`,
      }
    }
    readings[(t - interval - anchor) / interval] = wh
  }
  if (missing.length > 0) return { status: 'incomplete', missing }
  const salt = deriveSalt(options.pairingKey, hexToBytes(period.meter, 20), period.periodStart)
  if (commit(readings, salt, n, 86_400 / interval, options.direction ?? 'import') !== period.commitment) {
    return {
      status: 'mismatch',
      kind: 'commitment-mismatch',
      reason: `the commitment of the interval readings differs from the one the meter signed`,
    }
  }
  return { status: 'ok', readings, salt }
}

/**
 * The export half of a close, checked exactly as the import half: the export counter's chain through
 * the interval records against the signed export counters, and the export readings against the
 * signed export commitment (same salt, the export direction in the layout word). Reasons name the
 * export counter, so a rejection says which half failed.
 */
export function assembleExport(
  period: BillingPeriod,
  close: ExportClose,
  intervals: ReadonlyMap<number, IntervalEntry>,
  options: AssemblyOptions,
): AssemblyOutcome {
  const exported = new Map<number, IntervalEntry>()
  for (const [t, e] of intervals) {
    exported.set(t, {
      seq: e.seq,
      time: e.time,
      energyWh: e.exportedWh ?? 0,
      intervalWh: e.intervalExportedWh ?? 0,
    })
  }
  const outcome = assemblePeriod(
    {
      ...period,
      startCounter: close.startCounter,
      endCounter: close.endCounter,
      commitment: close.commitment,
    },
    exported,
    { ...options, direction: 'export' },
  )
  return outcome.status === 'mismatch' ? { ...outcome, reason: `export counter: ${outcome.reason}` } : outcome
}
