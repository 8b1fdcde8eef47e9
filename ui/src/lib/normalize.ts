/**
 * Tolerant readers for the node's JSON: the UI is written against docs/api.md, and these map the
 * shapes the node currently sends on some paths (its internal alarm and bill records, with
 * absent instead of null fields) onto it, so a field the node leaves out never breaks a view.
 */
import type { Alarm, Bill } from './types.ts'

type Raw = Record<string, unknown>

const nullable = <T>(value: unknown): T | null => (value === undefined ? null : (value as T))
/** A string field the node always sends; '' (shown as "—") if an older node left it out. */
const text = (value: unknown): string => (typeof value === 'string' ? value : '')

export function normalizeBill(input: unknown): Bill {
  const b = input as Raw
  const total = b.total
  return {
    id: String(b.id),
    periodStart: Number(b.periodStart),
    periodEnd: Number(b.periodEnd),
    energyWh: Number(b.energyWh ?? 0),
    total:
      typeof total === 'string' && /^\d+$/.test(total)
        ? total
        : typeof total === 'bigint'
          ? String(total)
          : null,
    status: b.status as Bill['status'],
    commitment: text(b.commitment),
    manifestCid: text(b.manifestCid),
    cidDigest: text(b.cidDigest),
    tariffId: nullable(b.tariffId),
    chainBillId: nullable(b.chainBillId),
    submitTx: nullable(b.submitTx),
    paidTx: nullable(b.paidTx),
    error: nullable(b.error),
    failure: nullable(b.failure),
    nextAttemptAt: nullable(b.nextAttemptAt),
    waitingFor: nullable(b.waitingFor),
    retryable: b.retryable === undefined ? b.status === 'failed' : Boolean(b.retryable),
  }
}

const KINDS: Record<string, Alarm['kind']> = {
  fire: 'fire',
  flame: 'fire',
  gas: 'gas',
  flood: 'flood',
  water: 'flood',
}

function iso(value: unknown): string {
  if (typeof value === 'number') return new Date(value > 1e12 ? value : value * 1000).toISOString()
  return String(value)
}

export function normalizeAlarm(input: unknown): Alarm {
  const a = input as Raw
  const kind = KINDS[String(a.kind ?? a.hazard)] ?? 'fire'
  let state = a.state as Alarm['state'] | undefined
  if (state === undefined) {
    if (a.acknowledgedAt !== undefined || a.closedAt !== undefined) state = 'acknowledged'
    else state = a.active === false ? 'cleared' : 'active'
  }
  const severity = a.severity === 'alarm' || a.severity === undefined ? 'alarm' : 'escalated'
  return {
    id: String(a.id),
    kind,
    state,
    active: typeof a.active === 'boolean' ? a.active : state === 'active',
    raisedAt: iso(a.raisedAt),
    clearedAt: a.clearedAt === undefined || a.clearedAt === null ? null : iso(a.clearedAt),
    acknowledgedAt:
      a.acknowledgedAt === undefined || a.acknowledgedAt === null ? null : iso(a.acknowledgedAt),
    deviceReacted: Boolean(a.deviceReacted ?? a.reacted),
    severity,
    resends: Number(a.resends ?? 0),
  }
}
