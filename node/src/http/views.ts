/**
 * The documented shapes (docs/api.md, typed in api/types.ts) of what the API and the live stream
 * send: internal records (bill store, alarm manager) are never sent as they are, so they can
 * change without breaking the UI.
 */

import type { Alarm as AlarmView, Bill as BillView } from '#protocol/api/types.ts'
import type { Alarm } from '../automation/alarms.ts'
import { alarmHolds, blipWords } from '../automation/interlocks.ts'
import type { BillRecord } from '../billing/store.ts'

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
    paidBy: bill.paidBy ?? null,
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

export function alarmView(alarm: Alarm): AlarmView {
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
    ...alarmHolds(alarm),
    ...(alarm.blip === undefined
      ? {}
      : {
          blip: {
            durationS: Math.round(alarm.blip.durationMs / 100) / 10,
            count: alarm.blip.count,
            origin: `firmware safety reaction to ${blipWords(alarm.hazard, alarm.blip)}`,
          },
        }),
  }
}
