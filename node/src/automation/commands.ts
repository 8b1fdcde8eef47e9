/**
 * Relay commander: sends `cmnd/<meter>/POWER<n>` and `cmnd/<meter>/FanSpeed` (docs/protocol.md §7)
 * and resolves each command only when the meter confirms it on `stat/<meter>/RESULT` or
 * `stat/<meter>/POWER<n>`. A command with no matching confirmation before its deadline is reported
 * as failed: the node never assumes a relay moved because it asked it to.
 */
import { EventEmitter } from 'node:events'
import { InvalidInputError } from '#protocol/errors.ts'
import { topicsForName } from '#protocol/topics.ts'
import { type Clock, createSystemClock } from './clock.ts'
import {
  type CommanderEvents,
  CommanderNotStartedError,
  type CommandResult,
  type MqttLink,
  type RelayCommander,
} from './commander-types.ts'
import { createPendingCommands } from './pending-commands.ts'
import { describeCommand, type RelayCommand, validateCommand } from './reading.ts'
import { createStatReader } from './stat-reader.ts'

export * from './commander-types.ts'

export interface RelayCommanderOptions {
  client: MqttLink
  /** The meter's topic name, `zkm_` + 40 lowercase hex digits (protocol §7). */
  meter: string
  /** How long the meter has to confirm a command. */
  timeoutMs?: number
  clock?: Clock
}

const METER_TOPIC = /^[A-Za-z0-9_-]{1,64}$/

/** Wires the pending commands and the stat reader to the MQTT link; start/stop/send. */
export function createRelayCommander(options: RelayCommanderOptions): RelayCommander {
  const { client, meter } = options
  if (typeof meter !== 'string' || !METER_TOPIC.test(meter)) {
    throw new InvalidInputError(
      `meter topic name ${JSON.stringify(meter)} is not valid: use the meter's topic name, zkm_ followed by its address in lowercase hex`,
    )
  }
  const clock = options.clock ?? createSystemClock()
  const events = new EventEmitter<CommanderEvents>()
  const pending = createPendingCommands({ clock, events, timeoutMs: options.timeoutMs ?? 3000 })
  const reader = createStatReader({ meter, events, confirm: pending.confirm })
  let running = false
  const meterTopics = topicsForName(meter)
  const topics = [meterTopics.stat, meterTopics.state]

  const onMessage = (topic: string, payload: Buffer): void => {
    if (running) reader.onMessage(topic, payload)
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
      pending.failAll('stopped')
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
        pending.supersede(command)
        const entry = pending.add(command, resolve)
        const [topic, payload] =
          command.kind === 'power'
            ? [
                meterTopics.command(`POWER${command.channel}`),
                `${command.force === true ? 'FORCE' : ''}${command.on ? 'ON' : 'OFF'}`,
              ]
            : [meterTopics.command('FanSpeed'), String(command.speed)]
        client.publish(topic, payload, { qos: 1, retain: false }, (error) => {
          if (error) entry.fail('publish', `${describeCommand(command)}: ${error.message}`)
        })
      })
    },
    outputs: () => reader.outputs(),
  }
}
