/**
 * The tariff rules: what a published price curve may look like so that a bill's total cannot be
 * turned into an oracle on a home's readings (docs/privacy.md). The ledger enforces the same rules
 * at publishTariff (contracts/src/TariffRules.sol) and the household node checks them again before
 * it proves a bill; both report the first broken rule in the same order, so their answers agree
 * (contracts/test/tariff-rules.test.ts runs both on random curves).
 *
 * A bill reveals the period, the energy E and the total T = Σ_s p_s·e_s. With L distinct prices
 * (levels) that is two equations over the L per-level energies: nothing beyond E for one level,
 * the energy per level for two, a range per level for three or four. The rules keep it there:
 *  1. at most MAX_PRICE_LEVELS distinct prices per day;
 *  2. every run of equal prices lasts at least MIN_RUN_SECONDS (wrapping round midnight), so a
 *     level is whole hours of the day, never one 15-minute slot;
 *  3. every price is a multiple of 10^(digits(max) − PRICE_SIGNIFICANT_DIGITS): at most three
 *     significant digits on the scale of the highest price, so no tiny offsets under a huge common
 *     base can encode a superincreasing sequence;
 *  4. distinct prices differ by at least max / MIN_LEVEL_GAP_DIVISOR (5 % of the highest price),
 *     so the levels' differences are within a factor of 20 of each other and cannot act as the
 *     digits of a number that decodes the per-level energies.
 */
import { InvalidInputError } from './errors.ts'

export const MAX_PRICE_LEVELS = 4
/** A price level holds for at least an hour at a time (4 slots of 15 minutes). */
export const MIN_RUN_SECONDS = 3600
export const PRICE_SIGNIFICANT_DIGITS = 3
/** Distinct prices differ by at least 1/20 of the highest price. */
export const MIN_LEVEL_GAP_DIVISOR = 20n
const MAX_PRICE = (1n << 64n) - 1n
const DAY = 86_400

/**
 * The ledger's deployment policy: the shortest billing period it accepts and how far ahead of its
 * start a tariff must be published. Production is what `deploy:contracts` and `zkmeter utility
 * deploy` use unless told otherwise; the embedded dev chain uses the short development policy.
 */
export interface LedgerPolicy {
  /** Seconds: periodEnd − periodStart of every bill is at least this. */
  minBillingPeriod: number
  /** Seconds: a tariff's effectiveFrom is at least this far after the block that publishes it. */
  tariffNotice: number
}

/** 28 days (the shortest calendar month: monthly bills always qualify), 7 days' notice. */
export const PRODUCTION_POLICY: LedgerPolicy = { minBillingPeriod: 28 * DAY, tariffNotice: 7 * DAY }
/** The dev chain and tests: bills of an hour or more, tariffs from the next block on. */
export const DEV_POLICY: LedgerPolicy = { minBillingPeriod: 3600, tariffNotice: 0 }

export type TariffViolation =
  | { rule: 'price-count'; expected: number; got: number }
  | { rule: 'price-range'; slot: number }
  | { rule: 'too-many-levels'; slot: number; maxLevels: number }
  | { rule: 'run-too-short'; slot: number; length: number; minRun: number }
  | { rule: 'too-precise'; slot: number; price: bigint; unit: bigint }
  | { rule: 'levels-too-close'; low: bigint; high: bigint; minGap: bigint }

/** A price curve breaks a tariff rule; `violation` says which and where. */
export class TariffRuleError extends InvalidInputError {
  override name = 'TariffRuleError'
  readonly violation: TariffViolation

  constructor(violation: TariffViolation, slots: number) {
    super(explainViolation(violation, slots), { details: { ...violation } })
    this.violation = violation
  }
}

/** Slots a run must last: ⌈MIN_RUN_SECONDS / interval⌉ (4 for 96 slots a day). */
export function minRunSlots(slots: number): number {
  const interval = DAY / slots
  return Math.ceil(MIN_RUN_SECONDS / interval)
}

/** 10^(digits(max) − 3), or 1 for prices below 1000: every price must be a multiple of it. */
export function priceUnit(maxPrice: bigint): bigint {
  const digits = maxPrice === 0n ? 0 : maxPrice.toString().length
  return digits > PRICE_SIGNIFICANT_DIGITS ? 10n ** BigInt(digits - PRICE_SIGNIFICANT_DIGITS) : 1n
}

/** The smallest difference allowed between two distinct prices: ⌈max / 20⌉. */
export function minLevelGap(maxPrice: bigint): bigint {
  return (maxPrice + MIN_LEVEL_GAP_DIVISOR - 1n) / MIN_LEVEL_GAP_DIVISOR
}

/**
 * The first rule `prices` breaks, in the ledger's order (count, levels, runs, precision, gaps), or
 * undefined when the curve is acceptable. `slots` is the circuit's SLOTS.
 */
export function tariffViolation(prices: readonly bigint[], slots: number): TariffViolation | undefined {
  const n = prices.length
  if (n !== slots) return { rule: 'price-count', expected: slots, got: n }
  for (let i = 0; i < n; i++) {
    const p = prices[i]
    if (typeof p !== 'bigint' || p < 0n || p > MAX_PRICE) return { rule: 'price-range', slot: i }
  }
  const p = prices as readonly bigint[]
  // 1. Levels, in order of first appearance; the slot where a fifth one appears is reported.
  const levels: bigint[] = []
  let max = 0n
  for (let i = 0; i < n; i++) {
    const price = p[i] as bigint
    if (!levels.includes(price)) {
      if (levels.length === MAX_PRICE_LEVELS) {
        return { rule: 'too-many-levels', slot: i, maxLevels: MAX_PRICE_LEVELS }
      }
      levels.push(price)
    }
    if (price > max) max = price
  }
  // 2. Runs round the clock, starting at the first slot whose price differs from the one before.
  const minRun = minRunSlots(slots)
  if (levels.length > 1) {
    const at = (i: number) => p[(i + n) % n] as bigint
    let start = 0
    while (at(start) === at(start - 1)) start++
    let runStart = start
    let length = 1
    for (let k = 1; k < n; k++) {
      const i = (start + k) % n
      if (at(i) === at(i - 1)) {
        length++
        continue
      }
      if (length < minRun) return { rule: 'run-too-short', slot: runStart, length, minRun }
      runStart = i
      length = 1
    }
    if (length < minRun) return { rule: 'run-too-short', slot: runStart, length, minRun }
  }
  // 3. Precision on the scale of the highest price.
  const unit = priceUnit(max)
  for (let i = 0; i < n; i++) {
    const price = p[i] as bigint
    if (price % unit !== 0n) return { rule: 'too-precise', slot: i, price, unit }
  }
  // 4. Gaps between neighbouring levels, from the lowest up.
  const sorted = [...levels].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (let j = 1; j < sorted.length; j++) {
    const low = sorted[j - 1] as bigint
    const high = sorted[j] as bigint
    if ((high - low) * MIN_LEVEL_GAP_DIVISOR < max) {
      return { rule: 'levels-too-close', low, high, minGap: minLevelGap(max) }
    }
  }
  return undefined
}

/** Throws TariffRuleError for the first broken rule. */
export function checkTariff(prices: readonly bigint[], slots: number): void {
  const violation = tariffViolation(prices, slots)
  if (violation !== undefined) throw new TariffRuleError(violation, slots)
}

function clock(slot: number, slots: number): string {
  const minutes = Math.round((slot * 1440) / slots) % 1440
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
}

/** The broken rule in words a resident (and the utility's operator) can act on. */
export function explainViolation(v: TariffViolation, slots: number): string {
  switch (v.rule) {
    case 'price-count':
      return `a tariff has one price per ${DAY / slots / 60}-minute slot of the day, ${v.expected} in all; this one has ${v.got}`
    case 'price-range':
      return `the price of the slot at ${clock(v.slot, slots)} UTC is not a whole number of wei per Wh below 2^64`
    case 'too-many-levels':
      return `a tariff may have at most ${v.maxLevels} different prices a day; a fifth one appears at ${clock(v.slot, slots)} UTC. More price levels would let the bill total reveal when energy was used`
    case 'run-too-short':
      return `each price must hold for at least an hour at a time; the price from ${clock(v.slot, slots)} UTC holds for only ${v.length} slot${v.length === 1 ? '' : 's'} (${(v.length * DAY) / slots / 60} minutes). A short price window would let the bill total reveal the consumption in it`
    case 'too-precise':
      return `prices may have at most ${PRICE_SIGNIFICANT_DIGITS} significant digits on the scale of the highest price, i.e. be multiples of ${v.unit} wei per Wh; the price at ${clock(v.slot, slots)} UTC is ${v.price}. Tiny offsets under a large price can hide a code that reads individual readings from the total`
    case 'levels-too-close':
      return `different prices must differ by at least 5 % of the highest price (${v.minGap} wei per Wh); ${v.low} and ${v.high} differ by ${v.high - v.low}. Nearly equal prices can hide a code that reads individual readings from the total`
  }
}

// ── what a bill makes public ──────────────────────────────────────────────────────────────

export interface PriceLevel {
  /** Wei per Wh. */
  price: bigint
  /** Slots of the day at this price. */
  slots: number
  /** The hours of the day at this price, e.g. "17:00–21:00". */
  hours: string[]
}

/** The tariff's distinct prices, lowest first, with the time of day each applies (runs round the clock). */
export function priceLevels(prices: readonly bigint[]): PriceLevel[] {
  const n = prices.length
  const distinct = [...new Set(prices)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const runs: { price: bigint; from: number; length: number }[] = []
  if (distinct.length === 1) runs.push({ price: distinct[0] as bigint, from: 0, length: n })
  else if (n > 0) {
    let start = 0
    while (prices[start] === prices[(start - 1 + n) % n]) start++
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      const last = runs.at(-1)
      if (last !== undefined && prices[i] === last.price) last.length++
      else runs.push({ price: prices[i] as bigint, from: i, length: 1 })
    }
  }
  const hhmm = (slot: number) => (slot === n ? '24:00' : clock(slot, n))
  return distinct.map((price) => ({
    price,
    slots: prices.filter((p) => p === price).length,
    hours: runs
      .filter((r) => r.price === price)
      .sort((a, b) => a.from - b.from)
      .map((r) => `${clock(r.from, n)}–${hhmm(((r.from + r.length - 1) % n) + 1)}`),
  }))
}

export interface LevelEnergy extends PriceLevel {
  /** The least and most energy (Wh) at this level consistent with the bill's energy and total. */
  minWh: bigint
  maxWh: bigint
  /** minWh = maxWh: the bill pins this level's energy down exactly. */
  exact: boolean
}

const ceilDiv = (a: bigint, b: bigint) => (a >= 0n ? (a + b - 1n) / b : -(-a / b))
const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b))

/**
 * What an observer of a bill (energy E, total T) can derive about the energy used at each price
 * level: the range of E_j over every non-negative split with Σ E_j = E and Σ p_j·E_j = T. The
 * feasible splits form a polytope whose corners use at most two levels, so the range is found
 * from the corners. Undefined when no split fits (the total is not one this tariff can produce).
 */
export function billDisclosure(
  prices: readonly bigint[],
  energyWh: bigint,
  total: bigint,
): LevelEnergy[] | undefined {
  const levels = priceLevels(prices)
  const lows = levels.map(() => undefined as bigint | undefined)
  const highs = levels.map(() => undefined as bigint | undefined)
  const note = (j: number, lo: bigint, hi: bigint) => {
    const l = lows[j]
    const h = highs[j]
    lows[j] = l === undefined || lo < l ? lo : l
    highs[j] = h === undefined || hi > h ? hi : h
  }
  let feasible = false
  const corner = (values: Map<number, { lo: bigint; hi: bigint }>) => {
    feasible = true
    levels.forEach((_, j) => {
      const v = values.get(j)
      note(j, v?.lo ?? 0n, v?.hi ?? 0n)
    })
  }
  levels.forEach((a, i) => {
    if (a.price * energyWh === total) corner(new Map([[i, { lo: energyWh, hi: energyWh }]]))
    levels.forEach((b, k) => {
      if (k <= i) return
      // E_k = (T − p_i·E) / (p_k − p_i), E_i = E − E_k, both in [0, E].
      const num = total - a.price * energyWh
      const den = b.price - a.price
      if (num < 0n || num > den * energyWh) return
      const ekLo = floorDiv(num, den)
      const ekHi = ceilDiv(num, den)
      corner(
        new Map([
          [k, { lo: ekLo, hi: ekHi }],
          [i, { lo: energyWh - ekHi, hi: energyWh - ekLo }],
        ]),
      )
    })
  })
  if (!feasible) return undefined
  return levels.map((level, j) => {
    const minWh = lows[j] as bigint
    const maxWh = highs[j] as bigint
    return { ...level, minWh, maxWh, exact: minWh === maxWh }
  })
}
