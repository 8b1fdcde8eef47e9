/**
 * Reconnect backoff for every MQTT client of the node (the ingest session, automation, the serial
 * bridge, the virtual meter): mqtt.js on its own waits a fixed `reconnectPeriod` (1 s) after each
 * failed attempt, for ever. A broker restart takes seconds; a broker gone for good should not be
 * hammered every second for hours, nor by every home behind one external broker in step after its
 * outage. So the wait doubles from a base to a cap, with jitter.
 */
import type { MqttClient } from 'mqtt'
import { InvalidInputError } from '#protocol/errors.ts'

/** Reconnect backoff: base · 2^attempt, at most max, with jitter (half of it random). */
export interface ReconnectPolicy {
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseDelayMs: 500, maxDelayMs: 30_000 }

/**
 * The wait before reconnect attempt `attempt` (0 for the first after a loss): the capped
 * exponential delay, its upper half drawn at random ("equal jitter": never less than half the
 * backoff, so jitter cannot turn it back into a tight loop, and spread so clients do not retry in step).
 */
export function reconnectDelay(attempt: number, policy: ReconnectPolicy, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30))
  return Math.max(1, Math.round(cap / 2 + random() * (cap / 2)))
}

export function validateReconnect(policy: ReconnectPolicy): void {
  if (
    !(policy.baseDelayMs >= 1) ||
    !(policy.maxDelayMs >= policy.baseDelayMs) ||
    !Number.isFinite(policy.maxDelayMs)
  ) {
    throw new InvalidInputError('reconnect needs 1 ≤ baseDelayMs ≤ maxDelayMs (milliseconds)')
  }
}

/** What the backoff knows of the attempts since the last loss (for a status, a log, a test). */
export interface ReconnectState {
  /** Attempts since the connection was lost (0 while connected). */
  readonly attempts: number
  /** The wait mqtt.js applies after the current close, in ms. */
  readonly nextDelayMs: number
}

/**
 * Makes `client` wait with backoff between reconnect attempts. mqtt.js waits
 * `options.reconnectPeriod` after each close, reading it when the close comes: setting it as each
 * attempt starts makes the wait after a failure grow; a connection resets it. The client must have
 * been created with `reconnectPeriod: reconnectDelay(0, policy)` (0 would switch reconnects off).
 */
export function applyReconnectBackoff(client: MqttClient, policy: ReconnectPolicy): ReconnectState {
  validateReconnect(policy)
  let attempts = 0
  client.on('reconnect', () => {
    attempts++
    client.options.reconnectPeriod = reconnectDelay(attempts, policy)
  })
  client.on('connect', () => {
    attempts = 0
    client.options.reconnectPeriod = reconnectDelay(0, policy)
  })
  return {
    get attempts() {
      return attempts
    },
    get nextDelayMs() {
      return client.options.reconnectPeriod ?? 0
    },
  }
}
