/**
 * Pure helpers of the Energy view and the live power trend (docs/ui.md): dates in the household's
 * time zone (the node's, from GET /api/insight: not this browser's), comparisons in words, price
 * level names, and the trend's window of recent readings. Free of DOM, unit-tested in Node.
 */
import type { InsightRange } from './types.ts'

type CalendarLabels = ReturnType<typeof makeCalendarLabels>
/** Built once per zone: each holds seven Intl.DateTimeFormats, costly to make on every render. */
const labelsByZone = new Map<string, CalendarLabels>()

/** Labels for the household's calendar: the same zone as the node's day, whatever the browser's. */
export function calendarLabels(timeZone: string): CalendarLabels {
  let labels = labelsByZone.get(timeZone)
  if (!labels) {
    labels = makeCalendarLabels(timeZone)
    labelsByZone.set(timeZone, labels)
  }
  return labels
}

function makeCalendarLabels(timeZone: string) {
  const at = (options: Intl.DateTimeFormatOptions) => {
    const f = new Intl.DateTimeFormat('en-GB', { timeZone, ...options })
    return (time: number) => f.format(new Date(time * 1000))
  }
  const fullDay = at({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })
  const dayMonth = at({ day: 'numeric', month: 'long', year: 'numeric' })
  const month = at({ month: 'long', year: 'numeric' })
  const hour = at({ hour: '2-digit', hourCycle: 'h23' })
  const weekday = at({ weekday: 'short', day: 'numeric' })
  const dayOfMonth = at({ day: 'numeric' })
  const time = at({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
  return {
    /** "Wednesday 9 December 2026", "Week of 7 December 2026", "December 2026". */
    period(range: InsightRange, from: number): string {
      if (range === 'day') return fullDay(from)
      if (range === 'week') return `Week of ${dayMonth(from)}`
      return month(from)
    },
    /** A bar: "09h" of a day, "Mon 7" of a week, "7" of a month. */
    bar(range: InsightRange, time: number): string {
      if (range === 'day') return `${hour(time)}h`
      return range === 'week' ? weekday(time) : dayOfMonth(time)
    },
    day: dayMonth,
    time,
  }
}

/** "12 % more", "5 % less", "about the same" (within 1 %), or "—" against nothing. */
export function changeText(now: number, before: number): string {
  if (before <= 0) return now > 0 ? 'more (nothing before)' : 'the same (nothing)'
  const change = (now - before) / before
  if (Math.abs(change) < 0.01) return 'about the same'
  const percent = Math.round(Math.abs(change) * 100)
  return `${percent.toLocaleString('en-US')} % ${change > 0 ? 'more' : 'less'}`
}

/** Names of a tariff's price levels, cheapest first: "single price"; "low", "high"; … */
export function levelNames(count: number): string[] {
  if (count <= 1) return ['single price']
  if (count === 2) return ['low', 'high']
  if (count === 3) return ['low', 'middle', 'high']
  return ['lowest', ...Array.from({ length: count - 2 }, (_, i) => `level ${i + 2}`), 'highest']
}

/** A share of a whole as a whole percent ("0 %" of nothing). */
export function share(part: number, whole: number): string {
  return `${whole > 0 ? Math.round((part / whole) * 100) : 0} %`
}

export interface PowerSample {
  /** The meter's clock (unix seconds). */
  time: number
  powerW: number
}

/**
 * The readings of the last `seconds` of the meter's clock, oldest first, as they arrive on the
 * stream. A reading older than the newest is a replay or a stale snapshot (the view's REST read) and
 * is ignored, unless it is a day or more older: then the meter's clock went back (another meter, a
 * reset virtual one) and the trend starts over.
 */
const CLOCK_WENT_BACK = 86_400

export class TrendWindow {
  readonly seconds: number
  readonly max: number
  readonly samples: PowerSample[] = []

  constructor(seconds: number, max = 1000) {
    this.seconds = seconds
    this.max = max
  }

  /** Adds a reading; true if the trend changed. */
  add(sample: PowerSample): boolean {
    const newest = this.samples.at(-1)
    if (newest && sample.time <= newest.time) {
      if (sample.time > newest.time - CLOCK_WENT_BACK) return false
      this.samples.length = 0
    }
    this.samples.push({ time: sample.time, powerW: sample.powerW })
    const cutoff = sample.time - this.seconds
    let drop = 0
    while (
      drop < this.samples.length - 1 &&
      (this.samples[drop]!.time < cutoff || this.samples.length - drop > this.max)
    )
      drop++
    if (drop > 0) this.samples.splice(0, drop)
    return true
  }
}

/** A span of time in words: "45 min", "10 h 5 min", "3 days 4 h". */
export function durationText(seconds: number): string {
  const minutes = Math.max(0, Math.round(seconds / 60))
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const mins = minutes % 60
  if (days > 0) return `${days} day${days === 1 ? '' : 's'}${hours ? ` ${hours} h` : ''}`
  if (hours > 0) return `${hours} h${mins ? ` ${mins} min` : ''}`
  return `${mins} min`
}

/** The household-zone date (YYYY-MM-DD) of an instant, as a date input's value. */
export function isoDateIn(timeZone: string, time: number): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(time * 1000))
}
