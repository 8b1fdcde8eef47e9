/**
 * The documented shapes (docs/api.md, typed in api/types.ts) of what the API and the live stream
 * send: internal records (bill store, alarm manager) are never sent as they are, so they can
 * change without breaking the UI.
 */

import type { Alarm as AlarmView, BillAsset, Bill as BillView } from '#protocol/api/types.ts'
import type { Alarm } from '../automation/alarms.ts'
import { alarmHolds, blipWords } from '../automation/interlocks.ts'
import { exportedWh } from '../billing/biller.ts'
import type { BillRecord } from '../billing/store.ts'

/** Ether, as bills were before token tariffs (and still are by default). */
export const ETHER_BILL_ASSET: BillAsset = { assetId: 0, symbol: 'ETH', decimals: 18, token: null }

/** The API's shape of an asset (contracts/ts/ledger.ts AssetInfo). */
export function assetView(
  asset: { assetId: number; symbol: string; decimals: number; token?: string } | undefined,
): BillAsset {
  if (asset === undefined) return ETHER_BILL_ASSET
  return {
    assetId: asset.assetId,
    symbol: asset.symbol,
    decimals: asset.decimals,
    token: asset.token ?? null,
  }
}

/** `asset`: what the home's bills are in (one asset per meter: its area's, fixed on the ledger). */
export function billView(bill: BillRecord, asset: BillAsset = ETHER_BILL_ASSET): BillView {
  const f = bill.failure
  return {
    id: bill.id,
    periodStart: bill.periodStart,
    periodEnd: bill.periodEnd,
    energyWh: bill.energyWh,
    total: bill.total ?? null,
    kind: bill.kind ?? 'import',
    exportedWh: bill.kind === 'net' ? exportedWh(bill) : 0,
    credit: bill.kind === 'net' ? (bill.credit ?? null) : null,
    creditUsed: bill.creditUsed ?? null,
    creditForgone: bill.kind === 'net' ? null : (bill.creditForgone ?? null),
    amountDue: bill.amountDue ?? null,
    asset,
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
