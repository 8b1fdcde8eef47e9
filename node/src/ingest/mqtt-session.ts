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
import {
  applyReconnectBackoff,
  DEFAULT_RECONNECT,
  type ReconnectPolicy,
  reconnectDelay,
  validateReconnect,
} from '../mqtt/reconnect.ts'
import { orderPubacks } from './ordered-pubacks.ts'
import type { BrokerHealth, IngestOutcome } from './types.ts'

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
  /** The broker connection as /api/status shows it (mqtt.health). */
  health(): BrokerHealth
  end(): Promise<void>
}

export { DEFAULT_RECONNECT, type ReconnectPolicy, reconnectDelay } from '../mqtt/reconnect.ts'

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
  /** Backoff between reconnect attempts after the connection is lost (default DEFAULT_RECONNECT). */
  reconnect?: ReconnectPolicy
}

export async function connectMqtt({
  url,
  clientId,
  credentials,
  connectTimeoutMs,
  ingest,
  log,
  window,
  reconnect = DEFAULT_RECONNECT,
}: MqttSessionOptions): Promise<MqttSession> {
  validateReconnect(reconnect)
  const c = mqtt.connect(url, {
    clientId,
    ...credentials,
    clean: false,
    reconnectPeriod: reconnectDelay(0, reconnect),
    connectTimeout: connectTimeoutMs,
  })
  const health: BrokerHealth = {
    state: 'ok',
    since: Date.now(),
    lastError: null,
    lastErrorAt: null,
    attempts: 0,
    nextAttemptAt: null,
    reconnects: 0,
  }
  let connectedOnce = false
  const backoff = applyReconnectBackoff(c, reconnect)
  c.on('offline', () => {
    if (!connectedOnce || health.state === 'degraded') return
    health.state = 'degraded'
    health.since = Date.now()
    health.attempts = 0
    health.nextAttemptAt = Date.now() + (c.options.reconnectPeriod ?? 0)
    if (health.lastErrorAt === null || health.lastErrorAt < health.since - 1000) {
      health.lastError = 'the broker closed the connection'
      health.lastErrorAt = health.since
    }
    log.warn('lost the MQTT broker: reconnecting with backoff', { lastError: health.lastError })
  })
  // Registered after the backoff's own handlers: it has counted the attempt and set the next wait.
  c.on('reconnect', () => {
    health.attempts = backoff.attempts
    health.nextAttemptAt = Date.now() + backoff.nextDelayMs
  })
  c.on('connect', () => {
    if (!connectedOnce) {
      connectedOnce = true
      return
    }
    if (health.state === 'degraded') {
      log.info('the MQTT broker is back', { attempts: health.attempts })
      health.state = 'ok'
      health.since = Date.now()
      health.attempts = 0
      health.nextAttemptAt = null
      health.reconnects++
    }
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
  c.on('error', (error) => {
    health.lastError = error.message.slice(0, 300)
    health.lastErrorAt = Date.now()
    log.warn('MQTT connection error', { error })
  })
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
    health: () => ({ ...health }),
    async end() {
      await new Promise<void>((resolve) => c.end(true, {}, () => resolve()))
      await intake.idle()
    },
  }
}
