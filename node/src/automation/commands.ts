/**
 * Relay commander: sends `cmnd/<meter>/POWER<n>` and `cmnd/<meter>/FanSpeed` (docs/protocol.md §7)
 * and resolves each command only when the meter confirms it on `stat/<meter>/RESULT` or
 * `stat/<meter>/POWER<n>`. A command with no matching confirmation before its deadline is reported
 * as failed: the node never assumes a relay moved because it asked it to.
 */
import { EventEmitter } from 'node:events'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { type Clock, createSystemClock, type TimerHandle } from './clock.ts'
import { describeCommand, MAX_FAN_SPEED, RELAY_COUNT, type RelayCommand, validateCommand } from './reading.ts'

/** The part of an MQTT client the commander needs; mqtt.js' MqttClient satisfies it. */
export interface MqttLink {
  publish(
    topic: string,
    message: string,
    opts: { qos: 0 | 1 | 2; retain: boolean },
    callback: (error?: Error) => void,
  ): unknown
  subscribe(topic: string[], opts: { qos: 0 | 1 | 2 }, callback: (error: Error | null) => void): unknown
  unsubscribe(topic: string[], callback: (error?: Error) => void): unknown
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown
  removeListener(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown
}

export class CommanderNotStartedError extends ZkMeterError {
  override name = 'CommanderNotStartedError'
  override readonly category = 'unavailable'
}

export type CommandStatus = 'confirmed' | 'failed'

export interface CommandResult {
  status: CommandStatus
  command: RelayCommand
  /** Milliseconds from send to confirmation or to the failure. */
  elapsedMs: number
  /**
   * Why it failed: 'timeout' (no matching stat in time), 'publish' (broker refused), 'stopped'
   * (commander stopped), 'superseded' (a newer command for the same output was sent first).
   */
  reason?: 'timeout' | 'publish' | 'stopped' | 'superseded'
  error?: string
}

export interface MeterOutputs {
  /** Index n-1 holds POWER<n> as last reported by the meter; undefined until first reported. */
  relays: (boolean | undefined)[]
  fanSpeed: number | undefined
}

export interface CommanderEvents {
  /** The meter reported a relay state (confirmation or local change). */
  relay: [channel: number, on: boolean]
  fanSpeed: [speed: number]
  confirmed: [result: CommandResult]
  failed: [result: CommandResult]
  /** A stat/ or STATE message that could not be understood; it was ignored. */
  invalidMessage: [topic: string, reason: string]
}

export interface RelayCommander {
  start(): Promise<void>
  stop(): Promise<void>
  send(command: RelayCommand): Promise<CommandResult>
  outputs(): MeterOutputs
  events: EventEmitter<CommanderEvents>
}

export interface RelayCommanderOptions {
  client: MqttLink
  /** The meter's topic name, `zkm_` + 40 lowercase hex digits (protocol §7). */
  meter: string
  /** How long the meter has to confirm a command. */
  timeoutMs?: number
  clock?: Clock
}

const METER_TOPIC = /^[A-Za-z0-9_-]{1,64}$/

interface Pending {
  command: RelayCommand
  sentAt: number
  timer: TimerHandle | undefined
  resolve: (result: CommandResult) => void
}

function parseSwitch(value: unknown): boolean | undefined {
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined
  if (typeof value !== 'string') return undefined
  const v = value.trim().toUpperCase()
  return v === 'ON' || v === '1' ? true : v === 'OFF' || v === '0' ? false : undefined
}

function parseSpeed(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_FAN_SPEED
    ? (n as number)
    : undefined
}

export function createRelayCommander(options: RelayCommanderOptions): RelayCommander {
  const { client, meter } = options
  if (typeof meter !== 'string' || !METER_TOPIC.test(meter)) {
    throw new InvalidInputError(
      `meter topic name ${JSON.stringify(meter)} is not valid: use the meter's topic name, zkm_ followed by its address in lowercase hex`,
    )
  }
  const timeoutMs = options.timeoutMs ?? 3000
  const clock = options.clock ?? createSystemClock()
  const events = new EventEmitter<CommanderEvents>()
  const pending = new Set<Pending>()
  const relays: (boolean | undefined)[] = Array.from({ length: RELAY_COUNT }, () => undefined)
  let fanSpeed: number | undefined
  let running = false
  const statPrefix = `stat/${meter}/`
  const stateTopic = `tele/${meter}/STATE`
  const topics = [`${statPrefix}#`, stateTopic]

  function settle(entry: Pending, result: CommandResult): void {
    if (!pending.delete(entry)) return
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer)
    entry.resolve(result)
    events.emit(result.status === 'confirmed' ? 'confirmed' : 'failed', result)
  }

  function confirm(matches: (command: RelayCommand) => boolean): void {
    for (const entry of [...pending]) {
      if (matches(entry.command)) {
        settle(entry, { status: 'confirmed', command: entry.command, elapsedMs: clock.now() - entry.sentAt })
      }
    }
  }

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

  const onMessage = (topic: string, payload: Buffer): void => {
    if (!running) return
    const text = payload.toString('utf8')
    if (topic === stateTopic || topic === `${statPrefix}RESULT`) {
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
  }

  return {
    events,
    async start() {
      if (running) return
      running = true
      client.on('message', onMessage)
      try {
        await new Promise<void>((resolve, reject) =>
          client.subscribe(topics, { qos: 1 }, (error) => (error ? reject(error) : resolve())),
        )
      } catch (error) {
        // Without the stat/ subscription no command could ever be confirmed: do not half-start.
        running = false
        client.removeListener('message', onMessage)
        throw error
      }
    },
    async stop() {
      if (!running) return
      running = false
      client.removeListener('message', onMessage)
      for (const entry of [...pending]) {
        settle(entry, {
          status: 'failed',
          command: entry.command,
          elapsedMs: clock.now() - entry.sentAt,
          reason: 'stopped',
        })
      }
      await new Promise<void>((resolve) => client.unsubscribe(topics, () => resolve()))
    },
    send(input) {
      if (!running) {
        return Promise.reject(
          new CommanderNotStartedError('the relay commander is not started: call start() before send()'),
        )
      }
      let command: RelayCommand
      try {
        command = validateCommand(input)
      } catch (error) {
        return Promise.reject(error)
      }
      return new Promise<CommandResult>((resolve) => {
        // A newer command for the same output replaces an older one still waiting: the older one
        // is reported failed ('superseded') rather than left to time out or be confirmed late.
        for (const older of [...pending]) {
          const same =
            older.command.kind === command.kind &&
            (command.kind === 'fanSpeed' ||
              (older.command.kind === 'power' && older.command.channel === command.channel))
          if (same && JSON.stringify(older.command) !== JSON.stringify(command)) {
            settle(older, {
              status: 'failed',
              command: older.command,
              elapsedMs: clock.now() - older.sentAt,
              reason: 'superseded',
            })
          }
        }
        const entry: Pending = { command, sentAt: clock.now(), timer: undefined, resolve }
        pending.add(entry)
        entry.timer = clock.setTimeout(
          () =>
            settle(entry, {
              status: 'failed',
              command,
              elapsedMs: clock.now() - entry.sentAt,
              reason: 'timeout',
            }),
          timeoutMs,
        )
        const [topic, payload] =
          command.kind === 'power'
            ? [`cmnd/${meter}/POWER${command.channel}`, command.on ? 'ON' : 'OFF']
            : [`cmnd/${meter}/FanSpeed`, String(command.speed)]
        client.publish(topic, payload, { qos: 1, retain: false }, (error) => {
          if (error) {
            settle(entry, {
              status: 'failed',
              command,
              elapsedMs: clock.now() - entry.sentAt,
              reason: 'publish',
              error: `${describeCommand(command)}: ${error.message}`,
            })
          }
        })
      })
    },
    outputs: () => ({ relays: [...relays], fanSpeed }),
  }
}
