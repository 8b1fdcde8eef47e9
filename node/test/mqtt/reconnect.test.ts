/**
 * The node's other MQTT clients (automation, the serial bridge, the virtual meter: all through
 * src/mqtt/client.ts) against a real broker that is stopped and started again on its port: they
 * reconnect with the same capped, jittered backoff as the ingest session (src/mqtt/reconnect.ts),
 * not mqtt.js' fixed 1 s for ever (issue 15), and come back once the broker does.
 */
import type { MqttClient } from 'mqtt'
import { afterEach, expect, it } from 'vitest'
import { topicsForName } from '#protocol/topics.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { connectMeter } from '../../src/meter/publisher.ts'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'
import { DEFAULT_RECONNECT } from '../../src/mqtt/reconnect.ts'
import { createTestUsers, startTestBroker, type TestBroker, type TestUsers } from './users.ts'

const WAIT_MS = 30_000
let broker: TestBroker | undefined
let users: TestUsers | undefined
const clients: MqttClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) await closeMqtt(c, true)
  await broker?.stop()
  broker = undefined
  await users?.remove()
  users = undefined
})

/** Times of the client's reconnect attempts while its broker is down, then its return. */
async function outage(client: MqttClient, attempts: number) {
  const times: number[] = []
  client.on('reconnect', () => times.push(performance.now()))
  const b = broker as TestBroker
  const port = b.broker.port
  await b.stop()
  await waitFor(`${attempts} reconnect attempts`, () => times.length >= attempts, WAIT_MS)
  broker = await startTestBroker({ users: users as TestUsers, port })
  await waitFor('the client back', () => client.connected, WAIT_MS)
  return times
    .slice(0, attempts)
    .slice(1)
    .map((t, i) => t - (times[i] as number))
}

it('the virtual meter reconnects to a stopped broker with growing waits, and comes back when it restarts', async () => {
  users = await createTestUsers()
  broker = await startTestBroker({ users })
  const topic = 'meter-reconnect-test'
  const login = await users.meter(topic)
  const topics = topicsForName(topic)
  const client = await connectMeter(broker.url, topic, topics, 5000, { password: login.password })
  clients.push(client)
  const gaps = await outage(client, 4)
  // The wait before attempt k is at least half of min(max, base·2^k): 1, 2, 4 s of backoff for the gaps measured.
  // Timers fire late on a busy machine, never early. With the fixed 1 s every gap was about 1 s.
  gaps.forEach((gap, i) => {
    const backoff = Math.min(DEFAULT_RECONNECT.maxDelayMs, DEFAULT_RECONNECT.baseDelayMs * 2 ** (i + 1))
    expect(gap).toBeGreaterThanOrEqual(backoff / 2 - 2)
  })
  expect(gaps.at(-1)).toBeGreaterThanOrEqual(2000 - 2)
  // Back in session: a publish reaches the restarted broker.
  await client.publishAsync(topics.sensor, 'after-restart', { qos: 1 })
})

it('an automation or bridge client (the node login) backs off up to its cap and reconnects', async () => {
  users = await createTestUsers()
  broker = await startTestBroker({ users })
  const policy = { baseDelayMs: 40, maxDelayMs: 320 }
  const client = await connectMqtt(broker.url, {
    clientId: 'zkmeter-automation-reconnect',
    ...users.node,
    reconnect: policy,
  })
  clients.push(client)
  const gaps = await outage(client, 8)
  gaps.forEach((gap, i) => {
    expect(gap).toBeGreaterThanOrEqual(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (i + 1)) / 2 - 2)
  })
  // The first waits are far below mqtt.js' fixed second (the backoff starts small): a broker
  // restart costs a moment, not a second per try.
  expect(Math.min(...gaps)).toBeLessThan(1000)
  const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(String(p))))
  await client.subscribeAsync('test/reconnect', { qos: 1 })
  await client.publishAsync('test/reconnect', 'back', { qos: 1 })
  expect(await got).toBe('back')
})

it('refuses a backoff that is not one', async () => {
  await expect(
    connectMqtt('mqtt://127.0.0.1:1', { reconnect: { baseDelayMs: 0, maxDelayMs: 10 } }),
  ).rejects.toThrow(/baseDelayMs/)
})
