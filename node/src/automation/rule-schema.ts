/**
 * Rules are data: a versioned JSON document a resident edits through the API. This module defines
 * the document and validates it: every error names the offending field in words ("Rule 1, step 2,
 * temperature: …", rule-messages.ts) and carries its path in `details.path` for a client that
 * points at the field.
 */

import type {
  FanStepsRule,
  NightLightRule,
  Rule,
  RuleKind,
  RuleSet,
  ScheduleRule,
  ThermostatRule,
  TimeOfDay,
} from '#protocol/api/types.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { isChannel, MAX_FAN_SPEED, RELAY, RELAY_COUNT } from './reading.ts'
import { describePath, rangeText } from './rule-messages.ts'

export const RULE_FORMAT_VERSION: RuleSet['version'] = 1

// The rule document is part of the API (GET/PUT /api/rules): its types live in api/types.ts,
// shared with the UI; this module validates it.
export type { FanStepsRule, NightLightRule, Rule, RuleKind, RuleSet, ScheduleRule, ThermostatRule, TimeOfDay }

export class RuleValidationError extends InvalidInputError {
  override name = 'RuleValidationError'
}

/** Two rules would drive the same output: each relay (and the fan) has at most one owner. */
export class RuleConflictError extends RuleValidationError {
  override name = 'RuleConflictError'
}

export const DEFAULT_RULE_SET: RuleSet = {
  version: RULE_FORMAT_VERSION,
  revision: 0,
  utcOffsetMinutes: 0,
  overrideS: 3600,
  rules: [
    {
      id: 'ceiling-fan',
      kind: 'fanSteps',
      enabled: true,
      steps: [
        { atCenti: 2600, speed: 1 },
        { atCenti: 2800, speed: 2 },
        { atCenti: 3000, speed: 3 },
      ],
      hysteresisCenti: 50,
      minOnS: 60,
      minOffS: 60,
    },
    {
      id: 'air-conditioner',
      kind: 'thermostat',
      enabled: true,
      relay: RELAY.airConditioner,
      onAtCenti: 3100,
      offAtCenti: 2800,
      // Compressors must not short-cycle: a few minutes on and off are the usual minimum.
      minOnS: 300,
      minOffS: 180,
    },
    {
      id: 'night-light',
      kind: 'nightLight',
      enabled: true,
      relay: RELAY.nightLight,
      onBelow: 50,
      offAbove: 120,
      window: { from: '18:00', to: '07:00' },
      minOnS: 60,
      minOffS: 60,
    },
  ],
}

const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/
const MAX_DURATION_S = 7 * 86400
const TEMP_RANGE = [-5000, 10000] as const

type Obj = Record<string, unknown>

function fail(path: string, message: string, value?: unknown): never {
  throw new RuleValidationError(`${describePath(path)}: ${message}`, { details: { path, value } })
}

function object(value: unknown, path: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(path, 'must be a JSON object', value)
  return value as Obj
}

function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key))
      fail(`${path}.${key}`, `unknown field; allowed fields are ${allowed.join(', ')}`)
  }
}

function int(o: Obj, key: string, path: string, min: number, max: number, fallback?: number): number {
  // Only a missing field takes the default: an empty one (null, "") is a mistake, not 0 °C.
  if (o[key] === null || o[key] === '') fail(`${path}.${key}`, 'is empty: enter a number', o[key])
  const value = o[key] === undefined ? fallback : o[key]
  if (value === undefined) fail(`${path}.${key}`, 'is missing: enter a number', value)
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${path}.${key}`, rangeText(key, min, max), value)
  }
  return value
}

function bool(o: Obj, key: string, path: string, fallback?: boolean): boolean {
  const value = o[key] ?? fallback
  if (typeof value !== 'boolean') fail(`${path}.${key}`, 'must be true or false', value)
  return value
}

function channel(o: Obj, path: string): number {
  if (!isChannel(o.relay)) fail(`${path}.relay`, `must be a relay channel 1 to ${RELAY_COUNT}`, o.relay)
  return o.relay
}

function timeOfDay(value: unknown, path: string): TimeOfDay {
  if (typeof value !== 'string' || !TIME.test(value))
    fail(path, 'must be a local time "HH:MM" (00:00 to 23:59)', value)
  return value
}

export function minutesOfDay(time: TimeOfDay): number {
  const match = TIME.exec(time)
  if (!match) throw new RuleValidationError(`"${time}" is not a time of day "HH:MM"`)
  return Number(match[1]) * 60 + Number(match[2])
}

const COMMON = ['id', 'kind', 'enabled'] as const

export function validateRule(input: unknown, path = 'rule'): Rule {
  const o = object(input, path)
  if (typeof o.id !== 'string' || !ID.test(o.id)) {
    fail(
      `${path}.id`,
      'must be 1–64 characters of a-z, 0-9, "-" or "_", starting with a letter or digit',
      o.id,
    )
  }
  const id = o.id
  const enabled = bool(o, 'enabled', path, true)
  switch (o.kind) {
    case 'fanSteps': {
      onlyKeys(o, [...COMMON, 'steps', 'hysteresisCenti', 'minOnS', 'minOffS'], path)
      if (!Array.isArray(o.steps) || o.steps.length < 1 || o.steps.length > MAX_FAN_SPEED) {
        fail(`${path}.steps`, `must be a list of 1 to ${MAX_FAN_SPEED} steps {atCenti, speed}`, o.steps)
      }
      const steps = o.steps.map((raw, i) => {
        const p = `${path}.steps[${i}]`
        const s = object(raw, p)
        onlyKeys(s, ['atCenti', 'speed'], p)
        return {
          atCenti: int(s, 'atCenti', p, TEMP_RANGE[0], TEMP_RANGE[1]),
          speed: int(s, 'speed', p, 1, MAX_FAN_SPEED),
        }
      })
      for (let i = 1; i < steps.length; i++) {
        const [prev, cur] = [steps[i - 1]!, steps[i]!]
        if (cur.atCenti <= prev.atCenti || cur.speed <= prev.speed) {
          fail(
            `${path}.steps[${i}]`,
            `must start at a higher temperature and a higher speed than step ${i}`,
            steps[i],
          )
        }
      }
      const hysteresisCenti = int(o, 'hysteresisCenti', path, 0, 1000, 50)
      return {
        id,
        kind: 'fanSteps',
        enabled,
        steps,
        hysteresisCenti,
        minOnS: int(o, 'minOnS', path, 0, MAX_DURATION_S, 0),
        minOffS: int(o, 'minOffS', path, 0, MAX_DURATION_S, 0),
      }
    }
    case 'thermostat': {
      onlyKeys(o, [...COMMON, 'relay', 'onAtCenti', 'offAtCenti', 'minOnS', 'minOffS'], path)
      const relay = channel(o, path)
      const onAtCenti = int(o, 'onAtCenti', path, TEMP_RANGE[0], TEMP_RANGE[1])
      const offAtCenti = int(o, 'offAtCenti', path, TEMP_RANGE[0], TEMP_RANGE[1])
      if (offAtCenti >= onAtCenti) {
        fail(
          `${path}.offAtCenti`,
          'must be below the switch-on temperature (the gap keeps it from switching back and forth)',
          offAtCenti,
        )
      }
      return {
        id,
        kind: 'thermostat',
        enabled,
        relay,
        onAtCenti,
        offAtCenti,
        minOnS: int(o, 'minOnS', path, 0, MAX_DURATION_S, 0),
        minOffS: int(o, 'minOffS', path, 0, MAX_DURATION_S, 0),
      }
    }
    case 'nightLight': {
      onlyKeys(o, [...COMMON, 'relay', 'onBelow', 'offAbove', 'window', 'minOnS', 'minOffS'], path)
      const relay = channel(o, path)
      const onBelow = int(o, 'onBelow', path, 0, 1000)
      const offAbove = int(o, 'offAbove', path, 0, 1000)
      if (offAbove <= onBelow)
        fail(
          `${path}.offAbove`,
          'must be above the switch-on light level (the gap keeps it from switching back and forth)',
          offAbove,
        )
      const rule: NightLightRule = {
        id,
        kind: 'nightLight',
        enabled,
        relay,
        onBelow,
        offAbove,
        minOnS: int(o, 'minOnS', path, 0, MAX_DURATION_S, 0),
        minOffS: int(o, 'minOffS', path, 0, MAX_DURATION_S, 0),
      }
      if (o.window !== undefined) {
        const w = object(o.window, `${path}.window`)
        onlyKeys(w, ['from', 'to'], `${path}.window`)
        const from = timeOfDay(w.from, `${path}.window.from`)
        const to = timeOfDay(w.to, `${path}.window.to`)
        if (from === to)
          fail(`${path}.window`, 'start and end must differ (leave both empty for "any time")', w)
        rule.window = { from, to }
      }
      return rule
    }
    case 'schedule': {
      onlyKeys(o, [...COMMON, 'relay', 'on', 'at', 'days'], path)
      const days = o.days ?? [0, 1, 2, 3, 4, 5, 6]
      if (!Array.isArray(days) || days.length < 1 || days.length > 7) {
        fail(`${path}.days`, 'must be a list of weekdays 0 (Sunday) to 6 (Saturday)', days)
      }
      const seen = new Set<number>()
      for (const [i, d] of days.entries()) {
        if (!Number.isInteger(d) || d < 0 || d > 6 || seen.has(d)) {
          fail(`${path}.days[${i}]`, 'must be a distinct weekday 0 (Sunday) to 6 (Saturday)', d)
        }
        seen.add(d)
      }
      return {
        id,
        kind: 'schedule',
        enabled,
        relay: channel(o, path),
        on: bool(o, 'on', path),
        at: timeOfDay(o.at, `${path}.at`),
        days: [...seen].sort((a, b) => a - b),
      }
    }
    default:
      return fail(`${path}.kind`, 'must be one of fanSteps, thermostat, nightLight, schedule', o.kind)
  }
}

/** The output a continuous rule owns: 'fan' or a relay channel. Schedules own nothing. */
export function ruleOutput(rule: Rule): 'fan' | number | undefined {
  if (rule.kind === 'fanSteps') return 'fan'
  if (rule.kind === 'schedule') return undefined
  // POWER1 is the ceiling fan's supply (protocol §8): it belongs to whoever drives the fan speed.
  return rule.relay === RELAY.fan ? 'fan' : rule.relay
}

export function validateRuleSet(input: unknown): RuleSet {
  const o = object(input, 'ruleSet')
  onlyKeys(o, ['version', 'revision', 'utcOffsetMinutes', 'overrideS', 'rules'], 'ruleSet')
  if (o.version !== RULE_FORMAT_VERSION) {
    fail(
      'ruleSet.version',
      `must be ${RULE_FORMAT_VERSION} (the only rule format this node understands)`,
      o.version,
    )
  }
  if (!Array.isArray(o.rules) || o.rules.length > 256)
    fail('ruleSet.rules', 'must be a list of at most 256 rules', o.rules)
  const rules = o.rules.map((r, i) => validateRule(r, `ruleSet.rules[${i}]`))
  checkConflicts(rules)
  return {
    version: RULE_FORMAT_VERSION,
    revision: int(o, 'revision', 'ruleSet', 0, Number.MAX_SAFE_INTEGER, 0),
    utcOffsetMinutes: int(o, 'utcOffsetMinutes', 'ruleSet', -12 * 60, 14 * 60, 0),
    overrideS: int(o, 'overrideS', 'ruleSet', 1, MAX_DURATION_S, 3600),
    rules,
  }
}

export function checkConflicts(rules: readonly Rule[]): void {
  const ids = new Set<string>()
  const owners = new Map<'fan' | number, string>()
  for (const rule of rules) {
    if (ids.has(rule.id))
      throw new RuleConflictError(`two rules have the id "${rule.id}": ids must be unique`)
    ids.add(rule.id)
    const output = ruleOutput(rule)
    if (output === undefined || !rule.enabled) continue
    const owner = owners.get(output)
    if (owner !== undefined) {
      const what = output === 'fan' ? 'the ceiling fan speed' : `relay ${output}`
      throw new RuleConflictError(
        `rules "${owner}" and "${rule.id}" both control ${what}: disable or delete one of them`,
        { details: { rules: [owner, rule.id], output } },
      )
    }
    owners.set(output, rule.id)
  }
}
