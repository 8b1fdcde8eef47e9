/**
 * The meter's MQTT link: connecting with the Tasmota last will, and publishing with every message
 * tracked, so that a manual clock's advance() can resolve after the broker has accepted every message
 * it caused (flush()).
 */

import type { MqttClient } from 'mqtt'
import type { MeterTopics } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import { connectMqtt } from '../mqtt/client.ts'

export interface Publisher {
  /** The connected client; undefined before start and after stop (publishing is then a no-op). */
  client: MqttClient | undefined
  publish(topic: string, payload: string, retain?: boolean): void
  /**
   * What a publish waits for before it goes out (the meter's checkpoint write that covers it);
   * a publish whose gate rejects is not sent (logged). Default: nothing.
   */
  gate: () => Promise<void>
  /**
   * Resolves when every message published before the call has been accepted by the broker (or has
   * failed); messages published meanwhile are not waited for.
   */
  flush(): Promise<void>
  /**
   * Gives up on the messages still in flight (the client was closed without their PUBACKs; the
   * meter's checkpoint keeps them for the next start): every flush waiting on them resolves now.
   */
  abandon(): void
}

export function createPublisher(log: Logger): Publisher {
  const pending = new Set<Promise<unknown>>()
  let abandoned!: () => void
  const abandon = new Promise<void>((resolve) => {
    abandoned = resolve
  })
  const publisher: Publisher = {
    client: undefined,
    gate: () => Promise.resolve(),
    publish(topic, payload, retain = false) {
      const c = publisher.client
      if (!c) return
      // Gates resolve in the order they were taken, so messages still leave in publish order.
      const p = publisher
        .gate()
        .then(() => c.publishAsync(topic, payload, { qos: 1, retain }))
        .catch((error: Error) => {
          log.info('a publish failed', { topic, error })
        })
      pending.add(p)
      void p.finally(() => pending.delete(p))
    },
    async flush() {
      // Only what was published before this call: a scaled clock keeps publishing while we wait, and
      // chasing an empty set would never end on a node that acks more slowly than the meter publishes
      // (a busy machine). That made start() (and stop()) of the virtual meter hang for minutes.
      await Promise.race([Promise.all([...pending, publisher.gate().catch(() => undefined)]), abandon])
    },
    abandon: () => abandoned(),
  }
  return publisher
}

/**
 * Connects as the meter (client id and user name = its topic name, as the broker's ACL wants) with
 * an "Offline" retained last will.
 */
export function connectMeter(
  url: string,
  topic: string,
  topics: MeterTopics,
  timeoutMs: number,
  login: { password?: string | undefined; ca?: string | undefined } = {},
): Promise<MqttClient> {
  return connectMqtt(url, {
    clientId: topic,
    timeoutMs,
    ...(login.password === undefined ? {} : { username: topic, password: login.password }),
    ...(login.ca === undefined ? {} : { ca: login.ca }),
    will: { topic: topics.lwt, payload: Buffer.from('Offline'), qos: 1, retain: true },
  })
}
