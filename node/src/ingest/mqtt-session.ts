/**
 * The MQTT session: connects with a persistent session (fixed client id, `clean: false`), subscribes
 * to the meter topics and feeds every PUBLISH to `ingest`, holding its PUBACK until `ingest` resolves
 * (the record is durable or refused). Kept apart so the pipeline stays transport-free: a serial link
 * or a benchmark calls the same `ingest` without MQTT.
 */

import mqtt, { type MqttClient } from 'mqtt'
import { ZkMeterError } from '#protocol/errors.ts'
import { ANY_METER } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import type { IngestOutcome } from './types.ts'

export interface MqttSessionOptions {
  url: string
  clientId: string
  connectTimeoutMs: number
  ingest(topic: string, payload: Uint8Array | string): Promise<IngestOutcome>
  log: Logger
}

export async function connectMqtt({
  url,
  clientId,
  connectTimeoutMs,
  ingest,
  log,
}: MqttSessionOptions): Promise<MqttClient> {
  const c = mqtt.connect(url, {
    clientId,
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: connectTimeoutMs,
  })
  // Hold each PUBACK until the record is durable (or refused): mqtt.js sends it when this calls back.
  c.handleMessage = (packet, callback) => {
    const payload = packet.payload
    ingest(packet.topic, typeof payload === 'string' ? payload : new Uint8Array(payload)).then(
      () => callback(),
      (error: Error) => callback(error),
    )
  }
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
  return c
}
