/** Manual overrides: their validation (target, value, safety relays during a hazard, duration) and expiry. */
import { InvalidInputError } from '#protocol/errors.ts'
import type { OutputId } from './output-tracker.ts'
import { isChannel, MAX_FAN_SPEED } from './reading.ts'

export interface Override {
  output: OutputId
  /** Relay on/off, or fan speed 0..3. */
  value: boolean | number
  untilMs: number
}

export class OverrideError extends InvalidInputError {
  override name = 'OverrideError'
}

/**
 * Checks an override request; returns how long it lasts in seconds. `held` names why a safety
 * interlock holds the output now (interlocks.ts), if one does: a rule-style override is refused
 * then (a person's confirmed override goes through the relay API instead).
 */
export function checkOverride(
  output: OutputId,
  value: boolean | number,
  durationS: number | undefined,
  defaults: { overrideS: number; held: (output: OutputId) => string | undefined },
): number {
  const isFan = output === 'fan'
  if (!isFan && !isChannel(output)) {
    throw new OverrideError(`override target ${JSON.stringify(output)} must be "fan" or a relay channel 1..8`)
  }
  const valid = isFan
    ? typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_FAN_SPEED
    : typeof value === 'boolean'
  if (!valid) {
    throw new OverrideError(
      isFan
        ? 'a fan override value must be a speed 0..3'
        : 'a relay override value must be true (on) or false (off)',
    )
  }
  const held = defaults.held(output)
  if (held !== undefined) {
    throw new OverrideError(
      `${isFan ? 'the fan' : `relay ${output}`} is held by a safety interlock (${held}): acknowledge the alarm and wait until the hazard has cleared`,
    )
  }
  const seconds = durationS ?? defaults.overrideS
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 7 * 86400) {
    throw new OverrideError('an override lasts between 1 second and 7 days: pass durationS in that range')
  }
  return seconds
}

/** The overrides in force; an expired one is dropped when it is next looked at. */
export function createOverrides() {
  const overrides = new Map<OutputId, Override>()
  function active(output: OutputId, now: number): Override | undefined {
    const o = overrides.get(output)
    if (o === undefined) return undefined
    if (now >= o.untilMs) {
      overrides.delete(output)
      return undefined
    }
    return o
  }
  return {
    active,
    entries: () => overrides.entries(),
    set: (override: Override) => overrides.set(override.output, override),
    clear: (output: OutputId) => overrides.delete(output),
    list(now: number): Override[] {
      return [...overrides.keys()].flatMap((k) => {
        const o = active(k, now)
        return o === undefined ? [] : [{ ...o }]
      })
    },
  }
}
