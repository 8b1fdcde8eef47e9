/**
 * The model behind the tariff editor: a daily price curve of `slots` prices (96 quarter-hours by
 * default) in wei per Wh, which is what POST /api/utility/tariffs takes. People edit in gwei per
 * Wh (the same number as µETH per kWh), by dragging across slots, per hour, or from presets.
 */

import { priceUnit } from '#protocol/tariff-rules.ts'

export const GWEI = 1_000_000_000n
/** The ledger stores prices as uint64. */
export const MAX_PRICE_WEI = 2n ** 64n - 1n

export type PresetName = 'flat' | 'day-night' | 'peak'

export class PriceCurve {
  readonly slots: number
  readonly prices: bigint[]

  constructor(slots = 96, prices?: readonly bigint[]) {
    if (!Number.isInteger(slots) || slots < 1 || 86_400 % slots !== 0) {
      throw new Error(`a day cannot be divided into ${slots} equal slots`)
    }
    this.slots = slots
    this.prices = prices ? [...prices] : new Array<bigint>(slots).fill(0n)
    if (this.prices.length !== slots) throw new Error(`expected ${slots} prices, got ${this.prices.length}`)
    for (const p of this.prices) checkPrice(p)
  }

  get slotsPerHour(): number {
    return this.slots / 24
  }

  /** "HH:MM" start of a slot (UTC; tariff slots are slots of the UTC day). */
  slotLabel(slot: number): string {
    const minutes = (slot * 1440) / this.slots
    return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
  }

  set(slot: number, price: bigint): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) throw new Error(`no slot ${slot}`)
    this.prices[slot] = checkPrice(price)
  }

  /** Sets every slot from `from` to `to` inclusive (either order): what a drag paints. */
  fill(from: number, to: number, price: bigint): void {
    const [a, b] = from <= to ? [from, to] : [to, from]
    for (let s = a; s <= b; s++) this.set(s, price)
  }

  /** Sets all slots of an hour (0..23). */
  setHour(hour: number, price: bigint): void {
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new Error(`no hour ${hour}`)
    const per = this.slotsPerHour
    if (!Number.isInteger(per)) throw new Error(`${this.slots} slots do not divide into hours`)
    this.fill(hour * per, hour * per + per - 1, price)
  }

  /** The hour's price if all its slots agree, otherwise undefined (shown as "mixed"). */
  hourPrice(hour: number): bigint | undefined {
    const per = this.slotsPerHour
    const first = this.prices[hour * per]
    for (let s = hour * per; s < (hour + 1) * per; s++) if (this.prices[s] !== first) return undefined
    return first
  }

  /**
   * Presets around a base price: flat; day-night (night 00–07 and 22–24 at half); peak 17–21 at 2×.
   * Prices are rounded to three significant digits of the highest one, as the tariff rules require
   * (protocol/tariff-rules.ts): a base of 12.34 gwei gives a peak of 24.7 and a base of 12.3.
   */
  applyPreset(name: PresetName, base: bigint): void {
    for (let s = 0; s < this.slots; s++) {
      const hour = (s * 24) / this.slots
      let price = base
      if (name === 'day-night' && (hour < 7 || hour >= 22)) price = base / 2n
      if (name === 'peak' && hour >= 17 && hour < 21) price = base * 2n
      this.set(s, price)
    }
    const unit = priceUnit(this.max())
    for (let s = 0; s < this.slots; s++) {
      const p = this.prices[s] as bigint
      const rounded = ((p + unit / 2n) / unit) * unit
      this.set(s, rounded > MAX_PRICE_WEI ? p - (p % unit) : rounded)
    }
  }

  /** The request body's prices: decimal strings of wei per Wh. */
  toWeiStrings(): string[] {
    return this.prices.map((p) => p.toString())
  }

  /** The day's average price (wei per Wh): the price level a change is compared by. */
  average(): bigint {
    let sum = 0n
    for (const p of this.prices) sum += p
    return sum / BigInt(this.slots)
  }

  /**
   * A preset at an average price level: the preset's shape (night cheaper, evening dearer) around
   * the level the tariff already has, not around an unrelated base (a preset at the old default of
   * 50 gwei/Wh made a 500–2000 gwei/Wh tariff 10–40× cheaper in one click).
   */
  applyPresetAtLevel(name: PresetName, level: bigint): void {
    const shape = new PriceCurve(this.slots)
    shape.applyPreset(name, level)
    const shaped = shape.average()
    // The preset's average at base `level` is `shaped`: scale the base so the average is `level`.
    const base = shaped === 0n ? level : (level * level + shaped / 2n) / shaped
    this.applyPreset(name, base > MAX_PRICE_WEI ? MAX_PRICE_WEI : base)
  }

  max(): bigint {
    // Math.max does not take bigint.
    let top = 0n
    for (const p of this.prices) if (p > top) top = p
    return top
  }

  clone(): PriceCurve {
    return new PriceCurve(this.slots, this.prices)
  }
}

function checkPrice(price: bigint): bigint {
  if (price < 0n || price > MAX_PRICE_WEI)
    throw new Error('a price must be between 0 and 2^64 − 1 of the smallest unit per Wh')
  return price
}

/** Parses a gwei-per-Wh amount typed by a person ("12.5") into wei per Wh. */
export function parseGwei(text: string): bigint {
  const match = /^\s*(\d+)(?:\.(\d{0,9}))?\s*$/.exec(text)
  if (!match) throw new Error(`"${text}" is not a price (digits with at most 9 decimals)`)
  return checkPrice(BigInt(match[1]!) * GWEI + BigInt((match[2] ?? '').padEnd(9, '0')))
}

/** Wei per Wh as gwei per Wh, trailing zeros trimmed. */
export function formatGwei(wei: bigint): string {
  const whole = wei / GWEI
  const frac = (wei % GWEI).toString().padStart(9, '0').replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : `${whole}`
}

/**
 * The unit a person types prices in: gwei per Wh for Ether (µETH per kWh), or the token per kWh
 * for a token tariff ("0.25" tUSD per kWh = 250 units of 10^-6 tUSD per Wh). `digits`: how many
 * decimal digits of the smallest unit per Wh one typed unit holds.
 */
export interface PriceUnit {
  digits: number
  /** For labels: "gwei per Wh", "tUSD per kWh". */
  label: string
  /** For tight places: "gwei/Wh", "tUSD/kWh". */
  short: string
  /** The editor's top edge before any price is set. */
  defaultTop: bigint
}

export const GWEI_UNIT: PriceUnit = {
  digits: 9,
  label: 'gwei per Wh',
  short: 'gwei/Wh',
  defaultTop: 10n ** 11n,
}

/** Prices of a tariff in `asset`: gwei per Wh for Ether, the token per kWh for a token. */
export function priceUnitOf(
  asset: { assetId: number; symbol: string; decimals: number } | null | undefined,
): PriceUnit {
  if (!asset || asset.assetId === 0) return GWEI_UNIT
  if (asset.decimals < 3) {
    // Fewer than 3 decimals: a price per kWh would not be a whole number of units per Wh.
    return { digits: 0, label: `${asset.symbol} units per Wh`, short: `units/Wh`, defaultTop: 100n }
  }
  const digits = asset.decimals - 3
  return {
    digits,
    label: `${asset.symbol} per kWh`,
    short: `${asset.symbol}/kWh`,
    defaultTop: 10n ** BigInt(digits),
  }
}

/** Parses a price typed in `unit` ("0.25") into smallest units per Wh. */
export function parsePrice(text: string, unit: PriceUnit): bigint {
  const d = unit.digits
  const match = (d > 0 ? new RegExp(`^\\s*(\\d+)(?:\\.(\\d{0,${d}}))?\\s*$`) : /^\s*(\d+)\s*$/).exec(text)
  if (!match) throw new Error(`"${text}" is not a price (digits with at most ${d} decimals, ${unit.label})`)
  return checkPrice(BigInt(match[1]!) * 10n ** BigInt(d) + BigInt((match[2] ?? '').padEnd(d, '0') || '0'))
}

/** Smallest units per Wh in `unit`, trailing zeros trimmed. */
export function formatPrice(value: bigint, unit: PriceUnit): string {
  const scale = 10n ** BigInt(unit.digits)
  const whole = value / scale
  const frac =
    unit.digits === 0 ? '' : (value % scale).toString().padStart(unit.digits, '0').replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : `${whole}`
}

/** Slot index under a pointer at `x` within an editor `width` pixels wide (clamped). */
export function slotAt(x: number, width: number, slots: number): number {
  if (width <= 0) return 0
  return Math.min(slots - 1, Math.max(0, Math.floor((x / width) * slots)))
}

/** Price under a pointer at `y` in an editor `height` pixels tall whose top is `top` wei/Wh. */
export function priceAt(y: number, height: number, top: bigint, step: bigint = GWEI / 10n): bigint {
  if (height <= 0) return 0n
  const fraction = Math.min(1, Math.max(0, 1 - y / height))
  const raw = (top * BigInt(Math.round(fraction * 10_000))) / 10_000n
  return step > 0n ? ((raw + step / 2n) / step) * step : raw
}

/**
 * Next tariff start: the next UTC midnight after `now` (periods close at UTC midnights), and
 * strictly after the latest published tariff's start, which the ledger requires.
 */
export function nextEffectiveFrom(nowSeconds: number, latestEffectiveFrom?: number): number {
  let t = Math.floor(nowSeconds / 86_400) * 86_400 + 86_400
  if (latestEffectiveFrom !== undefined) while (t <= latestEffectiveFrom) t += 86_400
  return t
}

/** How many times larger one price level is than the other (≥ 1), or Infinity from or to zero. */
export function levelRatio(a: bigint, b: bigint): number {
  if (a === b) return 1
  if (a === 0n || b === 0n) return Number.POSITIVE_INFINITY
  const [big, small] = a > b ? [a, b] : [b, a]
  return Number((big * 1000n) / small) / 1000
}

/** A change of the average price beyond this factor (either way) asks for confirmation. */
export const LEVEL_CHANGE_CONFIRM = 2
