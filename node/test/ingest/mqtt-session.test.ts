/**
 * The node's MQTT session against the real embedded broker: messages are taken in back to back
 * (not one at a time, each waiting for its own fsync), yet every PUBACK waits for its message to be
 * handled and PUBACKs leave in arrival order; a storage failure closes the connection without
 * acknowledging anything after it, and the broker redelivers those messages; at most `window`
 * messages are in flight.
 */
import type { IPublishPacket, MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { Status } from '#protocol/api/types.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import { type StatusContext, statusRoutes } from '../../src/http/routes/status.ts'
import {
  connectMqtt,
  type MqttSession,
  type ReconnectPolicy,
  reconnectDelay,
} from '../../src/ingest/mqtt-session.ts'
import type { IngestOutcome } from '../../src/ingest/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { closeMqtt, connectMqtt as connectClient } from '../../src/mqtt/client.ts'
import { createTestUsers, startTestBroker, type TestBroker } from '../mqtt/users.ts'

const METER = 'meter-session-test'
const TOPIC = `tele/${METER}/SENSOR`
const WAIT_MS = 15_000

interface Call {
  payload: string
  resolve(): void
  reject(error: Error): void
}

let broker: TestBroker
let session: MqttSession | undefined
let meter: MqttClient | undefined
/** Every call's settle, so a failed test does not leave the session waiting at teardown. */
let unsettled: (() => void)[] = []
let tearingDown = false

beforeEach(async () => {
  tearingDown = false
  broker = await startTestBroker()
})
afterEach(async () => {
  tearingDown = true
  for (const settle of unsettled) settle()
  unsettled = []
  await session?.end()
  session = undefined
  if (meter) await closeMqtt(meter)
  meter = undefined
  await broker.stop()
})

/** A session whose `ingest` is held open until the test settles each call. */
async function openSession(clientId: string, window?: number, reconnect?: ReconnectPolicy) {
  const calls: Call[] = []
  let outstanding = 0
  let maxOutstanding = 0
  session = await connectMqtt({
    url: broker.url,
    clientId,
    credentials: broker.users.node,
    connectTimeoutMs: 5000,
    log: silentLogger,
    ...(window !== undefined ? { window } : {}),
    ...(reconnect !== undefined ? { reconnect } : {}),
    ingest: (_topic, payload) =>
      new Promise<IngestOutcome>((resolve, reject) => {
        outstanding++
        maxOutstanding = Math.max(maxOutstanding, outstanding)
        let done = false
        const settle = () => {
          if (!done) outstanding--
          const first = !done
          done = true
          return first
        }
        const settleNow = () => {
          if (settle()) resolve({ status: 'stored', meter: '0x00', seq: 0 } as unknown as IngestOutcome)
        }
        if (tearingDown) return settleNow()
        unsettled.push(settleNow)
        calls.push({
          payload: typeof payload === 'string' ? payload : new TextDecoder().decode(payload),
          resolve: () => {
            if (settle()) resolve({ status: 'stored', meter: '0x00', seq: 0 } as unknown as IngestOutcome)
          },
          reject: (error) => {
            if (settle()) reject(error)
          },
        })
      }),
  })
  // What the node's client sends and receives, by message id: PUBACKs and the PUBLISHes they answer.
  const pubacks: string[] = []
  const payloadOf = new Map<number, string>()
  session.client.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish') {
      const p = packet as IPublishPacket
      payloadOf.set(p.messageId as number, p.payload.toString())
    }
  })
  session.client.on('packetsend', (packet) => {
    if (packet.cmd === 'puback') pubacks.push(payloadOf.get(packet.messageId as number) ?? '?')
  })
  return { calls, pubacks, maxOutstanding: () => maxOutstanding }
}

async function connectMeter(): Promise<MqttClient> {
  const login = await broker.users.meter(METER)
  meter = await connectClient(broker.url, { ...login, clientId: METER })
  return meter
}

const publishAll = (client: MqttClient, payloads: string[]) =>
  Promise.all(payloads.map((p) => client.publishAsync(TOPIC, p, { qos: 1 })))

it('takes messages in back to back, holds every PUBACK until its message is handled, and sends them in order', async () => {
  const { calls, pubacks } = await openSession('zkmeter-session-order')
  const client = await connectMeter()
  const payloads = ['r0', 'r1', 'r2', 'r3', 'r4']
  await publishAll(client, payloads)
  // All five are being handled at once: none of them waits for an earlier one to be acknowledged.
  await waitFor('five messages in flight', () => calls.length === 5, WAIT_MS)
  expect(calls.map((c) => c.payload)).toEqual(payloads)
  expect(pubacks).toEqual([])

  // r1 is handled first, but its PUBACK waits for r0's.
  calls[1]?.resolve()
  calls[0]?.resolve()
  await waitFor('two PUBACKs', () => pubacks.length === 2, WAIT_MS)
  expect(pubacks).toEqual(['r0', 'r1'])

  // r3 and r4 are handled, then r2 cannot be stored: nothing from r2 on is acknowledged, the
  // connection closes, and the broker delivers r2..r4 again to the next connection.
  const closed = new Promise<void>((resolve) => session?.client.once('close', () => resolve()))
  calls[3]?.resolve()
  calls[4]?.resolve()
  calls[2]?.reject(new Error('disk full'))
  await closed
  await waitFor('r2..r4 delivered again', () => calls.length === 8, WAIT_MS)
  expect(pubacks).toEqual(['r0', 'r1'])
  expect(calls.slice(5).map((c) => c.payload)).toEqual(['r2', 'r3', 'r4'])
  for (const c of calls.slice(5)) c.resolve()
  await waitFor('all five acknowledged', () => pubacks.length === 5, WAIT_MS)
  expect(pubacks).toEqual(['r0', 'r1', 'r2', 'r3', 'r4'])
})

it('has at most `window` messages in flight', async () => {
  const { calls, pubacks, maxOutstanding } = await openSession('zkmeter-session-window', 3)
  const client = await connectMeter()
  const payloads = Array.from({ length: 12 }, (_, i) => `w${i}`)
  await publishAll(client, payloads)
  await waitFor('a full window', () => calls.length >= 3, WAIT_MS)
  let settled = 0
  while (settled < payloads.length) {
    await waitFor(`message ${settled} in flight`, () => calls.length > settled, WAIT_MS)
    calls[settled]?.resolve()
    settled++
  }
  await waitFor('every PUBACK', () => pubacks.length === payloads.length, WAIT_MS)
  expect(pubacks).toEqual(payloads)
  expect(maxOutstanding()).toBe(3)
})

it('waits longer between reconnect attempts, with jitter, and never less than half the backoff', () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 30_000 }
  expect(reconnectDelay(0, policy, () => 0)).toBe(250)
  expect(reconnectDelay(0, policy, () => 1)).toBe(500)
  expect(reconnectDelay(3, policy, () => 0.5)).toBe(3000)
  expect(reconnectDelay(12, policy, () => 1)).toBe(30_000)
  expect(reconnectDelay(1000, policy, () => 0)).toBe(15_000)
})

it('reconnects to a restarted broker with growing, jittered waits, and shows it in its health (issue 15)', async () => {
  // A broker of this test's own, so that its logins outlive a stop and a start on the same port.
  await broker.stop()
  const users = await createTestUsers()
  try {
    broker = await startTestBroker({ users })
    const port = broker.broker.port
    const policy = { baseDelayMs: 40, maxDelayMs: 320 }
    const { calls } = await openSession('zkmeter-session-reconnect', undefined, policy)
    const s = session as MqttSession
    expect(s.health()).toMatchObject({ state: 'ok', attempts: 0, reconnects: 0, nextAttemptAt: null })
    const attempts: number[] = []
    s.client.on('reconnect', () => attempts.push(performance.now()))

    // The broker goes away: the session says so and tries again, each wait longer than the last
    // (mqtt.js alone tried every second, for ever, and nothing showed it).
    await broker.stop()
    await waitFor('seven reconnect attempts', () => attempts.length >= 7, WAIT_MS)
    const down = s.health()
    expect(down.state).toBe('degraded')
    expect(down.attempts).toBeGreaterThanOrEqual(7)
    expect(down.lastError).toEqual(expect.any(String))
    expect(down.nextAttemptAt).toEqual(expect.any(Number))
    // /api/status shows it beside the broker's URL, with ISO times, as chain.health does the RPC.
    const status = statusRoutes({
      config: { dev: true },
      identity: { meter: { address: '0x1111111111111111111111111111111111111111' } },
      history: createReadingHistory({ intervalSeconds: 900 }),
      ingestor: { status: () => [], counters: () => ({}), anomalies: () => [], broker: () => s.health() },
      chainId: 31337n,
      rpcUrl: 'http://127.0.0.1:8545',
      ledger: { address: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
      wallet: { address: '0x2222222222222222222222222222222222222222' },
      mqttUrl: broker.url,
      circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
      startedAt: Date.now(),
    } as unknown as StatusContext).status({} as never) as Status
    expect(status.mqtt.health).toMatchObject({ state: 'degraded', reconnects: 0 })
    expect(Date.parse(status.mqtt.health?.nextAttemptAt as string)).toBeGreaterThan(0)
    // Timers fire late on a busy machine, never early: each wait is at least half its backoff.
    const gaps = attempts.slice(1, 7).map((t, i) => t - (attempts[i] as number))
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(
        Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (i + 1)) / 2 - 2,
      )
    })

    // The broker is back on its port: the session reconnects by itself, health is ok again, and a
    // meter's record published to the restarted broker reaches the node.
    broker = await startTestBroker({ users, port })
    await waitFor('the session back', () => s.health().state === 'ok', WAIT_MS)
    expect(s.health()).toMatchObject({ state: 'ok', attempts: 0, reconnects: 1, nextAttemptAt: null })
    const client = await connectMeter()
    await client.publishAsync(TOPIC, 'after-restart', { qos: 1 })
    await waitFor(
      'the record after the restart',
      () => calls.some((c) => c.payload === 'after-restart'),
      WAIT_MS,
    )
    for (const c of calls) c.resolve()
  } finally {
    await session?.end()
    session = undefined
    if (meter) await closeMqtt(meter)
    meter = undefined
    await broker.stop()
    broker = await startTestBroker()
    await users.remove()
  }
})
