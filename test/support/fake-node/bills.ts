/**
 * The bill store and biller of the fake node, over the fixture's bill views (FakeNodeState.bills,
 * which tests replace and edit in place): records are derived from the views on every read, and
 * the biller's steps (a payment, a retry going through proving to verified) change the views and
 * announce them on the stream as the node does.
 */
import type { Bill } from '#protocol/api/types.ts'
import { checkCurrencyCode, parseRate } from '#protocol/money.ts'
import { BillNotFailedError } from '../../../node/src/billing/failures.ts'
import type { BillRecord } from '../../../node/src/billing/store.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { billView } from '../../../node/src/http/views.ts'
import { type FakeNodeState, METER } from './fixtures.ts'

type Hex = `0x${string}`
const hex = (value: string): Hex => (value.startsWith('0x') ? (value as Hex) : `0x${value}`)

/** The stored record a bill view shows (the inverse of the node's billView for fixture bills). */
export function recordOf(view: Bill): BillRecord {
  return {
    id: view.id,
    meter: METER,
    periodStart: view.periodStart,
    periodEnd: view.periodEnd,
    startCounter: 0,
    endCounter: view.energyWh,
    commitment: view.commitment,
    meterSignature: '0x',
    energyWh: view.energyWh,
    manifestCid: view.manifestCid,
    cidDigest: hex(view.cidDigest),
    status: view.status,
    ...(view.tariffId === null ? {} : { tariffId: view.tariffId }),
    ...(view.total === null ? {} : { total: view.total }),
    // A net bill's export half (its counters give exportedWh) and what the ledger made of its credit.
    ...(view.kind === 'net'
      ? {
          kind: 'net' as const,
          exportHalf: {
            startCounter: 0,
            endCounter: view.exportedWh ?? 0,
            commitment: '0',
            signature: '0x' as const,
          },
          ...(view.credit == null ? {} : { credit: view.credit }),
        }
      : {}),
    ...(view.creditUsed == null ? {} : { creditUsed: view.creditUsed }),
    ...(view.creditForgone == null ? {} : { creditForgone: view.creditForgone }),
    ...(view.amountDue == null ? {} : { amountDue: view.amountDue }),
    ...(view.chainBillId === null ? {} : { chainBillId: hex(view.chainBillId) }),
    ...(view.submitTx === null ? {} : { submitTx: hex(view.submitTx) }),
    ...(view.paidTx === null ? {} : { paidTx: hex(view.paidTx) }),
    ...(view.paidBy === null ? {} : { paidBy: hex(view.paidBy) }),
    // The receipt's block and time as the payment watch records them (a fixed hour after the period).
    ...(view.status === 'paid' && view.paidTx !== null
      ? {
          paidBlock: 1000 + (Math.floor(view.periodStart / 86_400) % 1000),
          paidAt: view.periodEnd + 3600,
          paidAmount: view.total ?? '0',
        }
      : {}),
    ...(view.error === null ? {} : { error: view.error }),
    ...(view.failure === null ? {} : { failure: { ...view.failure, step: 'proving' as const } }),
    ...(view.nextAttemptAt === null ? {} : { nextAttemptAt: view.nextAttemptAt }),
    ...(view.waitingFor === null ? {} : { waitingFor: view.waitingFor }),
    attempts: 0,
    createdAt: new Date(view.periodEnd * 1000).toISOString(),
    updatedAt: new Date(view.periodEnd * 1000).toISOString(),
  }
}

export function fakeBills(
  state: FakeNodeState,
  publish: (bill: Bill) => void,
): Pick<RoutesContext, 'bills' | 'biller' | 'displayCurrency'> {
  const find = (id: string) => state.bills.find((b) => b.id === id)
  /** The node announces each change of a bill on the stream (the `bill` event is its view). */
  const announce = (view: Bill, change: Partial<Bill>, afterMs: number) =>
    setTimeout(() => {
      Object.assign(view, change)
      publish(billView(recordOf(view)))
    }, afterMs)
  return {
    bills: {
      list: () => state.bills.map(recordOf),
      get: (id) => {
        const view = find(id)
        return view && recordOf(view)
      },
    },
    // The node's validation (protocol/money.ts), kept in the fixture instead of a file.
    displayCurrency: {
      get: () => (state.displayCurrency === null ? null : { ...state.displayCurrency }),
      async set(input) {
        state.displayCurrency =
          input === null
            ? null
            : {
                currency: checkCurrencyCode(input.currency),
                rate: parseRate(input.rate).text,
                setAt: new Date().toISOString(),
              }
        return state.displayCurrency === null ? null : { ...state.displayCurrency }
      },
    },
    biller: {
      async markPaid(chainBillId, paidTx, paidBy) {
        const view = state.bills.find((b) => b.chainBillId === chainBillId)
        if (!view) return undefined
        Object.assign(view, { status: 'paid', paidTx, paidBy })
        announce(view, {}, 20)
        return recordOf(view)
      },
      // Like the node: back to the start, then proved and verified on the ledger; the bills held
      // back behind it follow.
      async retry(id) {
        const view = find(id)
        if (view?.status !== 'failed') {
          const status = view?.status ?? 'unknown'
          throw new BillNotFailedError(`bill ${id} is ${status}, not failed: the node is working on it`, {
            details: { bill: id, status },
          })
        }
        Object.assign(view, { status: 'waiting-tariff', error: null, failure: null, retryable: false })
        announce(view, { status: 'proving' }, 30)
        setTimeout(() => {
          Object.assign(view, { status: 'verified', total: '10234000000000000' })
          publish(billView(recordOf(view)))
          for (const next of state.bills) {
            if (next.status === 'waiting-previous' && next.waitingFor === view.id) {
              Object.assign(next, { status: 'verified', waitingFor: null })
              publish(billView(recordOf(next)))
            }
          }
        }, 120)
        return recordOf(view)
      },
    },
  }
}
