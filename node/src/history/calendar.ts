/**
 * The household's calendar: days, weeks and months as a resident reads them on a clock in the
 * household's time zone (the node's `timeZone` setting, default the system's zone: docs/api.md).
 * Pure arithmetic over Intl's zone database, no library: a day is local midnight to the next local
 * midnight, so it lasts 23 or 25 hours on a daylight-saving change. Weeks start on Monday (ISO 8601).
 */
import { InvalidInputError } from '#protocol/errors.ts'

export type CalendarRange = 'day' | 'week' | 'month'

/** A date on the household's calendar (month 1–12). */
export interface CivilDate {
  year: number
  month: number
  day: number
}

export class InvalidTimeZoneError extends InvalidInputError {
  override name = 'InvalidTimeZoneError'
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** One formatter per zone (constructing one costs far more than using it). */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      })
    } catch {
      throw new InvalidTimeZoneError(
        `unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as Europe/Berlin or UTC`,
      )
    }
    formatters.set(timeZone, f)
  }
  return f
}

/**
 * Throws InvalidTimeZoneError unless `timeZone` is a zone this runtime knows; returns it as given
 * (not ICU's canonical alias: the resident wrote Asia/Kolkata, not Asia/Calcutta).
 */
export function checkTimeZone(timeZone: string): string {
  formatter(timeZone)
  return timeZone
}

/** The zone this machine is set to: the default of the node's `timeZone`. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone
}

/** Local wall-clock fields of the instant `time` (unix seconds) in `timeZone`. */
function wallClock(
  time: number,
  timeZone: string,
): CivilDate & { hour: number; minute: number; second: number } {
  const fields: Record<string, number> = {}
  for (const part of formatter(timeZone).formatToParts(new Date(time * 1000))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value)
  }
  return {
    year: fields.year ?? 1970,
    month: fields.month ?? 1,
    day: fields.day ?? 1,
    hour: fields.hour ?? 0,
    minute: fields.minute ?? 0,
    second: fields.second ?? 0,
  }
}

/** Local time minus UTC at the instant `time`, in seconds. */
function offsetAt(time: number, timeZone: string): number {
  const w = wallClock(time, timeZone)
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) / 1000 - time
}

/** The date `time` falls on in `timeZone`. */
export function civilDateOf(time: number, timeZone: string): CivilDate {
  const { year, month, day } = wallClock(time, timeZone)
  return { year, month, day }
}

/** Normalises a date whose fields overflow (day 0, day 32, month 13) as Date.UTC does. */
function normalise(year: number, month: number, day: number): CivilDate {
  const d = new Date(Date.UTC(year, month - 1, day))
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
}

/**
 * The first instant of `date` in `timeZone` (unix seconds): local midnight, found by correcting a
 * UTC guess by the zone's offset twice (the second pass settles a daylight-saving change between).
 */
export function startOfDate(date: CivilDate, timeZone: string): number {
  const guess = Date.UTC(date.year, date.month - 1, date.day) / 1000
  let t = guess - offsetAt(guess, timeZone)
  t = guess - offsetAt(t, timeZone)
  // Where the clocks jump at midnight (00:00 does not exist), the day starts at the jump's end.
  for (let i = 0; i < 4 && civilDateOf(t, timeZone).day !== date.day; i++) t += 1800
  return t
}

export function addDays(date: CivilDate, days: number): CivilDate {
  return normalise(date.year, date.month, date.day + days)
}

/** The first day of the day, week (Monday) or month that contains `date`. */
export function firstDay(range: CalendarRange, date: CivilDate): CivilDate {
  if (range === 'day') return normalise(date.year, date.month, date.day)
  if (range === 'month') return { year: date.year, month: date.month, day: 1 }
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() // 0 = Sunday
  return addDays(date, -((weekday + 6) % 7))
}

/** The first day of the range `steps` ranges after (negative: before) the one starting at `first`. */
export function shiftRange(range: CalendarRange, first: CivilDate, steps: number): CivilDate {
  if (range === 'day') return addDays(first, steps)
  if (range === 'week') return addDays(first, 7 * steps)
  return normalise(first.year, first.month + steps, 1)
}

export interface CalendarPeriod {
  range: CalendarRange
  /** Its first day. */
  first: CivilDate
  /** Unix seconds: local midnight of the first day, and of the day after the last. */
  from: number
  to: number
}

/** The day, week or month containing `date`, in `timeZone`. */
export function periodOf(range: CalendarRange, date: CivilDate, timeZone: string): CalendarPeriod {
  const first = firstDay(range, date)
  return {
    range,
    first,
    from: startOfDate(first, timeZone),
    to: startOfDate(shiftRange(range, first, 1), timeZone),
  }
}

/**
 * Bucket starts for a chart of the period: each local hour of a day (23, 24 or 25 of them), each
 * day of a week or month. The last entry is the period's end.
 */
export function bucketEdges(period: CalendarPeriod, timeZone: string): number[] {
  const edges: number[] = []
  if (period.range === 'day') {
    for (let t = period.from; t < period.to; t += 3600) edges.push(t)
  } else {
    for (
      let d = period.first, t = period.from;
      t < period.to;
      d = addDays(d, 1), t = startOfDate(d, timeZone)
    )
      edges.push(t)
  }
  edges.push(period.to)
  return edges
}

export function formatDate(date: CivilDate): string {
  const pad = (n: number, width: number) => String(n).padStart(width, '0')
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`
}

/** Parses YYYY-MM-DD (a real date, years 1970–9999); InvalidInputError names the parameter otherwise. */
export function parseDate(text: string, name: string): CivilDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  const date = m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined
  if (!date || date.year < 1970 || formatDate(normalise(date.year, date.month, date.day)) !== text) {
    throw new InvalidInputError(
      `${name} must be a date YYYY-MM-DD between 1970-01-01 and 9999-12-31, got ${JSON.stringify(text)}`,
    )
  }
  return date
}
