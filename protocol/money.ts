/**
 * Money as residents read it, agreed by the node (what is due, the payments CSV) and the UI (what a
 * bill shows): bills are in the currency the tariff is set in (Ether, in wei); a household may set a
 * display currency and the rate of one Ether in it, entered by hand and never fetched from outside.
 * All arithmetic is bigint: a wei amount is exact beyond 2^53, and a converted amount is rounded
 * once, half up, to the currency's smallest unit.
 */
import { InvalidInputError } from './errors.ts'

export const WEI_PER_ETH = 10n ** 18n

/**
 * Below this a bill is "nothing to pay": the amount shows as 0.000000 ETH at the six decimals the
 * UI shows, and paying it would cost far more in gas (a payment is ~51,000 gas) than it settles.
 * Zero bills (a period with no energy, or a free tariff) are the common case.
 */
export const NOTHING_TO_PAY_BELOW_WEI = 500_000_000_000n

/** The rate's precision: at most this many decimals (1 ETH = 2870.12345678 EUR). */
export const RATE_DECIMALS = 8
const RATE_SCALE = 10n ** BigInt(RATE_DECIMALS)
/** A rate above this is a typo (or a currency no one should price Ether in). */
export const MAX_RATE = 1_000_000_000

/** What the resident set: an ISO 4217 code, the price of 1 ETH in it (decimal text), and when. */
export interface DisplayCurrency {
  /** ISO 4217 alphabetic code, e.g. "EUR". */
  currency: string
  /** The price of one Ether in that currency, a decimal string ("2870.00"). */
  rate: string
  /** ISO 8601: when the resident set it (shown next to every converted amount). */
  setAt: string
}

/** A display currency or rate the node refuses (400). */
export class MoneyInputError extends InvalidInputError {
  override name = 'MoneyInputError'
}

/** Throws MoneyInputError unless `code` is a three-letter ISO 4217 code other than ETH. */
export function checkCurrencyCode(code: unknown): string {
  if (typeof code !== 'string' || !/^[A-Z]{3}$/.test(code))
    throw new MoneyInputError(
      `the display currency must be a three-letter ISO 4217 code in capitals (EUR, USD, CHF), got ${JSON.stringify(code)}`,
    )
  if (code === 'ETH' || code === 'XTS' || code === 'XXX')
    throw new MoneyInputError(`${code} is not a currency to show Ether amounts in`)
  return code
}

/**
 * Parses a rate typed by a person: digits, at most one "." and 8 decimals, thousands separators
 * "," or " " allowed before the point ("2,870.00"); above 0 and at most MAX_RATE. Returns the rate
 * scaled by 10^8 and its canonical text ("2870.00" keeps what the resident typed, minus separators).
 */
export function parseRate(text: unknown): { scaled: bigint; text: string } {
  if (typeof text !== 'string')
    throw new MoneyInputError('the rate must be a decimal number as text, e.g. "2870.00"')
  const trimmed = text.trim()
  const match = /^(\d{1,3}(?:[, ]\d{3})+|\d+)(?:\.(\d*))?$/.exec(trimmed)
  if (!match || trimmed.length > 40)
    throw new MoneyInputError(
      `the rate ${JSON.stringify(text)} is not a number: use digits and at most one "." (e.g. 2870.00)`,
    )
  const whole = match[1]!.replace(/[, ]/g, '')
  const fraction = match[2] ?? ''
  if (fraction.length > RATE_DECIMALS)
    throw new MoneyInputError(`the rate has more than ${RATE_DECIMALS} decimals: ${JSON.stringify(text)}`)
  const scaled = BigInt(whole) * RATE_SCALE + BigInt(fraction.padEnd(RATE_DECIMALS, '0') || '0')
  if (scaled === 0n) throw new MoneyInputError('the rate must be above 0')
  if (scaled > BigInt(MAX_RATE) * RATE_SCALE)
    throw new MoneyInputError(`the rate must be at most ${MAX_RATE.toLocaleString('en-US')} per ETH`)
  const canonical = `${BigInt(whole).toString()}${fraction ? `.${fraction}` : ''}`
  return { scaled, text: canonical }
}

/**
 * `wei` converted at `rateScaled` (parseRate) into the currency's smallest unit, with `digits`
 * fraction digits (2 for EUR, 0 for JPY): round half up, once, from the exact product.
 */
export function toMinorUnits(wei: bigint, rateScaled: bigint, digits: number): bigint {
  if (wei < 0n) throw new MoneyInputError('an amount cannot be negative')
  const denominator = WEI_PER_ETH * RATE_SCALE
  const numerator = wei * rateScaled * 10n ** BigInt(digits)
  return (numerator * 2n + denominator) / (2n * denominator)
}

/** "12345" minor units with 2 digits → "123.45" (a plain decimal, no grouping). */
export function minorToDecimal(minor: bigint, digits: number): string {
  const negative = minor < 0n
  const abs = negative ? -minor : minor
  const scale = 10n ** BigInt(digits)
  const whole = (abs / scale).toString()
  const text = digits === 0 ? whole : `${whole}.${(abs % scale).toString().padStart(digits, '0')}`
  return negative ? `-${text}` : text
}

/** Wei as a plain ETH decimal with all 18 digits trimmed of trailing zeros: "0.010234". */
export function weiToEthDecimal(wei: bigint): string {
  const whole = wei / WEI_PER_ETH
  const fraction = (wei % WEI_PER_ETH).toString().padStart(18, '0').replace(/0+$/, '')
  return fraction ? `${whole}.${fraction}` : whole.toString()
}

/** The part of a bill the money rules read (the API's Bill fits). No asset: Ether. */
export interface BillAmount {
  status: string
  total: string | null
  /**
   * What the ledger asks to be paid (the total less export credits, issue 17); absent or null: the
   * total (a bill of a node from before net bills, or one not on the ledger yet).
   */
  amountDue?: string | null | undefined
  asset?: { assetId: number; decimals: number } | undefined
}

/**
 * Below this a bill is "nothing to pay", in the asset's smallest units: NOTHING_TO_PAY_BELOW_WEI for
 * Ether (paying would cost more gas than it settles), and 10^-4 of a token (0.0001 Test USD = 100
 * units at 6 decimals) — a token's own units are far larger than wei, so the wei figure would call
 * every token bill nothing.
 */
export function nothingToPayBelow(asset?: { assetId: number; decimals: number }): bigint {
  if (asset === undefined || asset.assetId === 0) return NOTHING_TO_PAY_BELOW_WEI
  return 10n ** BigInt(Math.max(0, asset.decimals - 4))
}

/** What paying a bill takes: its amountDue once the ledger set it (credits applied), else its total. */
export function owed(bill: BillAmount): string | null {
  return bill.amountDue ?? bill.total
}

/** Whether a bill is on the ledger, unpaid, and owes at least nothingToPayBelow(its asset). */
export function isDue(bill: BillAmount): boolean {
  const amount = owed(bill)
  return (
    bill.status === 'verified' &&
    amount !== null &&
    /^\d+$/.test(amount) &&
    BigInt(amount) >= nothingToPayBelow(bill.asset)
  )
}

/** `units` of an asset with `decimals` decimals as a plain decimal ("12.5" for 12,500,000 at 6). */
export function unitsToDecimal(units: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals)
  const negative = units < 0n
  const abs = negative ? -units : units
  const fraction = (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '')
  const whole = (abs / scale).toString()
  return `${negative ? '-' : ''}${fraction ? `${whole}.${fraction}` : whole}`
}

/** A verified bill whose amount owed is zero or below nothingToPayBelow: shown as "nothing to pay". */
export function isNothingToPay(bill: BillAmount): boolean {
  return bill.status === 'verified' && owed(bill) !== null && !isDue(bill)
}

/** The sum of the bills that are due, and how many. */
export function totalDue(bills: readonly BillAmount[]): { total: bigint; count: number } {
  let total = 0n
  let count = 0
  for (const bill of bills) {
    if (!isDue(bill)) continue
    total += BigInt(owed(bill) as string)
    count++
  }
  return { total, count }
}

/** The currency's minor-unit digits per ISO 4217 as the platform's Intl knows them (EUR 2, JPY 0). */
export function currencyDigits(code: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits as number
  } catch {
    return 2
  }
}

/** `wei` in the display currency as a plain decimal ("28.70"), rounded once to its minor unit. */
export function displayDecimal(wei: bigint, display: Pick<DisplayCurrency, 'currency' | 'rate'>): string {
  const digits = currencyDigits(display.currency)
  return minorToDecimal(toMinorUnits(wei, parseRate(display.rate).scaled, digits), digits)
}
