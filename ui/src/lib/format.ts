/**
 * Number formatting for people: every value carries its unit, and amounts of Ether are computed
 * with bigint so a wei total (a decimal string in the API) is never rounded through a float.
 */
import type { DisplayCurrency } from '#protocol/api/types.ts'
import { currencyDigits, displayDecimal, RATE_DECIMALS } from '#protocol/money.ts'

const WEI_PER_ETH = 10n ** 18n

/** Parses an API wei amount (decimal string) into bigint; throws on anything else. */
export function parseWei(value: string | bigint): bigint {
  if (typeof value === 'bigint') return value
  if (!/^\d+$/.test(value)) throw new Error(`not a wei amount: ${JSON.stringify(value)}`)
  return BigInt(value)
}

/**
 * Formats wei as ETH with at most `maxDecimals` decimals (rounded half up), trailing zeros
 * trimmed: 10234000000000000 → "0.010234 ETH". A non-zero amount that rounds to zero is shown
 * as "< 0.000001 ETH" rather than a misleading "0"; a missing or malformed amount as "—".
 */
export function formatEth(
  value: string | bigint | null | undefined,
  maxDecimals = 6,
  symbol = 'ETH',
): string {
  // A view must never break on a missing amount: it shows a dash instead.
  if (value === null || value === undefined || (typeof value === 'string' && !/^\d+$/.test(value))) return '—'
  const wei = parseWei(value)
  const unit = 10n ** BigInt(18 - maxDecimals)
  const rounded = (wei + unit / 2n) / unit
  if (rounded === 0n && wei > 0n) return `< 0.${'0'.repeat(maxDecimals - 1)}1 ${symbol}`
  const whole = rounded / 10n ** BigInt(maxDecimals)
  const frac = (rounded % 10n ** BigInt(maxDecimals)).toString().padStart(maxDecimals, '0').replace(/0+$/, '')
  const wholeText = whole.toLocaleString('en-US')
  return `${frac ? `${wholeText}.${frac}` : wholeText} ${symbol}`
}

/**
 * Formats an amount in a bill's asset: Ether as formatEth, a token in its own decimals and symbol
 * ("12.34 tUSD", at most `maxDecimals` decimals, rounded half up). No asset: Ether.
 */
export function formatAmount(
  value: string | bigint | null | undefined,
  asset?: { assetId: number; symbol: string; decimals: number } | null,
  maxDecimals = 6,
): string {
  if (!asset || asset.assetId === 0) return formatEth(value, maxDecimals)
  if (value === null || value === undefined || (typeof value === 'string' && !/^\d+$/.test(value))) return '—'
  const units = parseWei(value)
  const shown = Math.min(maxDecimals, asset.decimals)
  const unit = 10n ** BigInt(asset.decimals - shown)
  const rounded = unit === 1n ? units : (units + unit / 2n) / unit
  if (rounded === 0n && units > 0n) return `< 0.${'0'.repeat(shown - 1)}1 ${asset.symbol}`
  const scale = 10n ** BigInt(shown)
  const whole = (rounded / scale).toLocaleString('en-US')
  const frac = (rounded % scale).toString().padStart(shown, '0').replace(/0+$/, '')
  return `${frac ? `${whole}.${frac}` : whole} ${asset.symbol}`
}

/** Parses a decimal ETH amount typed by a person ("0.5") into wei. */
export function parseEth(text: string): bigint {
  const match = /^\s*(\d+)(?:\.(\d{0,18}))?\s*$/.exec(text)
  if (!match) throw new Error(`"${text}" is not an amount of ETH (use digits and at most one ".")`)
  return BigInt(match[1]!) * WEI_PER_ETH + BigInt((match[2] ?? '').padEnd(18, '0') || '0')
}

export function toHexQuantity(value: bigint): `0x${string}` {
  if (value < 0n) throw new Error('a quantity cannot be negative')
  return `0x${value.toString(16)}`
}

/**
 * One formatter per number of digits: `toLocaleString` with options builds a new Intl.NumberFormat
 * on every call, which cost a view with many figures milliseconds per render.
 */
const fixedFormats = new Map<number, Intl.NumberFormat>()

function fixed(value: number, digits: number): string {
  let format = fixedFormats.get(digits)
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    fixedFormats.set(digits, format)
  }
  return format.format(value)
}

/** Watts, switching to kW from 10 kW on: 1500 → "1,500 W", 12345 → "12.35 kW". */
export function formatPower(watts: number): string {
  if (Math.abs(watts) >= 10_000) return `${fixed(watts / 1000, 2)} kW`
  return `${fixed(watts, 0)} W`
}

/** Watt-hours as kWh (the billing unit): 10234 → "10.234 kWh"; small amounts stay in Wh. */
export function formatEnergy(wh: number): string {
  if (Math.abs(wh) < 1000) return `${fixed(wh, 0)} Wh`
  return `${fixed(wh / 1000, 3)} kWh`
}

/** Compact energy for chart axes: 1500 → "1.5 kWh", 500 → "500 Wh". */
export function formatEnergyTick(wh: number): string {
  if (Math.abs(wh) < 1000) return `${Number(wh.toPrecision(6))} Wh`
  return `${Number((wh / 1000).toPrecision(6))} kWh`
}

export function formatVoltage(volts: number): string {
  return `${fixed(volts, 1)} V`
}

export function formatCurrent(amps: number): string {
  return `${fixed(amps, 2)} A`
}

export function formatTemperature(celsius: number): string {
  return `${fixed(celsius, 1)} °C`
}

export function formatPercent(fraction: number): string {
  return `${fixed(fraction * 100, 1)} %`
}

/** A unix time (seconds) as a UTC date and time, unambiguous for a bill period. */
export function formatTime(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10)
}

/** A bill period: "2026-11-01 → 2026-12-01 (30 days)". */
export function formatPeriod(start: number, end: number): string {
  const days = Math.round((end - start) / 86_400)
  return `${formatDate(start)} → ${formatDate(end)} (${days} day${days === 1 ? '' : 's'})`
}

/** Shortens a long hex or CID for display; the full value stays in a title attribute. */
export function shorten(value: string | null | undefined, head = 10, tail = 6): string {
  if (typeof value !== 'string' || value === '') return '—'
  return value.length <= head + tail + 1 ? value : `${value.slice(0, head)}…${value.slice(-tail)}`
}

/**
 * An amount in a currency, from a plain decimal ("2870.00", exact: Intl formats decimal strings
 * without going through a float): "€2,870.00", "¥4,401". `minDigits` defaults to the currency's.
 */
export function formatMoney(decimal: string, currency: string, maxDigits?: number): string {
  const digits = currencyDigits(currency)
  const format = new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: Math.max(digits, maxDigits ?? digits),
  })
  // Intl.NumberFormat takes a decimal string exactly (ES2023); the DOM typings still say number.
  return format.format(decimal as unknown as number)
}

/** `wei` in the household's display currency: "€29.37" (rounded once, half up: protocol/money.ts). */
export function formatDisplay(
  wei: string | bigint,
  display: Pick<DisplayCurrency, 'currency' | 'rate'>,
): string {
  return formatMoney(displayDecimal(parseWei(wei), display), display.currency)
}

/** The rate as residents read it: "1 ETH = €2,870.00". */
export function formatRate(display: Pick<DisplayCurrency, 'currency' | 'rate'>): string {
  return `1 ETH = ${formatMoney(display.rate, display.currency, RATE_DECIMALS)}`
}

/** The rate with its currency and when it was set: "EUR, 1 ETH = €2,870.00 (set 2026-12-07 05:00 UTC)". */
export function formatRateSet(display: DisplayCurrency): string {
  return `${display.currency}, ${formatRate(display)} (set ${formatTime(Math.floor(Date.parse(display.setAt) / 1000))})`
}
