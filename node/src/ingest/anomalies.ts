/**
 * Anomalies: every rejected payload and every irregularity of a meter's stream, kept queryable
 * (bounded list + per-kind counters that never reset while the node runs) for the API and the log.
 * Entries carry what an operator needs (kind, meter, seq, reason) and never a key or a raw payload.
 */

import { InvalidSignatureError } from '#protocol/eip712.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import {
  MalformedPayloadError,
  PayloadTooLargeError,
  SchemaError,
  WrongSignerError,
} from '#protocol/records.ts'
import { TopicError } from '#protocol/topics.ts'

export const ANOMALY_KINDS = [
  // rejected payloads
  'malformed',
  'oversized',
  'schema',
  'bad-topic',
  'unknown-meter',
  'bad-signature',
  'wrong-signer',
  'before-start',
  'implausible-time',
  'counter-rollback',
  // the export counter (OBIS 2.8.0) went back against a stored neighbour
  'export-rollback',
  // stream irregularities (the record itself may be fine)
  'duplicate',
  'gap',
  'gap-filled',
  'period-conflict',
  'period-boundary',
  'period-incomplete',
  'counter-mismatch',
  'reading-out-of-range',
  'commitment-mismatch',
  'period-too-long',
  'no-pairing-key',
  'late-record',
  // the meter signed that records are gone: their gap is closed for good; a period that needed
  // one of them is refused (its commitment can never be matched)
  'records-gone',
  // a period the node knows has closed but whose signed close it never received (ResendPeriod asked)
  'period-missing',
  // the node itself
  'storage-error',
  'vault-error',
  // billing (reported through Ingestor.reportAnomaly): a tariff the node refuses to prove against,
  // and a ledger that accepts shorter bills than the resident's policy (docs/privacy.md)
  'tariff-refused',
  // a tariff's feed-in curve the node refuses (the period is billed as an import bill, its credit forgone)
  'feed-in-refused',
  'ledger-policy',
] as const

export type AnomalyKind = (typeof ANOMALY_KINDS)[number]

export interface Anomaly {
  id: number
  at: string
  kind: AnomalyKind
  /** True when the payload was refused (not stored, not acknowledged as data). */
  rejected: boolean
  meter?: `0x${string}`
  seq?: number
  topic?: string
  reason: string
  details?: Record<string, unknown>
}

/** Maps a parse/verify failure to its anomaly kind. */
export function kindOfError(error: unknown): AnomalyKind {
  if (error instanceof PayloadTooLargeError) return 'oversized'
  if (error instanceof MalformedPayloadError) return 'malformed'
  if (error instanceof SchemaError) return 'schema'
  if (error instanceof TopicError) return 'bad-topic'
  if (error instanceof WrongSignerError) return 'wrong-signer'
  if (error instanceof InvalidSignatureError) return 'bad-signature'
  if (error instanceof ZkMeterError) return 'schema'
  return 'malformed'
}

export interface AnomalyLog {
  add(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  list(filter?: { meter?: string; kind?: AnomalyKind; since?: number }): Anomaly[]
  counters(): Record<AnomalyKind, number>
}

export function createAnomalyLog(limit: number): AnomalyLog {
  const entries: Anomaly[] = []
  const counts = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>
  let next = 1
  return {
    add(entry) {
      const anomaly: Anomaly = { id: next++, at: new Date().toISOString(), ...entry }
      entries.push(anomaly)
      if (entries.length > limit) entries.splice(0, entries.length - limit)
      counts[anomaly.kind]++
      return anomaly
    },
    list(filter = {}) {
      return entries.filter(
        (a) =>
          (filter.meter === undefined || a.meter === filter.meter.toLowerCase()) &&
          (filter.kind === undefined || a.kind === filter.kind) &&
          (filter.since === undefined || a.id > filter.since),
      )
    },
    counters: () => ({ ...counts }),
  }
}
