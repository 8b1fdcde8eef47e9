/**
 * Which bills the Bills page shows: by status (unpaid means on the ledger and owing something,
 * protocol/money.ts) and by period (a calendar year, UTC, or a range of dates). Pure, unit-tested.
 */
import { isDue } from '#protocol/money.ts'
import type { Bill } from './types.ts'

export interface BillFilter {
  status: 'all' | 'unpaid' | 'paid' | 'open'
  /** 'all', a year ("2026"), or 'range' (from / to below). */
  period: string
  /** YYYY-MM-DD (UTC), inclusive; empty: open-ended. */
  from: string
  to: string
}

const DAY = 86_400

/** Unix seconds of a YYYY-MM-DD date at 00:00 UTC; undefined for anything else. */
export function dateToUnix(date: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined
  const ms = Date.parse(`${date}T00:00:00Z`)
  return Number.isNaN(ms) ? undefined : ms / 1000
}

export const yearOf = (unixSeconds: number): number => new Date(unixSeconds * 1000).getUTCFullYear()

/** The years bills start in, newest first. */
export function yearsOf(bills: readonly Bill[]): number[] {
  return [...new Set(bills.map((b) => yearOf(b.periodStart)))].sort((a, b) => b - a)
}

function statusMatches(bill: Bill, status: BillFilter['status']): boolean {
  switch (status) {
    case 'all':
      return true
    case 'unpaid':
      return isDue(bill)
    case 'paid':
      return bill.status === 'paid'
    case 'open':
      return bill.status !== 'paid' && bill.status !== 'verified'
  }
}

function periodMatches(bill: Bill, filter: BillFilter): boolean {
  if (filter.period === 'all') return true
  if (filter.period === 'range') {
    // A bill is in the range when its period overlaps [from 00:00, the day after `to` 00:00).
    const from = dateToUnix(filter.from) ?? Number.NEGATIVE_INFINITY
    const toDay = dateToUnix(filter.to)
    const to = toDay === undefined ? Number.POSITIVE_INFINITY : toDay + DAY
    return bill.periodEnd > from && bill.periodStart < to
  }
  return String(yearOf(bill.periodStart)) === filter.period
}

/** The bills the filter keeps, in the order given. */
export function filterBills(bills: readonly Bill[], filter: BillFilter): Bill[] {
  return bills.filter((b) => statusMatches(b, filter.status) && periodMatches(b, filter))
}
