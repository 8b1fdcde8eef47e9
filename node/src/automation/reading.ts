/**
 * The slice of a MeterRecord (docs/protocol.md §6) that automation reacts to, and the relay channel
 * map of §8. Records arrive with bigint or number fields; automation works on plain numbers.
 */

import type { MeterRecordMessage } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'

export const READING_FIELDS = [
  'time',
  'powerW',
  'temperatureCenti',
  'light',
  'gas',
  'water',
  'hazards',
  'relays',
  'fanSpeed',
] as const

export type Reading = { [K in (typeof READING_FIELDS)[number]]: number }

/** Relay channels of the 8-channel board (protocol §8). */
export const RELAY = {
  fan: 1,
  airConditioner: 2,
  mainLights: 3,
  nightLight: 4,
  ventFan: 5,
  sprinkler: 6,
  buzzer: 7,
  appliances: 8,
} as const

export const RELAY_COUNT = 8
export const MAX_FAN_SPEED = 3

/** Hazard bits of the `hazards` field. */
export const HAZARD_BIT = { flame: 1, gas: 2, water: 4 } as const
export type Hazard = keyof typeof HAZARD_BIT
export const HAZARDS: readonly Hazard[] = ['flame', 'gas', 'water']

/**
 * A command the node sends to the meter: a relay on/off or the fan speed (0 = off). `force`: a
 * person's confirmed override of a safety interlock (POWER<n> FORCEON / FORCEOFF, interlocks.ts).
 */
export type RelayCommand =
  | { kind: 'power'; channel: number; on: boolean; force?: boolean }
  | { kind: 'fanSpeed'; speed: number }

export function relayIsOn(relays: number, channel: number): boolean {
  return ((relays >>> (channel - 1)) & 1) === 1
}

export function isChannel(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= RELAY_COUNT
}

export function describeCommand(command: RelayCommand): string {
  return command.kind === 'power'
    ? `POWER${command.channel} ${command.force === true ? 'FORCE' : ''}${command.on ? 'ON' : 'OFF'}`
    : `FanSpeed ${command.speed}`
}

export function validateCommand(command: unknown): RelayCommand {
  const c = command as Partial<Record<string, unknown>> | null
  if (c !== null && typeof c === 'object') {
    if (
      c.kind === 'power' &&
      isChannel(c.channel) &&
      typeof c.on === 'boolean' &&
      (c.force === undefined || typeof c.force === 'boolean')
    ) {
      return c.force === true
        ? { kind: 'power', channel: c.channel, on: c.on, force: true }
        : { kind: 'power', channel: c.channel, on: c.on }
    }
    if (
      c.kind === 'fanSpeed' &&
      Number.isInteger(c.speed) &&
      (c.speed as number) >= 0 &&
      (c.speed as number) <= MAX_FAN_SPEED
    ) {
      return { kind: 'fanSpeed', speed: c.speed as number }
    }
  }
  throw new InvalidInputError(
    `invalid relay command ${JSON.stringify(command)}: expected {kind:'power', channel: 1..${RELAY_COUNT}, on: boolean, force?: boolean} or {kind:'fanSpeed', speed: 0..${MAX_FAN_SPEED}}`,
    { details: { command } },
  )
}

const LIMITS: Record<keyof Reading, readonly [number, number]> = {
  time: [0, 2 ** 53 - 1],
  powerW: [0, 2 ** 32 - 1],
  temperatureCenti: [-(2 ** 31), 2 ** 31 - 1],
  light: [0, 1000],
  gas: [0, 1000],
  water: [0, 1000],
  hazards: [0, 7],
  relays: [0, 255],
  fanSpeed: [0, MAX_FAN_SPEED],
}

/**
 * Accepts a decoded MeterRecord (bigint or number fields) or a plain reading object and returns a
 * validated Reading. Readings cross the MQTT boundary, so nothing here trusts its input.
 */
export function toReading(
  input: Partial<MeterRecordMessage> | Partial<Reading> | Record<string, unknown>,
): Reading {
  if (input === null || typeof input !== 'object') {
    throw new InvalidInputError(
      'a reading must be an object with the MeterRecord fields of docs/protocol.md §6',
    )
  }
  const out = {} as Reading
  for (const field of READING_FIELDS) {
    const raw = (input as Record<string, unknown>)[field]
    const value = typeof raw === 'bigint' ? Number(raw) : raw
    const [min, max] = LIMITS[field]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidInputError(
        `reading field ${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(typeof raw === 'bigint' ? String(raw) : raw)}`,
        { details: { field, value: typeof raw === 'bigint' ? String(raw) : raw } },
      )
    }
    out[field] = value
  }
  return out
}
