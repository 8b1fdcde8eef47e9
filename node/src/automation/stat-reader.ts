/**
 * Reading what the meter reports about its outputs: `stat/<meter>/RESULT` and `stat/<meter>/POWER<n>`
 * (which confirm commands) and `tele/<meter>/STATE` (which only tracks state). Keeps the last
 * reported relays and fan speed; anything it cannot understand is an invalidMessage event.
 */
import type { EventEmitter } from 'node:events'
import { topicsForName } from '#protocol/topics.ts'
import type { CommanderEvents, MeterOutputs } from './commander-types.ts'
import { MAX_FAN_SPEED, RELAY_COUNT, type RelayCommand } from './reading.ts'

function parseSwitch(value: unknown): boolean | undefined {
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined
  if (typeof value !== 'string') return undefined
  const v = value.trim().toUpperCase()
  return v === 'ON' || v === '1' ? true : v === 'OFF' || v === '0' ? false : undefined
}

function parseSpeed(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_FAN_SPEED ? n : undefined
}

export interface StatReader {
  /** Handles one message on a subscribed topic. */
  onMessage(topic: string, payload: Buffer): void
  outputs(): MeterOutputs
}

export function createStatReader(options: {
  meter: string
  events: EventEmitter<CommanderEvents>
  /** Confirms the waiting commands a report matches. */
  confirm: (matches: (command: RelayCommand) => boolean) => void
}): StatReader {
  const { events, confirm } = options
  const topics = topicsForName(options.meter)
  const statPrefix = topics.statPrefix
  const stateTopic = topics.state
  const relays: (boolean | undefined)[] = Array.from({ length: RELAY_COUNT }, () => undefined)
  let fanSpeed: number | undefined

  /**
   * The meter answers a change with RESULT {"POWER<n>":X} followed by stat/POWER<n> X (protocol §7,
   * as Tasmota does). That echo may arrive after the node has already sent a newer command for the
   * same relay, so it must not confirm it: an echo is consumed, and only RESULT or a stat/POWER<n>
   * without a preceding RESULT (a firmware that sends only those) confirms.
   */
  const echoes: (boolean | undefined)[] = Array.from({ length: RELAY_COUNT }, () => undefined)

  function reportRelay(channel: number, on: boolean, source: 'result' | 'power' | 'state'): void {
    relays[channel - 1] = on
    events.emit('relay', channel, on)
    if (source === 'state') return
    if (source === 'result') echoes[channel - 1] = on
    else if (echoes[channel - 1] === on) {
      echoes[channel - 1] = undefined
      return
    } else echoes[channel - 1] = undefined
    confirm((c) => c.kind === 'power' && c.channel === channel && c.on === on)
  }

  function reportSpeed(speed: number, source: 'result' | 'state'): void {
    fanSpeed = speed
    events.emit('fanSpeed', speed)
    if (source === 'result') confirm((c) => c.kind === 'fanSpeed' && c.speed === speed)
  }

  /** Reads `{"POWER<n>":"ON"}` / `{"FanSpeed":2}` objects (RESULT and tele STATE share the keys). */
  function readObject(topic: string, text: string, source: 'result' | 'state'): void {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      events.emit('invalidMessage', topic, 'payload is not JSON')
      return
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      events.emit('invalidMessage', topic, 'payload is not a JSON object')
      return
    }
    for (const [key, value] of Object.entries(body)) {
      const power = /^POWER([1-8])$/i.exec(key)
      if (power) {
        const on = parseSwitch(value)
        if (on === undefined)
          events.emit('invalidMessage', topic, `${key} has value ${JSON.stringify(value)}`)
        else reportRelay(Number(power[1]), on, source)
      } else if (key.toLowerCase() === 'fanspeed') {
        const speed = parseSpeed(value)
        if (speed === undefined)
          events.emit('invalidMessage', topic, `FanSpeed has value ${JSON.stringify(value)}`)
        else reportSpeed(speed, source)
      }
    }
  }

  return {
    onMessage(topic, payload) {
      const text = payload.toString('utf8')
      if (topic === stateTopic || topic === topics.result) {
        // tele/STATE is periodic and may predate a command in flight: it tracks state, never confirms.
        readObject(topic, text, topic === stateTopic ? 'state' : 'result')
        return
      }
      if (!topic.startsWith(statPrefix)) return
      const power = /^POWER([1-8])$/i.exec(topic.slice(statPrefix.length))
      if (power) {
        const on = parseSwitch(text)
        if (on === undefined)
          events.emit('invalidMessage', topic, `payload ${JSON.stringify(text.slice(0, 40))}`)
        else reportRelay(Number(power[1]), on, 'power')
      }
    },
    outputs: () => ({ relays: [...relays], fanSpeed }),
  }
}
