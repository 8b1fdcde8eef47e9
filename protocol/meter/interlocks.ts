/**
 * The safety interlock matrix (docs/protocol.md §8): per hazard, which relay is forced on, forced
 * off or locked (no switching at all), and whether the comfort rules are suspended. The one
 * definition: the node's rule engine, relay API and voice commands (node/src/automation/
 * interlocks.ts), the virtual meter's relay twin (relays.ts), the UI's Safety page and, through
 * the shared vectors, the firmware's RelayController all follow it.
 */
export const HAZARD_FLAME = 1
export const HAZARD_GAS = 2
export const HAZARD_WATER = 4

export type HazardName = 'flame' | 'gas' | 'water'

/** forcedOn / forcedOff: the meter holds the relay so; locked: no switching either way. */
export type InterlockAction = 'forcedOn' | 'forcedOff' | 'locked'

export interface RelayInterlock {
  channel: number
  action: InterlockAction
  /** Why, in words a resident reads on the Safety page. */
  why: string
}

export interface Interlock {
  hazard: HazardName
  bit: number
  /** What the UI calls it. */
  label: string
  relays: readonly RelayInterlock[]
  /** The comfort rules (fan steps, thermostat, night light, schedules) send nothing meanwhile. */
  suspendRules: boolean
}

const SPARK = 'switching makes a spark that can ignite LPG: nothing is switched while gas is detected'

export const INTERLOCKS: Readonly<Record<HazardName, Interlock>> = {
  flame: {
    hazard: 'flame',
    bit: HAZARD_FLAME,
    label: 'fire',
    suspendRules: true,
    relays: [
      { channel: 1, action: 'forcedOff', why: 'a fan feeds a fire with air' },
      { channel: 2, action: 'forcedOff', why: 'the air conditioner blows air through the rooms' },
      { channel: 5, action: 'forcedOff', why: 'ventilation feeds a fire with air' },
      { channel: 6, action: 'forcedOn', why: 'the sprinkler fights the fire' },
      { channel: 7, action: 'forcedOn', why: 'the buzzer warns everyone in the house' },
    ],
  },
  gas: {
    hazard: 'gas',
    bit: HAZARD_GAS,
    label: 'gas (LPG)',
    suspendRules: true,
    relays: [
      { channel: 1, action: 'locked', why: SPARK },
      { channel: 2, action: 'locked', why: SPARK },
      { channel: 3, action: 'locked', why: SPARK },
      { channel: 4, action: 'locked', why: SPARK },
      // An exhaust fan that is not explosion-proof is an ignition source, and LPG is heavier
      // than air: a ceiling vent does little. Open windows instead.
      { channel: 5, action: 'locked', why: SPARK },
      { channel: 6, action: 'locked', why: SPARK },
      { channel: 7, action: 'forcedOn', why: 'the buzzer warns everyone in the house' },
      {
        channel: 8,
        action: 'forcedOff',
        why: 'the cut-off: de-energising the sockets is the one switching allowed (appliances spark)',
      },
    ],
  },
  water: {
    hazard: 'water',
    bit: HAZARD_WATER,
    label: 'flood',
    suspendRules: false,
    relays: [
      { channel: 7, action: 'forcedOn', why: 'the buzzer warns everyone in the house' },
      { channel: 8, action: 'forcedOff', why: 'appliance circuits near water can electrocute' },
    ],
  },
}

export const HAZARD_NAMES: readonly HazardName[] = ['flame', 'gas', 'water']

/** The loads of the 8-channel board, relay n at index n − 1 (docs/protocol.md §8). */
export const RELAY_NAMES: readonly string[] = [
  'Ceiling fan',
  'Air conditioner',
  'Main lights',
  'Night light',
  'Vent fan',
  'Sprinkler valve',
  'Buzzer',
  'Appliance circuits',
]

/** The relay states of a house with no alarm: the appliance circuits on, everything else off. */
export const NORMAL_RELAYS = 0x80

export const relayBit = (n: number): number => 1 << (n - 1)

/** The matrix folded over the hazard bits present: one bit per relay in each mask. */
export interface InterlockMasks {
  forcedOn: number
  forcedOff: number
  /** Locked and not forced by another hazard. */
  locked: number
  suspendRules: boolean
}

/**
 * The masks for `hazards` (bits). Forcing wins over locking: in a fire with gas the fan goes off
 * (a fire is already burning). No two hazards force a relay in opposite directions (a unit test
 * checks the matrix).
 */
export function interlockMasks(hazards: number): InterlockMasks {
  let forcedOn = 0
  let forcedOff = 0
  let locked = 0
  let suspendRules = false
  for (const name of HAZARD_NAMES) {
    const interlock = INTERLOCKS[name]
    if ((hazards & interlock.bit) === 0) continue
    suspendRules ||= interlock.suspendRules
    for (const r of interlock.relays) {
      const bit = relayBit(r.channel)
      if (r.action === 'forcedOn') forcedOn |= bit
      else if (r.action === 'forcedOff') forcedOff |= bit
      else locked |= bit
    }
  }
  return { forcedOn, forcedOff, locked: locked & ~(forcedOn | forcedOff) & 0xff, suspendRules }
}

/** What the interlocks of `hazards` do to relay `channel`, with the hazards responsible. */
export function interlockOf(
  hazards: number,
  channel: number,
): { action: InterlockAction; hazards: HazardName[]; why: string } | undefined {
  const masks = interlockMasks(hazards)
  const bit = relayBit(channel)
  const action: InterlockAction | undefined =
    masks.forcedOn & bit
      ? 'forcedOn'
      : masks.forcedOff & bit
        ? 'forcedOff'
        : masks.locked & bit
          ? 'locked'
          : undefined
  if (action === undefined) return undefined
  const by = HAZARD_NAMES.filter((name) => hazards & INTERLOCKS[name].bit).flatMap((name) =>
    INTERLOCKS[name].relays
      .filter((r) => r.channel === channel && r.action === action)
      .map((r) => ({ name, why: r.why })),
  )
  return { action, hazards: by.map((b) => b.name), why: by[0]?.why ?? '' }
}
