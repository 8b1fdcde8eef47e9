/**
 * The MQTT session: connects with a persistent session (fixed client id, `clean: false`), subscribes
 * to the meter topics and feeds every PUBLISH to `ingest`, holding its PUBACK until `ingest` resolves
 * (the record is durable or refused) while the next ones are already being taken in
 * (ordered-pubacks.ts). Kept apart so the pipeline stays transport-free: a serial link
 * or a benchmark calls the same `ingest` without MQTT.
 */

import mqtt, { type MqttClient } from 'mqtt'
import { ZkMeterError } from '#protocol/errors.ts'
import { ANY_METER } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import { orderPubacks } from './ordered-pubacks.ts'
import type { IngestOutcome } from './types.ts'

/**
 * A connected session. `end()` closes it at once and waits for the records already being stored:
 * it does not drain the broker's backlog or wait for the PUBACKs of acks in flight. That is safe by
 * the protocol: a record whose PUBACK was not sent is redelivered in the next session (QoS 1,
 * persistent session) and deduplicated by sequence; the retained ack is published again at start.
 * A graceful end instead waited for every QoS 1 ack publish, and their PUBACKs queue behind the
 * incoming records, each held until durable: seconds to tens of seconds at high meter speed.
 */
export interface MqttSession {
  client: MqttClient
  end(): Promise<void>
}

export interface MqttSessionOptions {
  url: string
  clientId: string
  /** The node's login; without it the broker must allow anonymous clients (the embedded one does not). */
  credentials?: { username: string; password: string }
  connectTimeoutMs: number
  ingest(topic: string, payload: Uint8Array | string): Promise<IngestOutcome>
  log: Logger
  /** Most messages in flight at once (default DEFAULT_PUBACK_WINDOW). */
  window?: number
}

export async function connectMqtt({
  url,
  clientId,
  credentials,
  connectTimeoutMs,
  ingest,
  log,
  window,
}: MqttSessionOptions): Promise<MqttSession> {
  const c = mqtt.connect(url, {
    clientId,
    ...credentials,
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: connectTimeoutMs,
  })
  // Records are taken in back to back, each PUBACK held until that record is durable (or refused)
  // and sent in order (ordered-pubacks.ts): the journal's group commit then shares fsyncs.
  const intake = orderPubacks(
    c,
    async (packet) => {
      const payload = packet.payload
      await ingest(packet.topic, typeof payload === 'string' ? payload : new Uint8Array(payload))
    },
    {
      ...(window !== undefined ? { window } : {}),
      onDropped: (error) =>
        log.error('cannot store a record: closing the MQTT connection unacknowledged', { error }),
    },
  )
  c.on('error', (error) => log.warn('MQTT connection error', { error }))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      c.end(true)
      reject(
        new ZkMeterError(
          `no MQTT broker answered at the configured URL within ${connectTimeoutMs} ms; start it or fix --mqtt-url`,
        ),
      )
    }, connectTimeoutMs)
    c.once('connect', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  try {
    await c.subscribeAsync({
      [ANY_METER.sensor]: { qos: 1 },
      [ANY_METER.period]: { qos: 1 },
      [ANY_METER.gone]: { qos: 1 },
      [ANY_METER.state]: { qos: 0 },
    })
  } catch (error) {
    c.end(true)
    throw new ZkMeterError(`the MQTT broker refused the node's subscriptions: ${(error as Error).message}`, {
      cause: error,
    })
  }
  return {
    client: c,
    async end() {
      await new Promise<void>((resolve) => c.end(true, {}, () => resolve()))
      await intake.idle()
    },
  }
}
