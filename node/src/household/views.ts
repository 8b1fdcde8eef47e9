/**
 * The documented shapes (docs/api.md) of what the API and the live stream send: internal records
 * (bill store, alarm manager) are never sent as they are, so they can change without breaking
 * the UI.
 */
import type { Alarm } from '../automation/alarms.ts'
import type { FailureKind } from '../billing/failures.ts'
import type { BillRecord, BillStatus } from '../billing/store.ts'

/** A bill as docs/api.md documents it (GET /api/bills, the `bill` stream event). */
export interface BillView {
  id: string
  periodStart: number
  periodEnd: number
  energyWh: number
  total: string | null
  status: BillStatus
  commitment: string
  manifestCid: string
  cidDigest: string
  tariffId: string | null
  chainBillId: string | null
  submitTx: string | null
  paidTx: string | null
  error: { name: string; message: string } | null
  /** Why it failed, or why the node is retrying it, in words a resident can act on. */
  failure: {
    kind: FailureKind
    ledgerError: string | null
    advice: string
    /** The node retries by itself (nextAttemptAt) until it gives up and marks the bill failed. */
    temporary: boolean
    /** A retry proves the bill again from the vault instead of resubmitting the stored proof. */
    reprove: boolean
  } | null
  nextAttemptAt: string | null
  /** The earlier bill this one waits for (status waiting-previous). */
  waitingFor: string | null
  /** POST /api/bills/:id/retry is accepted (the bill is failed). */
  retryable: boolean
}

export function billView(bill: BillRecord): BillView {
  const f = bill.failure
  return {
    id: bill.id,
    periodStart: bill.periodStart,
    periodEnd: bill.periodEnd,
    energyWh: bill.energyWh,
    total: bill.total ?? null,
    status: bill.status,
    commitment: bill.commitment,
    manifestCid: bill.manifestCid,
    cidDigest: bill.cidDigest,
    tariffId: bill.tariffId ?? null,
    chainBillId: bill.chainBillId ?? null,
    submitTx: bill.submitTx ?? null,
    paidTx: bill.paidTx ?? null,
    error: bill.error ?? null,
    failure: f
      ? {
          kind: f.kind,
          ledgerError: f.ledgerError,
          advice: f.advice,
          temporary: f.temporary,
          reprove: f.reprove,
        }
      : null,
    nextAttemptAt: bill.status === 'failed' ? null : (bill.nextAttemptAt ?? null),
    waitingFor: bill.status === 'waiting-previous' ? (bill.waitingFor ?? null) : null,
    retryable: bill.status === 'failed',
  }
}

const KIND = { flame: 'fire', gas: 'gas', water: 'flood' } as const

export function alarmView(alarm: Alarm) {
  const acknowledged = alarm.acknowledgedAt !== undefined
  return {
    id: alarm.id,
    kind: KIND[alarm.hazard],
    // Latched: a cleared hazard stays listed until the resident acknowledges it.
    state: acknowledged ? 'acknowledged' : alarm.active ? 'active' : 'cleared',
    active: alarm.active,
    raisedAt: new Date(alarm.raisedAt).toISOString(),
    clearedAt: alarm.clearedAt === undefined ? null : new Date(alarm.clearedAt).toISOString(),
    acknowledgedAt: acknowledged ? new Date(alarm.acknowledgedAt as number).toISOString() : null,
    deviceReacted: alarm.reacted,
    severity: alarm.severity === 'deviceDidNotReact' ? 'escalated' : 'alarm',
    resends: alarm.resends,
  }
}
