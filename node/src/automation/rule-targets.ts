/**
 * What each kind of rule wants an output to be now: fan steps and thermostat with hysteresis, the
 * night light in its window, the last scheduled instant. Pure functions of the rule, the reading,
 * the time and what the output tracker knows.
 */
import type { OutputTracker } from './output-tracker.ts'
import {
  type FanStepsRule,
  minutesOfDay,
  type NightLightRule,
  type ScheduleRule,
  type ThermostatRule,
} from './rule-schema.ts'

const DAY_MS = 86_400_000

export function fanTarget(tracker: OutputTracker, rule: FanStepsRule, temp: number, now: number): number {
  const current = tracker.state('fan').observed ?? 0
  let target = 0
  for (const step of rule.steps) {
    if (temp >= step.atCenti) target = Math.max(target, step.speed)
    // Hysteresis: a speed already reached is kept until the temperature falls clearly below it.
    else if (step.speed <= current && temp >= step.atCenti - rule.hysteresisCenti)
      target = Math.max(target, step.speed)
  }
  return tracker.holdMinimums('fan', target, rule.minOnS, rule.minOffS, now)
}

export function thermostatTarget(
  tracker: OutputTracker,
  rule: ThermostatRule,
  temp: number,
  now: number,
): number {
  const on = (tracker.state(rule.relay).observed ?? 0) > 0
  const wanted = temp >= rule.onAtCenti ? 1 : temp <= rule.offAtCenti ? 0 : on ? 1 : 0
  return tracker.holdMinimums(rule.relay, wanted, rule.minOnS, rule.minOffS, now)
}

function localMinutes(now: number, utcOffsetMinutes: number): number {
  const local = now + utcOffsetMinutes * 60_000
  return Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / 60_000)
}

function inWindow(window: { from: string; to: string }, now: number, utcOffsetMinutes: number): boolean {
  const m = localMinutes(now, utcOffsetMinutes)
  const from = minutesOfDay(window.from)
  const to = minutesOfDay(window.to)
  return from < to ? m >= from && m < to : m >= from || m < to
}

export function nightLightTarget(
  tracker: OutputTracker,
  rule: NightLightRule,
  light: number,
  now: number,
  utcOffsetMinutes: number,
): number {
  const on = (tracker.state(rule.relay).observed ?? 0) > 0
  let wanted: number
  if (rule.window !== undefined && !inWindow(rule.window, now, utcOffsetMinutes)) wanted = 0
  else wanted = light <= rule.onBelow ? 1 : light >= rule.offAbove ? 0 : on ? 1 : 0
  return tracker.holdMinimums(rule.relay, wanted, rule.minOnS, rule.minOffS, now)
}

/** The latest scheduled instant (UTC ms) at or before `now`, within the last day, or undefined. */
export function lastScheduledAt(
  rule: ScheduleRule,
  now: number,
  utcOffsetMinutes: number,
): number | undefined {
  const offsetMs = utcOffsetMinutes * 60_000
  const local = now + offsetMs
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS
  for (const start of [dayStart, dayStart - DAY_MS]) {
    const at = start + minutesOfDay(rule.at) * 60_000
    // 1970-01-01 was a Thursday (weekday 4).
    const weekday = (((Math.floor(start / DAY_MS) + 4) % 7) + 7) % 7
    if (at <= local && rule.days.includes(weekday)) return at - offsetMs
  }
  return undefined
}
