/**
 * The rule engine: evaluated on every meter reading, it turns the rule set (rule-schema.ts) into
 * relay commands. All timing (hysteresis hold, minimum on/off times, schedules, override expiry)
 * comes from the injected clock, so the same readings at the same clock times always give the
 * same commands.
 */
import { EventEmitter } from 'node:events'
import { InvalidInputError } from '#protocol/errors.ts'
import type { Clock } from './clock.ts'
import {
  isChannel,
  MAX_FAN_SPEED,
  type Reading,
  type RelayCommand,
  relayIsOn,
  SAFETY_CHANNELS,
  toReading,
} from './reading.ts'
import {
  type FanStepsRule,
  minutesOfDay,
  type NightLightRule,
  type RuleSet,
  type ScheduleRule,
  type ThermostatRule,
  validateRuleSet,
} from './rule-schema.ts'

export * from './rule-schema.ts'

/** An output the engine drives: the fan speed, or a relay channel 1..8. */
export type OutputId = 'fan' | number

export interface Override {
  output: OutputId
  /** Relay on/off, or fan speed 0..3. */
  value: boolean | number
  untilMs: number
}

export interface RuleEngineEvents {
  command: [command: RelayCommand, reason: string]
  /** sendCommand threw or rejected; the engine retries after `resendAfterS`. */
  sendError: [command: RelayCommand, error: unknown]
}

export interface RuleEngine {
  /** Evaluates one reading (MeterRecord fields) and returns the commands it sent. */
  evaluate(reading: Reading | Record<string, unknown>): RelayCommand[]
  /** Replaces the rule set (validated); takes effect at the next evaluation. */
  setRules(rules: RuleSet): void
  rules(): RuleSet
  /** A manual override: holds `output` at `value` for `durationS` (default: the rule set's overrideS). */
  override(output: OutputId, value: boolean | number, durationS?: number): RelayCommand
  clearOverride(output: OutputId): void
  overrides(): Override[]
  events: EventEmitter<RuleEngineEvents>
}

export interface RuleEngineOptions {
  rules: RuleSet
  clock: Clock
  sendCommand: (command: RelayCommand) => unknown
  /** A desired state not yet reported by the meter is re-sent after this long. */
  resendAfterS?: number
  /** A schedule time missed by more than this (no readings) is skipped rather than fired late. */
  scheduleGraceS?: number
}

export class OverrideError extends InvalidInputError {
  override name = 'OverrideError'
}

interface OutputState {
  /** Last value the meter reported (from readings): speed for the fan, 0/1 for relays. */
  observed: number | undefined
  /** When the output last switched between off and on (-Infinity: not seen yet). */
  onOffChangedAt: number
  lastSent: { value: number; at: number } | undefined
}

const DAY_MS = 86_400_000

export function createRuleEngine(options: RuleEngineOptions): RuleEngine {
  const { clock, sendCommand } = options
  const resendAfterMs = (options.resendAfterS ?? 30) * 1000
  const graceMs = (options.scheduleGraceS ?? 900) * 1000
  const events = new EventEmitter<RuleEngineEvents>()
  let ruleSet = validateRuleSet(options.rules)
  const outputs = new Map<OutputId, OutputState>()
  const overrides = new Map<OutputId, Override>()
  let lastEvaluationAt: number | undefined
  let lastHazards = 0

  function state(output: OutputId): OutputState {
    let s = outputs.get(output)
    if (s === undefined) {
      s = { observed: undefined, onOffChangedAt: Number.NEGATIVE_INFINITY, lastSent: undefined }
      outputs.set(output, s)
    }
    return s
  }

  function observe(output: OutputId, value: number, now: number): void {
    const s = state(output)
    if (s.observed !== undefined && s.observed > 0 !== value > 0) {
      // A change we commanded happened when we sent it (the reading only reports it later).
      s.onOffChangedAt = s.lastSent !== undefined && s.lastSent.value > 0 === value > 0 ? s.lastSent.at : now
    }
    s.observed = value
    if (s.lastSent !== undefined && s.lastSent.value === value) s.lastSent = undefined
  }

  /** Applies minimum on/off times to a wanted value; returns the value allowed now. */
  function holdMinimums(
    output: OutputId,
    wanted: number,
    minOnS: number,
    minOffS: number,
    now: number,
  ): number {
    const s = state(output)
    const current = s.observed ?? 0
    if (current > 0 === wanted > 0) return wanted
    const since = now - s.onOffChangedAt
    if (current > 0 && since < minOnS * 1000) return current
    if (current === 0 && since < minOffS * 1000) return current
    return wanted
  }

  function toCommand(output: OutputId, value: number): RelayCommand {
    return output === 'fan'
      ? { kind: 'fanSpeed', speed: value }
      : { kind: 'power', channel: output, on: value > 0 }
  }

  function drive(output: OutputId, wanted: number, reason: string, now: number, sent: RelayCommand[]): void {
    const s = state(output)
    if (s.observed === wanted) return
    if (s.lastSent !== undefined && s.lastSent.value === wanted && now - s.lastSent.at < resendAfterMs) return
    s.lastSent = { value: wanted, at: now }
    const command = toCommand(output, wanted)
    sent.push(command)
    dispatch(command, reason)
  }

  /** Hands a command to sendCommand; a throw or rejection becomes a sendError event, never a crash. */
  function dispatch(command: RelayCommand, reason: string): void {
    events.emit('command', command, reason)
    try {
      const result = sendCommand(command)
      if (result instanceof Promise)
        result.catch((error: unknown) => events.emit('sendError', command, error))
    } catch (error) {
      events.emit('sendError', command, error)
    }
  }

  function fanTarget(rule: FanStepsRule, temp: number, now: number): number {
    const current = state('fan').observed ?? 0
    let target = 0
    for (const step of rule.steps) {
      if (temp >= step.atCenti) target = Math.max(target, step.speed)
      // Hysteresis: a speed already reached is kept until the temperature falls clearly below it.
      else if (step.speed <= current && temp >= step.atCenti - rule.hysteresisCenti)
        target = Math.max(target, step.speed)
    }
    return holdMinimums('fan', target, rule.minOnS, rule.minOffS, now)
  }

  function thermostatTarget(rule: ThermostatRule, temp: number, now: number): number {
    const on = (state(rule.relay).observed ?? 0) > 0
    const wanted = temp >= rule.onAtCenti ? 1 : temp <= rule.offAtCenti ? 0 : on ? 1 : 0
    return holdMinimums(rule.relay, wanted, rule.minOnS, rule.minOffS, now)
  }

  function localMinutes(now: number): number {
    const local = now + ruleSet.utcOffsetMinutes * 60_000
    return Math.floor((((local % DAY_MS) + DAY_MS) % DAY_MS) / 60_000)
  }

  function inWindow(window: { from: string; to: string }, now: number): boolean {
    const m = localMinutes(now)
    const from = minutesOfDay(window.from)
    const to = minutesOfDay(window.to)
    return from < to ? m >= from && m < to : m >= from || m < to
  }

  function nightLightTarget(rule: NightLightRule, light: number, now: number): number {
    const on = (state(rule.relay).observed ?? 0) > 0
    let wanted: number
    if (rule.window !== undefined && !inWindow(rule.window, now)) wanted = 0
    else wanted = light <= rule.onBelow ? 1 : light >= rule.offAbove ? 0 : on ? 1 : 0
    return holdMinimums(rule.relay, wanted, rule.minOnS, rule.minOffS, now)
  }

  /** The latest scheduled instant (UTC ms) at or before `now`, within the last day, or undefined. */
  function lastScheduledAt(rule: ScheduleRule, now: number): number | undefined {
    const offsetMs = ruleSet.utcOffsetMinutes * 60_000
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

  function activeOverride(output: OutputId, now: number): Override | undefined {
    const o = overrides.get(output)
    if (o === undefined) return undefined
    if (now >= o.untilMs) {
      overrides.delete(output)
      return undefined
    }
    return o
  }

  return {
    events,
    evaluate(input) {
      const reading = toReading(input)
      const now = clock.now()
      lastHazards = reading.hazards
      const sent: RelayCommand[] = []
      observe('fan', reading.fanSpeed, now)
      for (let channel = 1; channel <= 8; channel++)
        observe(channel, relayIsOn(reading.relays, channel) ? 1 : 0, now)
      // While the meter reports a hazard its firmware owns the safety relays: never fight it.
      const blocked = (output: OutputId) =>
        reading.hazards !== 0 && output !== 'fan' && SAFETY_CHANNELS.includes(output)
      const controlled = new Set<OutputId>()

      for (const [output, o] of overrides) {
        if (activeOverride(output, now) === undefined || blocked(output)) continue
        controlled.add(output)
        drive(output, typeof o.value === 'boolean' ? (o.value ? 1 : 0) : o.value, 'override', now, sent)
      }
      for (const rule of ruleSet.rules) {
        if (!rule.enabled) continue
        if (rule.kind === 'schedule') {
          if (controlled.has(rule.relay) || blocked(rule.relay) || lastEvaluationAt === undefined) continue
          const at = lastScheduledAt(rule, now)
          if (at !== undefined && at > lastEvaluationAt && now - at <= graceMs) {
            // A schedule is an event, not a state: it fires once; the commander reports a failure.
            state(rule.relay).lastSent = undefined
            drive(rule.relay, rule.on ? 1 : 0, `schedule ${rule.id}`, now, sent)
          }
          continue
        }
        const output: OutputId = rule.kind === 'fanSteps' ? 'fan' : rule.relay
        if (controlled.has(output) || blocked(output)) continue
        controlled.add(output)
        const target =
          rule.kind === 'fanSteps'
            ? fanTarget(rule, reading.temperatureCenti, now)
            : rule.kind === 'thermostat'
              ? thermostatTarget(rule, reading.temperatureCenti, now)
              : nightLightTarget(rule, reading.light, now)
        drive(output, target, `rule ${rule.id}`, now, sent)
      }
      lastEvaluationAt = now
      return sent
    },
    setRules(rules) {
      ruleSet = validateRuleSet(rules)
    },
    rules: () => structuredClone(ruleSet),
    override(output, value, durationS) {
      const isFan = output === 'fan'
      if (!isFan && !isChannel(output)) {
        throw new OverrideError(
          `override target ${JSON.stringify(output)} must be "fan" or a relay channel 1..8`,
        )
      }
      const valid = isFan
        ? Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_FAN_SPEED
        : typeof value === 'boolean'
      if (!valid) {
        throw new OverrideError(
          isFan
            ? 'a fan override value must be a speed 0..3'
            : 'a relay override value must be true (on) or false (off)',
        )
      }
      if (lastHazards !== 0 && !isFan && SAFETY_CHANNELS.includes(output)) {
        throw new OverrideError(
          `relay ${output} is a safety relay held by the meter while it reports a hazard: acknowledge the alarm and wait until the hazard has cleared`,
        )
      }
      const seconds = durationS ?? ruleSet.overrideS
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 7 * 86400) {
        throw new OverrideError('an override lasts between 1 second and 7 days: pass durationS in that range')
      }
      const now = clock.now()
      overrides.set(output, { output, value, untilMs: now + seconds * 1000 })
      const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value
      // The user asked explicitly: send now, even if the last reading already shows the value.
      const command = toCommand(output, numeric)
      state(output).lastSent = { value: numeric, at: now }
      dispatch(command, 'override')
      return command
    },
    clearOverride(output) {
      overrides.delete(output)
    },
    overrides() {
      const now = clock.now()
      return [...overrides.keys()].flatMap((k) => {
        const o = activeOverride(k, now)
        return o === undefined ? [] : [{ ...o }]
      })
    },
  }
}
