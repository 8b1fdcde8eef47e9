/** Test helper: a subscriber that records every message and can wait for one matching a predicate. */
import type { MqttClient } from 'mqtt'
import { connectMqtt } from '../../src/mqtt/client.ts'
import type { MqttCredentials } from '../../src/mqtt/credentials.ts'

export interface Message {
  topic: string
  payload: string
  retain: boolean
}

export interface Collector {
  client: MqttClient
  messages: Message[]
  on(topic: string): Message[]
  waitFor(predicate: (m: Message) => boolean, timeoutMs?: number, what?: string): Promise<Message>
  waitForCount(topic: string, count: number, timeoutMs?: number): Promise<Message[]>
  close(): Promise<void>
}

/** Subscribes with these credentials (every broker of the tests asks for a login). */
export async function collect(
  url: string,
  filters: string[],
  credentials: MqttCredentials,
): Promise<Collector> {
  const client = await connectMqtt(url, { timeoutMs: 3000, ...credentials })
  const messages: Message[] = []
  const waiters = new Set<() => void>()
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain })
    for (const wake of [...waiters]) wake()
  })
  await client.subscribeAsync(filters, { qos: 1 })
  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const wake = () => {
        const value = check()
        if (value !== undefined) {
          waiters.delete(wake)
          clearTimeout(timer)
          resolve(value)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(wake)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      waiters.add(wake)
      wake()
    })
  return {
    client,
    messages,
    on: (topic) => messages.filter((m) => m.topic === topic),
    waitFor: (predicate, timeoutMs = 5000, what = 'a message') =>
      waitUntil(() => messages.find(predicate), timeoutMs, what),
    waitForCount: (topic, count, timeoutMs = 5000) =>
      waitUntil(
        () => {
          const list = messages.filter((m) => m.topic === topic)
          return list.length >= count ? list : undefined
        },
        timeoutMs,
        `${count} messages on ${topic}`,
      ),
    async close() {
      await client.endAsync(true)
    },
  }
}
