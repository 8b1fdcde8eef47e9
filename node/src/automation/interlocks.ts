/**
 * The safety interlocks on the node's side: the matrix of protocol/meter/interlocks.ts (the one
 * definition, which the firmware follows too) applied to what a person, a rule or a voice command
 * asks for. While a hazard is present its relays are forced or locked; after it clears, the relays
 * it forced off stay held off until the alarm is acknowledged (the meter latches them, and the
 * node restores them on acknowledgement: alarms.ts).
 */
import { ZkMeterError } from '#protocol/errors.ts'
import {
  HAZARD_GAS,
  HAZARD_NAMES,
  type HazardName,
  INTERLOCKS,
  type InterlockAction,
  interlockOf,
  NORMAL_RELAYS,
  RELAY_NAMES,
  relayBit,
} from '#protocol/meter/interlocks.ts'
import type { RelayCommand } from './reading.ts'

export {
  HAZARD_NAMES,
  type HazardName,
  INTERLOCKS,
  type InterlockAction,
  interlockMasks,
  RELAY_NAMES,
} from '#protocol/meter/interlocks.ts'

/** Switching refused outright: a hazard that makes any switching dangerous (gas) is present. */
export class InterlockRefusedError extends ZkMeterError {
  override name = 'InterlockRefusedError'
  override readonly category = 'conflict'
}

/** Overriding a relay a safety interlock holds needs an explicit confirmation (`confirm: true`). */
export class SafetyConfirmationRequiredError extends ZkMeterError {
  override name = 'SafetyConfirmationRequiredError'
  override readonly category = 'conflict'
}

/** What the interlocks rest on: the hazard bits the meter reports, and the open alarms' latches. */
export interface InterlockInputs {
  /** Hazard bits of the latest reading: the meter enforces the matrix for these. */
  hazards: number
  /**
   * Per open alarm (active or cleared, not yet acknowledged): the relays it forced off. `blip`: the
   * hazard went away before the node raised an alarm, so messages must not speak of "the alarm".
   */
  latched: readonly { hazard: HazardName; alarmId: string; mask: number; blip?: boolean }[]
}

/** Why a relay is not free now. `heldOff`: forced off by an alarm that cleared but is not acknowledged. */
export interface RelayHold {
  channel: number
  action: InterlockAction | 'heldOff'
  hazards: HazardName[]
  why: string
  /** `heldOff` only: every latch behind it is a blip (no alarm was ever raised). */
  blip?: boolean
}

const label = (hazards: readonly HazardName[]) => hazards.map((h) => INTERLOCKS[h].label).join(' and ')

/** The hold on `channel`, if any: the present hazards' matrix first, then the alarms' latches. */
export function holdOf(inputs: InterlockInputs, channel: number): RelayHold | undefined {
  const present = interlockOf(inputs.hazards, channel)
  if (present !== undefined) return { channel, ...present }
  const latched = inputs.latched.filter((l) => (l.mask & relayBit(channel)) !== 0)
  if (latched.length === 0) return undefined
  const hazards = [...new Set(latched.map((l) => l.hazard))]
  return {
    channel,
    action: 'heldOff',
    hazards,
    why: latched.every((l) => l.blip === true)
      ? `switched off by the meter's own reaction to a short ${label(hazards)} blip that raised no alarm: acknowledge it on the Safety page to switch back to the state before it`
      : `switched off by the ${label(hazards)} alarm, which has cleared: acknowledge it to switch back to the state before the alarm`,
    blip: latched.every((l) => l.blip === true),
  }
}

/** Every relay's hold (undefined: free), and whether the comfort rules are suspended. */
export function interlockStatus(
  inputs: InterlockInputs,
  activeAlarmHazards: readonly HazardName[] = [],
): { relays: (RelayHold | undefined)[]; rulesSuspended: boolean; suspendedBy: HazardName[] } {
  const present = HAZARD_NAMES.filter((h) => (inputs.hazards & INTERLOCKS[h].bit) !== 0)
  const suspendedBy = [...new Set([...present, ...activeAlarmHazards])].filter(
    (h) => INTERLOCKS[h].suspendRules,
  )
  return {
    relays: Array.from({ length: RELAY_NAMES.length }, (_, i) => holdOf(inputs, i + 1)),
    rulesSuspended: suspendedBy.length > 0,
    suspendedBy,
  }
}

/**
 * Checks a command a person (relay API, voice) asked for against the interlocks and returns the
 * commands to send: the command itself when nothing holds its relay or it asks for the held state,
 * a forced command (POWER<n> FORCEON/FORCEOFF) when a hold is overridden with `confirm`. Throws
 * InterlockRefusedError while gas is detected (any switch can spark), and
 * SafetyConfirmationRequiredError for a held relay without `confirm`.
 */
export function checkSwitch(
  command: RelayCommand,
  inputs: InterlockInputs,
  options: { confirm?: boolean } = {},
): RelayCommand[] {
  const channel = command.kind === 'power' ? command.channel : 1
  const on = command.kind === 'power' ? command.on : command.speed > 0
  const hold = holdOf(inputs, channel)
  if (hold === undefined) return [command]
  if (hold.action === 'forcedOn' ? on : hold.action !== 'locked' && !on) return [command]
  const name = RELAY_NAMES[channel - 1] as string
  const details = { channel, hold: hold.action, hazards: hold.hazards }
  if ((inputs.hazards & HAZARD_GAS) !== 0 && hold.action !== 'heldOff') {
    throw new InterlockRefusedError(
      `${name}: switching is refused while gas is detected, because a switch makes a spark that can ignite LPG (only the cut-off switches the sockets off). Open the windows and leave; call the gas emergency number. Switching works again when the gas has cleared.`,
      { details },
    )
  }
  if (options.confirm !== true) {
    throw new SafetyConfirmationRequiredError(
      hold.action === 'heldOff'
        ? hold.blip === true
          ? `${name} is held off after a short ${label(hold.hazards)} blip that raised no alarm (the meter's own safety reaction switched it off): acknowledge the blip on the Safety page to restore it, or repeat the request with "confirm": true to switch it now`
          : `${name} is held off after the ${label(hold.hazards)} alarm, which has cleared but is not acknowledged: acknowledge the alarm to restore it, or repeat the request with "confirm": true to switch it now`
        : `${name} is held ${hold.action === 'forcedOn' ? 'on' : 'off'} by the ${label(hold.hazards)} alarm (${hold.why}): overriding a safety relay during an alarm needs an explicit confirmation, repeat the request with "confirm": true`,
      { details },
    )
  }
  // The hazard is gone at the meter: a plain command switches the latched relay back.
  if (hold.action === 'heldOff') return [command]
  const forced: RelayCommand = { kind: 'power', channel, on, force: true }
  return command.kind === 'power' ? [forced] : [forced, command]
}

/** The part of an alarm its holds depend on (alarms.ts Alarm fits). */
interface AlarmLike {
  hazard: HazardName
  active: boolean
  closedAt?: number
  expected: readonly { channel: number; on: boolean }[]
  before?: { relays: number; fanSpeed: number }
  restored?: readonly RelayCommand[]
  blip?: { durationMs: number; count: number }
}

/** "a 2 s gas (LPG) blip" (several: "3 gas (LPG) blips, the last 2 s"), for the reasons below. */
export function blipWords(hazard: HazardName, blip: { durationMs: number; count: number }): string {
  const seconds = `${Math.max(1, Math.round(blip.durationMs / 1000))} s`
  const label = INTERLOCKS[hazard].label
  return blip.count === 1 ? `a ${seconds} ${label} blip` : `${blip.count} ${label} blips, the last ${seconds}`
}

/**
 * What an alarm holds now, for the UI: while active its hazard's whole interlock; once cleared
 * (not acknowledged) the relays it forced off, which the meter keeps off; once closed nothing.
 * `restores`: what acknowledging it (once cleared) switches back, or switched back when it closed.
 */
export function alarmHolds(alarm: AlarmLike): {
  holds: { channel: number; name: string; state: 'on' | 'off' | 'locked'; why: string }[]
  restores: { channel: number; name: string; on: boolean }[]
} {
  const name = (channel: number) => RELAY_NAMES[channel - 1] as string
  const relays = alarm.closedAt !== undefined ? [] : INTERLOCKS[alarm.hazard].relays
  const holds = relays
    .filter((r) => alarm.active || r.action === 'forcedOff')
    .map((r) => ({
      channel: r.channel,
      name: name(r.channel),
      state:
        r.action === 'forcedOn'
          ? ('on' as const)
          : r.action === 'forcedOff'
            ? ('off' as const)
            : ('locked' as const),
      why: alarm.active
        ? r.why
        : alarm.blip !== undefined
          ? `the meter's own safety reaction to ${blipWords(alarm.hazard, alarm.blip)} switched it off, too short for the node to raise an alarm; it stays off until you acknowledge it`
          : 'the meter keeps it off after the alarm, until you acknowledge it',
    }))
  if (alarm.closedAt !== undefined) {
    const restores = (alarm.restored ?? []).map((c) =>
      c.kind === 'power'
        ? { channel: c.channel, name: name(c.channel), on: c.on }
        : { channel: 1, name: name(1), on: c.speed > 0 },
    )
    return { holds, restores }
  }
  // The relays it forced off that were on before: the meter latches them, acknowledging switches
  // them back. (Forced-on ones, sprinkler and buzzer, stop by themselves when the hazard clears.)
  const before = alarm.before?.relays ?? NORMAL_RELAYS
  const restores = alarm.expected
    .filter((e) => !e.on && (before & relayBit(e.channel)) !== 0)
    .map((e) => ({ channel: e.channel, name: name(e.channel), on: true }))
  return { holds, restores }
}
