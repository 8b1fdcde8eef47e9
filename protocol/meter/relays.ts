/**
 * The relay board of docs/protocol.md §8: outputs are what was asked for, overridden by the local
 * safety reactions to the debounced hazards (the interlock matrix of interlocks.ts). A line-by-line
 * twin of the firmware's RelayController (firmware/core/src/zkm_relays.cpp) so the simulator reacts
 * exactly as a meter.
 */
import { HAZARD_FLAME, HAZARD_GAS, HAZARD_WATER, interlockMasks, relayBit } from './interlocks.ts'

export const RELAY_FAN = 1
export const RELAY_AC = 2
export const RELAY_LIGHTS = 3
export const RELAY_NIGHT_LIGHT = 4
export const RELAY_VENT = 5
export const RELAY_SPRINKLER = 6
export const RELAY_BUZZER = 7
export const RELAY_CIRCUITS = 8
export const RELAY_COUNT = 8

export { HAZARD_FLAME, HAZARD_GAS, HAZARD_WATER, relayBit } from './interlocks.ts'

/** forceOn / forceOff: a person's confirmed override of an interlock (FORCEON / FORCEOFF). */
export type RelayAction = 'on' | 'off' | 'toggle' | 'forceOn' | 'forceOff'

export interface RelayController {
  /**
   * A POWER<n> command; false when an interlock of the hazards present refuses it (interlocks.ts):
   * a forced relay the other way without force, a locked relay, or any force while gas is detected.
   */
  command(n: number, action: RelayAction): boolean
  /** FanSpeed 0..3; relay 1 follows (0 = off). False for a speed out of range or refused by an interlock. */
  setFanSpeed(speed: number): boolean
  /** Applies the debounced hazard bits; returns the relay outputs. */
  apply(hazards: number): number
  outputs(): number
  requested(): number
  fanSpeed(): number
}

export interface RelaySnapshot {
  requested: number
  fanSpeed: number
  /** Relays a person overrode with FORCEON / FORCEOFF while the current hazards last. */
  overridden?: number
  /** State files written before the interlock matrix: the sockets latched off after gas or water. */
  circuitsLatched?: boolean
  hazards: number
}

/** Appliance circuits are normally on; everything else starts off (as the firmware). */
export function createRelayController(
  initial: RelaySnapshot = { requested: relayBit(RELAY_CIRCUITS), fanSpeed: 0, hazards: 0 },
): RelayController & { snapshot(): RelaySnapshot } {
  let requested = initial.requested & 0xff
  if (initial.circuitsLatched === true) requested &= ~relayBit(RELAY_CIRCUITS) & 0xff
  let fanSpeed = initial.fanSpeed
  let overridden = (initial.overridden ?? 0) & 0xff
  let hazards = initial.hazards & 7

  const compute = (): number => {
    const m = interlockMasks(hazards)
    return (requested | (m.forcedOn & ~overridden)) & ~(m.forcedOff & ~overridden) & 0xff
  }

  /** Whether the interlocks let a command set relay `bit` to `on` (and record a forced one). */
  const allowed = (bit: number, on: boolean, force: boolean): boolean => {
    const m = interlockMasks(hazards)
    if (((m.forcedOn | m.forcedOff | m.locked) & bit & ~overridden) === 0) return true
    if (force) {
      // Any switching can ignite gas: no override while it is detected.
      if (hazards & HAZARD_GAS) return false
      overridden |= bit
      return true
    }
    // The state the interlock already holds (the cut-off switching off) is accepted.
    return on ? (m.forcedOn & bit) !== 0 : (m.forcedOff & bit) !== 0
  }

  return {
    command(n, action) {
      if (!Number.isInteger(n) || n < 1 || n > RELAY_COUNT) return false
      const bit = relayBit(n)
      const on = action === 'toggle' ? (compute() & bit) === 0 : action === 'on' || action === 'forceOn'
      if (!allowed(bit, on, action === 'forceOn' || action === 'forceOff')) return false
      requested = on ? requested | bit : requested & ~bit & 0xff
      if (n === RELAY_FAN) fanSpeed = on ? (fanSpeed === 0 ? 1 : fanSpeed) : 0
      return true
    },
    setFanSpeed(speed) {
      if (!Number.isInteger(speed) || speed < 0 || speed > 3) return false
      if (!allowed(relayBit(RELAY_FAN), speed > 0, false)) return false
      fanSpeed = speed
      requested = speed ? requested | relayBit(RELAY_FAN) : requested & ~relayBit(RELAY_FAN) & 0xff
      return true
    },
    apply(bits) {
      const next = bits & 7
      // A new hazard (or none left) re-arms every interlock: an override lasts one episode.
      if (next & ~hazards || next === 0) overridden = 0
      hazards = next
      // A relay forced off is switched off for good: it must not come back by itself when the
      // hazard clears (sockets next to a leak, a fan after a fire); the node restores it once a
      // person has acknowledged the alarm.
      const off = interlockMasks(hazards).forcedOff & ~overridden
      requested &= ~off & 0xff
      if (off & relayBit(RELAY_FAN)) fanSpeed = 0
      return compute()
    },
    outputs: compute,
    requested: () => requested,
    fanSpeed: () => fanSpeed,
    snapshot: () => ({ requested, fanSpeed, overridden, hazards }),
  }
}

/**
 * Hazard detection with the firmware's hysteresis (zkm_alarm.cpp defaults): gas switches on at 400
 * permille and off at 300, water at 500 / 350; between the thresholds the state holds. The
 * firmware's 20–300 ms debounce is not modelled: injected stimuli are clean steps.
 */
export interface AlarmLevels {
  flame: boolean
  gas: number
  water: number
}

export function createAlarms(initial = 0): { update(levels: AlarmLevels): number; hazards(): number } {
  let bits = initial & 7
  const level = (active: boolean, value: number, on: number, off: number) =>
    active ? value > off : value >= on
  return {
    update({ flame, gas, water }) {
      bits =
        (flame ? HAZARD_FLAME : 0) |
        (level((bits & HAZARD_GAS) !== 0, gas, 400, 300) ? HAZARD_GAS : 0) |
        (level((bits & HAZARD_WATER) !== 0, water, 500, 350) ? HAZARD_WATER : 0)
      return bits
    },
    hazards: () => bits,
  }
}
