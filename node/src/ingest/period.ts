/**
 * Period assembly (docs/protocol.md §2–3): turns the meter's interval records into the reading array
 * the circuit commits to, and cross-checks it against the meter's signed PERIOD close — counter chain,
 * energy sum and commitment — before anything is handed to the prover.
 */
import { commit, deriveSalt, MAX_READING } from '../../../circuits/src/commitment.ts'
import { hexToBytes } from '../protocol/eip712.ts'
import type { BillingPeriod } from '../protocol/records.ts'

/** What the node keeps of each interval record (kind 1) for assembly. */
export interface IntervalEntry {
  seq: number
  /** End of the interval (unix seconds, multiple of INTERVAL). */
  time: number
  energyWh: number
  intervalWh: number
}

export interface AssembledPeriod {
  meter: `0x${string}`
  period: BillingPeriod
  signature: `0x${string}`
  /** N readings indexed from the UTC midnight anchor of periodStart; zeros outside the period. */
  readings: number[]
  salt: bigint
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
}

/** Interval end times a period needs: periodStart + INTERVAL … periodEnd. */
export function periodIntervalEnds(period: BillingPeriod, intervalSeconds: number): number[] {
  const out: number[] = []
  for (let t = period.periodStart + intervalSeconds; t <= period.periodEnd; t += intervalSeconds) out.push(t)
  return out
}

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
  const ends = periodIntervalEnds(period, interval)
  const missing = ends.filter((t) => !intervals.has(t))
  if (missing.length > 0) return { status: 'incomplete', missing }
  const readings = new Array<number>(n).fill(0)
  let counter = period.startCounter
  for (const t of ends) {
    const entry = intervals.get(t) as IntervalEntry
    if (entry.energyWh - entry.intervalWh !== counter) {
      return {
        status: 'mismatch',
        kind: 'counter-mismatch',
        reason: `interval ending ${t} (seq ${entry.seq}) starts at counter ${entry.energyWh - entry.intervalWh}, expected ${counter}`,
      }
    }
    if (entry.intervalWh > MAX_READING) {
      return {
        status: 'mismatch',
        kind: 'reading-out-of-range',
        reason: `interval ending ${t} (seq ${entry.seq}) has ${entry.intervalWh} Wh, above the ${MAX_READING} Wh a reading can hold`,
      }
    }
    readings[(t - interval - anchor) / interval] = entry.intervalWh
    counter = entry.energyWh
  }
  if (counter !== period.endCounter) {
    return {
      status: 'mismatch',
      kind: 'counter-mismatch',
      reason: `interval records end at counter ${counter}, the signed period says ${period.endCounter}`,
    }
  }
  const salt = deriveSalt(options.pairingKey, hexToBytes(period.meter, 20), period.periodStart)
  if (commit(readings, salt, n) !== period.commitment) {
    return {
      status: 'mismatch',
      kind: 'commitment-mismatch',
      reason: 'the commitment of the interval readings differs from the one the meter signed',
    }
  }
  return { status: 'ok', readings, salt }
}
