/**
 * The node's MQTT session against the real embedded broker: messages are taken in back to back
 * (not one at a time, each waiting for its own fsync), yet every PUBACK waits for its message to be
 * handled and PUBACKs leave in arrival order; a storage failure closes the connection without
 * acknowledging anything after it, and the broker redelivers those messages; at most `window`
 * messages are in flight.
 */
import type { IPublishPacket, MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { waitFor } from '../../../test/support/wait.ts'
import { connectMqtt, type MqttSession } from '../../src/ingest/mqtt-session.ts'
import type { IngestOutcome } from '../../src/ingest/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { closeMqtt, connectMqtt as connectClient } from '../../src/mqtt/client.ts'
import { startTestBroker, type TestBroker } from '../mqtt/users.ts'

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
async function openSession(clientId: string, window?: number) {
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
