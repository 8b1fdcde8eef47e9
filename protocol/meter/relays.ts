/**
 * The relay board of docs/protocol.md §8: outputs are what was asked for, overridden by the local
 * safety reactions to the debounced hazards. A line-by-line twin of the firmware's
 * RelayController (firmware/core/src/zkm_relays.cpp) so the simulator reacts exactly as a meter.
 */
export const RELAY_FAN = 1
export const RELAY_AC = 2
export const RELAY_LIGHTS = 3
export const RELAY_NIGHT_LIGHT = 4
export const RELAY_VENT = 5
export const RELAY_SPRINKLER = 6
export const RELAY_BUZZER = 7
export const RELAY_CIRCUITS = 8
export const RELAY_COUNT = 8

export const HAZARD_FLAME = 1
export const HAZARD_GAS = 2
export const HAZARD_WATER = 4

export const relayBit = (n: number): number => 1 << (n - 1)

export type RelayAction = 'on' | 'off' | 'toggle'

export interface RelayController {
  /** A POWER<n> command; false when refused (appliance circuits back on while gas/water persists). */
  command(n: number, action: RelayAction): boolean
  /** FanSpeed 0..3; relay 1 follows (0 = off). False for a speed out of range. */
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
  circuitsLatched: boolean
  hazards: number
}

/** Appliance circuits are normally on; everything else starts off (as the firmware). */
export function createRelayController(
  initial: RelaySnapshot = {
    requested: relayBit(RELAY_CIRCUITS),
    fanSpeed: 0,
    circuitsLatched: false,
    hazards: 0,
  },
): RelayController & { snapshot(): RelaySnapshot } {
  let requested = initial.requested & 0xff
  let fanSpeed = initial.fanSpeed
  // After gas or water the sockets stay off until someone switches them on with the hazard gone:
  // they must not come back by themselves next to a leak.
  let circuitsLatched = initial.circuitsLatched
  let hazards = initial.hazards

  const compute = (): number => {
    let out = requested
    if (hazards) out |= relayBit(RELAY_BUZZER)
    if (hazards & HAZARD_FLAME) out |= relayBit(RELAY_SPRINKLER)
    if (hazards & HAZARD_GAS) out |= relayBit(RELAY_VENT)
    if (circuitsLatched) out &= ~relayBit(RELAY_CIRCUITS) & 0xff
    return out
  }

  return {
    command(n, action) {
      if (!Number.isInteger(n) || n < 1 || n > RELAY_COUNT) return false
      const bit = relayBit(n)
      const on = action === 'toggle' ? (compute() & bit) === 0 : action === 'on'
      if (n === RELAY_CIRCUITS && on) {
        if (hazards & (HAZARD_GAS | HAZARD_WATER)) return false
        circuitsLatched = false
      }
      requested = on ? requested | bit : requested & ~bit & 0xff
      if (n === RELAY_FAN) fanSpeed = on ? (fanSpeed === 0 ? 1 : fanSpeed) : 0
      return true
    },
    setFanSpeed(speed) {
      if (!Number.isInteger(speed) || speed < 0 || speed > 3) return false
      fanSpeed = speed
      requested = speed ? requested | relayBit(RELAY_FAN) : requested & ~relayBit(RELAY_FAN) & 0xff
      return true
    },
    apply(bits) {
      hazards = bits & 7
      if (hazards & (HAZARD_GAS | HAZARD_WATER)) circuitsLatched = true
      return compute()
    },
    outputs: compute,
    requested: () => requested,
    fanSpeed: () => fanSpeed,
    snapshot: () => ({ requested, fanSpeed, circuitsLatched, hazards }),
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
