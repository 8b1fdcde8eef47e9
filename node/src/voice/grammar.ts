/**
 * One grammar for voice and text commands. A phrase is normalised (normalize.ts), then matched by
 * meaning rather than by exact wording: a question word makes it a query, a speed makes it a fan
 * speed, an on/off word plus a device makes it a switch. Anything else gets a helpful answer that
 * lists what the node can do. `parse` never throws on any string.
 */
import { type Device, type DeviceRegistry, displayName } from './devices.ts'
import { type Token, tokenize } from './normalize.ts'

export interface DeviceRef {
  name: string
  room?: string
  channel: number
}

export type QueryWhat = 'anythingOn' | 'bill' | 'today' | 'power' | 'temperature'

export type Intent =
  | { kind: 'switch'; targets: DeviceRef[]; on: boolean }
  | { kind: 'fanSpeed'; speed: number }
  | { kind: 'query'; what: QueryWhat; targets?: DeviceRef[] }
  | { kind: 'unknown'; help: string }

const QUESTION_START = new Set([
  'is',
  'are',
  'what',
  'which',
  'how',
  'does',
  'do',
  'did',
  'anything',
  'any',
  'who',
])
const ON_WORDS = new Set(['on', 'start', 'enable', 'activate', 'open'])
const OFF_WORDS = new Set(['off', 'stop', 'disable', 'deactivate', 'kill', 'shut', 'close', 'cut'])
const ALL_WORDS = new Set(['all', 'every', 'both', 'everything', 'everywhere'])
// Energy of the calendar day is answered from the readings (node/src/history/day-energy.ts), not
// from a bill: the last bill covers a whole closed period ("7.9 kWh" when today was 0.2 kWh).
const TODAY_WORDS = new Set(['today', 'todays', 'tonight'])
// Energy over a billing period (kWh so far, this month) is answered from the bill figures.
const BILL_WORDS = new Set([
  'bill',
  'owe',
  'cost',
  'costs',
  'spent',
  'spend',
  'spending',
  'pay',
  'charge',
  'charges',
  'money',
  'month',
  'invoice',
  'energy',
  'kwh',
  'units',
  'week',
])
const TEMPERATURE_WORDS = new Set(['temperature', 'temp', 'hot', 'warm', 'cold', 'cool', 'degrees'])
const POWER_WORDS = new Set([
  'power',
  'watts',
  'watt',
  'using',
  'use',
  'consumption',
  'consuming',
  'load',
  'usage',
  'electricity',
  'draw',
  'drawing',
  'kilowatts',
])
const RUNNING_WORDS = new Set(['on', 'running', 'anything', 'status', 'left'])
const SPEED_WORDS: Record<string, number> = {
  low: 1,
  slow: 1,
  medium: 2,
  mid: 2,
  high: 3,
  fast: 3,
  max: 3,
  maximum: 3,
  full: 3,
  min: 1,
  minimum: 1,
}

export function helpText(registry: DeviceRegistry): string {
  const names = registry.devices.map(displayName)
  return [
    'I can switch devices on or off ("turn on the fan", "turn off all lights"),',
    'set the fan speed ("set the fan to 2"), and answer "is anything on?", "how much have I used today?", "what\'s my bill?",',
    '"how much power am I using?" and "what\'s the temperature?".',
    names.length > 0 ? `Devices I know: ${names.join(', ')}.` : 'No devices are configured yet.',
  ].join(' ')
}

function ref(device: Device): DeviceRef {
  return device.room === undefined
    ? { name: device.name, channel: device.channel }
    : { name: device.name, room: device.room, channel: device.channel }
}

function find(words: string[], phrase: string[]): number[] {
  const at: number[] = []
  for (let i = 0; i + phrase.length <= words.length; i++) {
    if (phrase.every((w, k) => words[i + k] === w)) at.push(i)
  }
  return at
}

type Resolution = { devices: Device[] } | { ambiguous: Device[] } | { none: true }

/** Finds the devices a phrase names: by name/alias, by kind word, filtered by room. */
function resolveTargets(tokens: Token[], registry: DeviceRegistry): Resolution {
  const found = findTargets(tokens, registry)
  return 'devices' in found ? { devices: [...found.devices].sort((a, b) => a.channel - b.channel) } : found
}

function findTargets(tokens: Token[], registry: DeviceRegistry): Resolution {
  const words = tokens.map((t) => t.word)
  const all = words.some((w) => ALL_WORDS.has(w))
  const rooms = new Set(
    registry.devices.flatMap((d) => (d.roomWords && find(words, d.roomWords).length > 0 ? [d.room!] : [])),
  )
  const inRoom = (d: Device) => rooms.size === 0 || (d.room !== undefined && rooms.has(d.room))

  // Name/alias matches; a match inside a longer one ("fan" inside "vent fan") yields to it.
  const matches: { start: number; end: number; device: Device }[] = []
  for (const device of registry.devices.filter(inRoom)) {
    for (const p of device.phrases) {
      for (const start of find(words, p)) matches.push({ start, end: start + p.length, device })
    }
  }
  const longest = matches.filter(
    (m) => !matches.some((o) => o.start <= m.start && o.end >= m.end && o.end - o.start > m.end - m.start),
  )
  const covered = new Set(
    longest.flatMap((m) => Array.from({ length: m.end - m.start }, (_, k) => m.start + k)),
  )
  const groups = new Map<string, { plural: boolean; devices: Set<Device> }>()
  for (const m of longest) {
    const key = `${m.start}:${m.end}`
    const group = groups.get(key) ?? {
      plural: tokens.slice(m.start, m.end).some((t) => t.plural),
      devices: new Set(),
    }
    group.devices.add(m.device)
    groups.set(key, group)
  }
  // Kind words not part of a name: "the lights", "all fans", "the bedroom lamp".
  for (const [i, t] of tokens.entries()) {
    if (t.kind === undefined) continue
    // Part of a longer name ("main lights") it is that device; a bare alias ("light") still means
    // every light when plural or quantified ("the lights", "all light").
    if (longest.some((m) => m.start <= i && i < m.end && m.end - m.start > 1)) continue
    if (covered.has(i) && !all && !t.plural) continue
    const devices = registry.devices.filter((d) => d.kind === t.kind && inRoom(d))
    if (devices.length > 0) groups.set(`kind:${i}`, { plural: t.plural, devices: new Set(devices) })
  }
  if (groups.size === 0) {
    if (all) {
      // A blanket "everything" means comfort loads: sockets (the fridge) and the vent fan are
      // only switched when named.
      const devices = registry.devices.filter((d) => inRoom(d) && d.kind !== 'socket' && d.kind !== 'vent')
      return devices.length > 0 ? { devices } : { none: true }
    }
    // "turn off the bedroom": everything in the rooms named.
    if (rooms.size > 0) return { devices: registry.devices.filter(inRoom) }
    return { none: true }
  }
  const result = new Set<Device>()
  for (const group of groups.values()) {
    if (group.devices.size > 1 && !all && !group.plural) return { ambiguous: [...group.devices] }
    for (const d of group.devices) result.add(d)
  }
  return { devices: registry.devices.filter((d) => result.has(d)) }
}

function speedIn(words: string[]): number | undefined {
  for (const w of words) {
    if (/^\d{1,3}$/.test(w)) return Number(w)
    if (SPEED_WORDS[w] !== undefined) return SPEED_WORDS[w]
  }
  return undefined
}

function unknown(registry: DeviceRegistry, prefix?: string): Intent {
  return {
    kind: 'unknown',
    help: prefix === undefined ? helpText(registry) : `${prefix} ${helpText(registry)}`,
  }
}

export function parse(text: unknown, registry: DeviceRegistry): Intent {
  if (typeof text !== 'string') return unknown(registry)
  const tokens = tokenize(text)
  const words = tokens.map((t) => t.word)
  if (words.length === 0) return unknown(registry)
  const has = (set: ReadonlySet<string>) => words.some((w) => set.has(w))

  if (QUESTION_START.has(words[0]!) || words[0] === 'status') {
    if (has(TODAY_WORDS) && !has(TEMPERATURE_WORDS)) return { kind: 'query', what: 'today' }
    if (has(BILL_WORDS)) return { kind: 'query', what: 'bill' }
    if (has(TEMPERATURE_WORDS)) return { kind: 'query', what: 'temperature' }
    if (has(POWER_WORDS)) return { kind: 'query', what: 'power' }
    if (has(RUNNING_WORDS) || words[0] === 'status') {
      const targets = resolveTargets(tokens, registry)
      if ('devices' in targets && !words.some((w) => ALL_WORDS.has(w) || w === 'anything')) {
        return { kind: 'query', what: 'anythingOn', targets: targets.devices.map(ref) }
      }
      return { kind: 'query', what: 'anythingOn' }
    }
    return unknown(registry, "Sorry, I didn't understand the question.")
  }

  const fanMentioned =
    tokens.some((t) => t.kind === 'fan') ||
    registry.devices.some((d) => d.kind === 'fan' && d.phrases.some((p) => find(words, p).length > 0))
  const speed = speedIn(words)
  const speedContext = words.some(
    (w) => ['speed', 'set', 'to', 'at', 'level', 'setting'].includes(w) || SPEED_WORDS[w] !== undefined,
  )
  if (fanMentioned && speed !== undefined && (speedContext || !has(ON_WORDS))) {
    if (!words.includes('vent') && !words.includes('exhaust')) {
      if (speed > 3) return unknown(registry, `The fan has speeds 0 (off) to 3; ${speed} is too high.`)
      return { kind: 'fanSpeed', speed }
    }
  }

  const onAt = words.findIndex((w) => ON_WORDS.has(w))
  const offAt = words.findIndex((w) => OFF_WORDS.has(w))
  if (onAt === -1 && offAt === -1) {
    if (has(TEMPERATURE_WORDS)) return { kind: 'query', what: 'temperature' }
    if (has(TODAY_WORDS)) return { kind: 'query', what: 'today' }
    if (words.includes('bill')) return { kind: 'query', what: 'bill' }
    if (has(POWER_WORDS)) return { kind: 'query', what: 'power' }
    return unknown(registry)
  }
  const on = offAt === -1 || (onAt !== -1 && onAt < offAt)
  const targets = resolveTargets(tokens, registry)
  if ('ambiguous' in targets) {
    return unknown(
      registry,
      `Which one do you mean: ${targets.ambiguous.map((d) => `the ${displayName(d)}`).join(' or ')}?`,
    )
  }
  if ('none' in targets) return unknown(registry, `Which device should I turn ${on ? 'on' : 'off'}?`)
  return { kind: 'switch', targets: targets.devices.map(ref), on }
}
