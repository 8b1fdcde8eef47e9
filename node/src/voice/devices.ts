/**
 * The household's device registry: names, rooms and aliases the resident uses for each relay
 * channel. Names are checked against the grammar's own vocabulary so every configured name can
 * be recognised.
 */

import { InvalidInputError } from '#protocol/errors.ts'
import { RELAY } from '../automation/reading.ts'
import { tokenize } from './normalize.ts'

export type DeviceKind = 'fan' | 'light' | 'ac' | 'socket' | 'vent' | 'other'

export interface DeviceConfig {
  name: string
  channel: number
  room?: string
  aliases?: string[]
  kind?: DeviceKind
}

export interface Device {
  name: string
  channel: number
  room?: string
  kind: DeviceKind
  /** Normalised word sequences that name this device (name and aliases). */
  phrases: string[][]
  roomWords?: string[]
}

export interface DeviceRegistry {
  devices: readonly Device[]
}

export class DeviceRegistryError extends InvalidInputError {
  override name = 'DeviceRegistryError'
}

/** Words the grammar uses itself: a device name made only of them could not be told apart. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'on',
  'off',
  'turn',
  'switch',
  'set',
  'put',
  'shut',
  'start',
  'stop',
  'enable',
  'disable',
  'activate',
  'deactivate',
  'kill',
  'power',
  'all',
  'every',
  'everything',
  'both',
  'speed',
  'level',
  'is',
  'are',
  'what',
  'how',
  'which',
  'anything',
  'in',
  'to',
  'at',
  'of',
  'bill',
  'temperature',
])

/** Safety-only relays (sprinkler, buzzer) are driven by the firmware and alarms, never by voice. */
export const VOICE_FORBIDDEN_CHANNELS: readonly number[] = [RELAY.sprinkler, RELAY.buzzer]

export const DEFAULT_DEVICES: DeviceConfig[] = [
  { name: 'ceiling fan', channel: RELAY.fan, kind: 'fan', aliases: ['fan'] },
  { name: 'air conditioner', channel: RELAY.airConditioner, kind: 'ac', aliases: ['cooler'] },
  {
    name: 'main lights',
    channel: RELAY.mainLights,
    kind: 'light',
    aliases: ['light', 'big light', 'ceiling light'],
  },
  { name: 'night light', channel: RELAY.nightLight, kind: 'light', aliases: ['night lamp'] },
  { name: 'vent fan', channel: RELAY.ventFan, kind: 'vent', aliases: ['exhaust fan', 'exhaust', 'vent'] },
  { name: 'sockets', channel: RELAY.appliances, kind: 'socket' },
]

function phrase(text: unknown, what: string): string[] {
  if (typeof text !== 'string' || text.trim().length === 0 || text.length > 40) {
    throw new DeviceRegistryError(`${what} must be a non-empty text of at most 40 characters`, {
      details: { text },
    })
  }
  const tokens = tokenize(text).map((t) => t.word)
  if (tokens.length === 0 || tokens.every((w) => RESERVED_WORDS.has(w) || /^\d+$/.test(w))) {
    throw new DeviceRegistryError(
      `${what} ${JSON.stringify(text)} is made only of command or filler words; choose a name like "desk lamp" or "porch light"`,
      { details: { text } },
    )
  }
  return tokens
}

export function createDeviceRegistry(configs: readonly DeviceConfig[] = DEFAULT_DEVICES): DeviceRegistry {
  if (!Array.isArray(configs) || configs.length > 64) {
    throw new DeviceRegistryError(
      'devices must be a list of at most 64 {name, channel, room?, aliases?, kind?}',
    )
  }
  const seen = new Set<string>()
  const devices = configs.map((config, i): Device => {
    if (config === null || typeof config !== 'object')
      throw new DeviceRegistryError(`devices[${i}] must be an object`)
    const { channel } = config
    if (
      !Number.isInteger(channel) ||
      channel < 1 ||
      channel > 8 ||
      VOICE_FORBIDDEN_CHANNELS.includes(channel)
    ) {
      throw new DeviceRegistryError(
        `devices[${i}].channel must be a relay 1..8 other than the sprinkler (6) and buzzer (7), which only the safety system drives`,
        { details: { channel } },
      )
    }
    const nameWords = phrase(config.name, `devices[${i}].name`)
    const aliases = config.aliases ?? []
    if (!Array.isArray(aliases))
      throw new DeviceRegistryError(`devices[${i}].aliases must be a list of names`)
    const roomWords = config.room === undefined ? undefined : phrase(config.room, `devices[${i}].room`)
    const key = `${roomWords?.join(' ') ?? ''}|${nameWords.join(' ')}`
    if (seen.has(key)) {
      throw new DeviceRegistryError(
        `two devices are called "${config.name}"${config.room ? ` in the ${config.room}` : ''}`,
      )
    }
    seen.add(key)
    const kinds = ['fan', 'light', 'ac', 'socket', 'vent', 'other']
    if (config.kind !== undefined && !kinds.includes(config.kind)) {
      throw new DeviceRegistryError(`devices[${i}].kind must be one of ${kinds.join(', ')}`)
    }
    const inferred = tokenize(config.name)
      .reverse()
      .find((t) => t.kind !== undefined)?.kind
    return {
      name: config.name.trim(),
      channel,
      ...(config.room === undefined ? {} : { room: config.room.trim() }),
      kind: config.kind ?? inferred ?? 'other',
      phrases: [nameWords, ...aliases.map((a, k) => phrase(a, `devices[${i}].aliases[${k}]`))],
      ...(roomWords === undefined ? {} : { roomWords }),
    }
  })
  return { devices }
}

/** "the bedroom fan" / "the air conditioner": how answers name a device. */
export function displayName(device: Device): string {
  return device.room === undefined ? device.name : `${device.room} ${device.name}`
}
