/**
 * connectMqtt: mqtt.js with a bounded first connection. mqtt.js on its own retries forever and
 * never says the broker is missing; callers (meter, node, CLI) need a named error within seconds
 * instead, and mqtt.js' own reconnection afterwards, spaced by the node's backoff (reconnect.ts)
 * rather than its fixed 1 s.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { InvalidInputError } from '#protocol/errors.ts'
import { MqttConnectRefusedError, MqttUnreachableError } from './errors.ts'
import {
  applyReconnectBackoff,
  DEFAULT_RECONNECT,
  type ReconnectPolicy,
  reconnectDelay,
  validateReconnect,
} from './reconnect.ts'

export interface ConnectOptions extends IClientOptions {
  /** How long to wait for the first CONNACK before giving up with MqttUnreachableError. */
  timeoutMs?: number
  /**
   * Backoff between reconnect attempts after the connection is lost (default DEFAULT_RECONNECT).
   * An explicit `reconnectPeriod` (0: never reconnect) replaces it.
   */
  reconnect?: ReconnectPolicy
}

const DEFAULT_TIMEOUT_MS = 5000

function parseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (cause) {
    throw new InvalidInputError(
      `MQTT URL ${JSON.stringify(url)} is not a URL; use e.g. mqtt://127.0.0.1:1883`,
      {
        cause,
      },
    )
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new InvalidInputError(
      `MQTT URL scheme ${parsed.protocol} is not supported; use mqtt://, mqtts://, ws:// or wss://`,
    )
  }
  return parsed
}

/** Strips user info so a URL can be put into an error message or a log without a password. */
function redact(parsed: URL): string {
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
}

/**
 * Connects and resolves once the broker has accepted the session. Rejects with
 * MqttUnreachableError after `timeoutMs` without a CONNACK, MqttConnectRefusedError when the
 * broker refuses; in both cases the client is closed and no timer or socket is left behind.
 */
export async function connectMqtt(url: string, options: ConnectOptions = {}): Promise<MqttClient> {
  const parsed = parseUrl(url)
  const { timeoutMs = DEFAULT_TIMEOUT_MS, reconnect = DEFAULT_RECONNECT, ...mqttOptions } = options
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidInputError(`timeoutMs must be a positive integer of milliseconds, got ${timeoutMs}`)
  }
  validateReconnect(reconnect)
  const where = redact(parsed)
  const fixedPeriod = mqttOptions.reconnectPeriod !== undefined
  const client = mqtt.connect(url, {
    connectTimeout: timeoutMs,
    reconnectPeriod: reconnectDelay(0, reconnect),
    ...mqttOptions,
  })
  if (!fixedPeriod) applyReconnectBackoff(client, reconnect)
  return new Promise<MqttClient>((resolve, reject) => {
    let lastError: Error | undefined
    const cleanup = () => {
      clearTimeout(timer)
      client.off('connect', onConnect)
      client.off('error', onError)
    }
    const fail = (error: Error) => {
      cleanup()
      client.end(true, () => reject(error))
    }
    const onConnect = () => {
      cleanup()
      resolve(client)
    }
    const onError = (error: Error & { code?: string | number }) => {
      lastError = error
      // Errors carrying an MQTT CONNACK return code are final: retrying cannot change the answer.
      if (typeof error.code === 'number') {
        fail(
          new MqttConnectRefusedError(
            `the MQTT broker at ${where} refused the connection: ${error.message}`,
            {
              cause: error,
              details: { url: where, code: error.code },
            },
          ),
        )
      }
    }
    const timer = setTimeout(() => {
      fail(
        new MqttUnreachableError(
          `no MQTT broker answered at ${where} within ${timeoutMs} ms` +
            `${lastError ? ` (${lastError.message})` : ''}; start the broker or pass the right --mqtt-url`,
          { cause: lastError, details: { url: where, timeoutMs } },
        ),
      )
    }, timeoutMs)
    client.on('connect', onConnect)
    client.on('error', onError)
  })
}

/** Ends a client, waiting for in-flight packets; idempotent. */
export async function closeMqtt(client: MqttClient, force = false): Promise<void> {
  if (client.disconnected && !client.connected) {
    await new Promise<void>((resolve) => client.end(true, () => resolve()))
    return
  }
  await new Promise<void>((resolve) => client.end(force, () => resolve()))
}
