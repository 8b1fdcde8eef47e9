/**
 * The rule engine: evaluated on every meter reading, it turns the rule set (rule-schema.ts) into
 * relay commands. All timing (hysteresis hold, minimum on/off times, schedules, override expiry)
 * comes from the injected clock, so the same readings at the same clock times always give the
 * same commands.
 */
import { EventEmitter } from 'node:events'
import { INTERLOCKS, interlockMasks, relayBit } from '#protocol/meter/interlocks.ts'
import type { Clock } from './clock.ts'
import { createOutputTracker, type OutputId, type RuleEngineEvents, toCommand } from './output-tracker.ts'
import { checkOverride, createOverrides, type Override } from './overrides.ts'
import { HAZARDS, type Reading, type RelayCommand, relayIsOn, toReading } from './reading.ts'
import { type RuleSet, validateRuleSet } from './rule-schema.ts'
import { fanTarget, lastScheduledAt, nightLightTarget, thermostatTarget } from './rule-targets.ts'

export type { OutputId, RuleEngineEvents } from './output-tracker.ts'
export { type Override, OverrideError } from './overrides.ts'
export * from './rule-schema.ts'

export interface RuleEngine {
  /** Evaluates one reading (MeterRecord fields) and returns the commands it sent. */
  evaluate(reading: Reading | Record<string, unknown>): RelayCommand[]
  /** Replaces the rule set (validated); takes effect at the next evaluation. */
  setRules(rules: RuleSet): void
  rules(): RuleSet
  /** A manual override: holds `output` at `value` for `durationS` (default: the rule set's overrideS). */
  override(output: OutputId, value: boolean | number, durationS?: number): RelayCommand
  /**
   * A setting the resident made by hand (already sent and confirmed): rules leave `output` alone
   * for the rule set's overrideS. Undefined for a safety relay while the meter reports a hazard
   * (its firmware holds those; no hold is taken).
   */
  hold(output: OutputId, value: boolean | number): Override | undefined
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
  /**
   * What the open alarms hold besides the hazards of the reading (alarms.ts): the relays (bits)
   * they forced off, kept off until acknowledged, and whether an active one suspends the rules.
   */
  holds?: () => { latched: number; suspendRules: boolean }
}

/** The relay an output switches: the fan's supply is relay 1. */
const channelOf = (output: OutputId): number => (output === 'fan' ? 1 : output)

/** Wires the output tracker, the rule targets and the overrides (docs/automation.md's table). */
export function createRuleEngine(options: RuleEngineOptions): RuleEngine {
  const { clock, sendCommand } = options
  const graceMs = (options.scheduleGraceS ?? 900) * 1000
  const events = new EventEmitter<RuleEngineEvents>()
  const tracker = createOutputTracker({
    events,
    sendCommand,
    resendAfterMs: (options.resendAfterS ?? 30) * 1000,
  })
  const overrides = createOverrides()
  let ruleSet = validateRuleSet(options.rules)
  let lastEvaluationAt: number | undefined
  let lastHazards = 0

  /**
   * The interlocks now (protocol/meter/interlocks.ts): the outputs they hold (never driven by a rule,
   * schedule or override: the meter owns them) and whether the comfort rules are suspended.
   */
  function interlocks(hazards: number) {
    const masks = interlockMasks(hazards)
    const holds = options.holds?.() ?? { latched: 0, suspendRules: false }
    const heldMask = masks.forcedOn | masks.forcedOff | masks.locked | holds.latched
    return {
      suspended: masks.suspendRules || holds.suspendRules,
      held: (output: OutputId): string | undefined => {
        const bit = relayBit(channelOf(output))
        if ((heldMask & bit) === 0) return undefined
        const by = HAZARDS.filter((h) => (hazards & INTERLOCKS[h].bit) !== 0).map((h) => INTERLOCKS[h].label)
        return by.length > 0 ? `${by.join(' and ')} detected` : 'held off by an alarm not yet acknowledged'
      },
    }
  }

  return {
    events,
    evaluate(input) {
      const reading = toReading(input)
      const now = clock.now()
      lastHazards = reading.hazards
      const sent: RelayCommand[] = []
      tracker.observe('fan', reading.fanSpeed, now)
      for (let channel = 1; channel <= 8; channel++)
        tracker.observe(channel, relayIsOn(reading.relays, channel) ? 1 : 0, now)
      // The interlocks own the relays they hold (the meter enforces them: never fight it), and a
      // fire or gas suspends every comfort rule: a fan switched on at 39.9 °C feeds a fire.
      const safety = interlocks(reading.hazards)
      const blocked = (output: OutputId) => safety.held(output) !== undefined
      const controlled = new Set<OutputId>()
      const offset = ruleSet.utcOffsetMinutes

      for (const [output, o] of overrides.entries()) {
        if (overrides.active(output, now) === undefined || blocked(output)) continue
        controlled.add(output)
        tracker.drive(
          output,
          typeof o.value === 'boolean' ? (o.value ? 1 : 0) : o.value,
          'override',
          now,
          sent,
        )
      }
      for (const rule of ruleSet.rules) {
        if (!rule.enabled) continue
        if (safety.suspended) break
        if (rule.kind === 'schedule') {
          if (controlled.has(rule.relay) || blocked(rule.relay) || lastEvaluationAt === undefined) continue
          const at = lastScheduledAt(rule, now, offset)
          if (at !== undefined && at > lastEvaluationAt && now - at <= graceMs) {
            // A schedule is an event, not a state: it fires once; the commander reports a failure.
            tracker.state(rule.relay).lastSent = undefined
            tracker.drive(rule.relay, rule.on ? 1 : 0, `schedule ${rule.id}`, now, sent)
          }
          continue
        }
        const output: OutputId = rule.kind === 'fanSteps' ? 'fan' : rule.relay
        if (controlled.has(output) || blocked(output)) continue
        controlled.add(output)
        const target =
          rule.kind === 'fanSteps'
            ? fanTarget(tracker, rule, reading.temperatureCenti, now)
            : rule.kind === 'thermostat'
              ? thermostatTarget(tracker, rule, reading.temperatureCenti, now)
              : nightLightTarget(tracker, rule, reading.light, now, offset)
        tracker.drive(output, target, `rule ${rule.id}`, now, sent)
      }
      lastEvaluationAt = now
      return sent
    },
    setRules(rules) {
      ruleSet = validateRuleSet(rules)
    },
    rules: () => structuredClone(ruleSet),
    override(output, value, durationS) {
      const seconds = checkOverride(output, value, durationS, {
        overrideS: ruleSet.overrideS,
        held: interlocks(lastHazards).held,
      })
      const now = clock.now()
      overrides.set({ output, value, untilMs: now + seconds * 1000 })
      const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value
      // The user asked explicitly: send now, even if the last reading already shows the value.
      const command = toCommand(output, numeric)
      tracker.state(output).lastSent = { value: numeric, at: now }
      tracker.dispatch(command, 'override')
      return command
    },
    hold(output, value) {
      // A relay a hazard's interlock holds is not the resident's to hold against the rules.
      const interlocked = interlocks(lastHazards).held
      if (interlocked(output) !== undefined) return undefined
      const seconds = checkOverride(output, value, undefined, {
        overrideS: ruleSet.overrideS,
        held: interlocked,
      })
      const now = clock.now()
      const held = { output, value, untilMs: now + seconds * 1000 }
      overrides.set(held)
      tracker.state(output).lastSent = {
        value: typeof value === 'boolean' ? (value ? 1 : 0) : value,
        at: now,
      }
      return { ...held }
    },
    clearOverride(output) {
      overrides.clear(output)
    },
    overrides: () => overrides.list(clock.now()),
  }
}
