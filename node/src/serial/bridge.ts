/**
 * The rest of a serial meter's MQTT conversation: commands the node publishes for it
 * (cmnd/<meter>/POWER<n>, FanSpeed, PeriodDays, from automation, the API or Home Assistant) go down
 * the serial line, and what it reports besides records (tele/<meter>/STATE, LWT, stat/<meter>/…)
 * is published on the broker, so every other service sees a wired meter exactly like a wireless one.
 * Records and acks do not pass here: the ingestor takes those directly (link.ts).
 */

import type { MqttClient } from 'mqtt'
import { ZkMeterError } from '#protocol/errors.ts'
import type { SerialMessage } from '#protocol/serial/message.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { closeMqtt, connectMqtt } from '../mqtt/client.ts'
import type { SerialMeterLink } from './link.ts'

export class SerialBridgeError extends ZkMeterError {
  override name = 'SerialBridgeError'
}

export interface SerialMqttBridge {
  /** Pass as the link's onMessage: publishes the meter's non-record messages on the broker. */
  fromMeter(message: SerialMessage): void
  /** Subscribes to the meter's commands and forwards them over `link`. */
  start(link: Pick<SerialMeterLink, 'send'>): Promise<void>
  stop(): Promise<void>
}

export function createSerialMqttBridge(options: {
  /** The node's broker; the bridge has its own connection so its subscription disturbs no one. */
  mqttUrl: string
  /** The node's broker login: the bridge publishes the meter's reports and reads its commands. */
  credentials?: { username: string; password: string }
  clientId?: string
  /** The meter's topic name, zkm_<address hex>. */
  meter: string
  /** Where the bridge reports what it could not forward (default: silent). */
  log?: Logger
}): SerialMqttBridge {
  const { meter } = options
  let client: MqttClient | undefined
  const log = options.log ?? silentLogger
  const commands = `cmnd/${meter}/+`
  // The ingestor already sends Resend and ResendPeriod over the link (ingestor.addOutbound);
  // forwarding its MQTT copies too would ask the meter twice.
  const fromIngestor = new Set([`cmnd/${meter}/Resend`, `cmnd/${meter}/ResendPeriod`])
  let link: Pick<SerialMeterLink, 'send'> | undefined
  const onMessage = (topic: string, payload: Buffer) => {
    if (link === undefined || fromIngestor.has(topic) || !topic.startsWith(`cmnd/${meter}/`)) return
    if (!link.send(topic, new Uint8Array(payload)))
      log.warn('a command was not sent: the meter is not connected', { topic })
  }
  return {
    fromMeter(message) {
      const [prefix, name] = message.topic.split('/')
      // Only this meter's own report topics: a wired device must not publish elsewhere on the broker.
      if (name !== meter || (prefix !== 'tele' && prefix !== 'stat')) {
        log.warn('ignored a message outside the meter report topics', { topic: message.topic.slice(0, 120) })
        return
      }
      if (client === undefined) return
      client.publish(
        message.topic,
        Buffer.from(message.payload),
        { qos: 1, retain: message.topic.endsWith('/LWT') },
        (error) => {
          if (error) log.warn('a publish failed', { topic: message.topic, error })
        },
      )
    },
    async start(target) {
      const c = await connectMqtt(options.mqttUrl, {
        clientId: options.clientId ?? `zkmeter-serial-${meter.slice(4, 12)}`,
        ...options.credentials,
      })
      c.on('message', onMessage)
      try {
        await c.subscribeAsync(commands, { qos: 1 })
      } catch (error) {
        await closeMqtt(c, true)
        throw new SerialBridgeError(`could not subscribe to ${commands} for the serial meter`, {
          cause: error,
        })
      }
      client = c
      link = target
    },
    async stop() {
      link = undefined
      const c = client
      client = undefined
      if (c !== undefined) await closeMqtt(c)
    },
  }
}
