/**
 * Ingestion through an external broker, Debian's mosquitto (what `--mqtt-url` selects): nothing may
 * depend on aedes. The node's persistent session makes the broker queue QoS 1 records while the node
 * is down and deliver them when it comes back; the retained ack and the Resend command reach the meter.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ackTopic, meterTopicName, resendTopic } from '#protocol/topics.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { type Mosquitto, startMosquitto } from '../mqtt/mosquitto.ts'
import { createTestUsers, type TestUsers } from '../mqtt/users.ts'
import { connectMeter, createTestMeter, DAY0, oneMeterIngestorOptions, tempDir, until } from './helpers.ts'

const meter = createTestMeter(7)
let mosquitto: Mosquitto
let users: TestUsers
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor | undefined
let client: MqttClient | undefined

beforeAll(async () => {
  // Mosquitto reads its password file once: the node's and the meter's logins exist before it starts.
  users = await createTestUsers()
  await users.meter(meterTopicName(meter.address))
  mosquitto = await startMosquitto({ credentials: users.store })
  dir = await tempDir()
})
afterAll(async () => {
  await ingestor?.stop()
  await client?.endAsync()
  await mosquitto?.stop()
  await dir?.remove()
  await users?.remove()
})

const makeIngestor = () =>
  createIngestor({
    mqttUrl: mosquitto.url,
    mqttCredentials: users.node,
    clientId: 'mosquitto-test-node',
    ...oneMeterIngestorOptions(`${dir.path}/node`, meter),
    vault: createFileSink(`${dir.path}/vault`),
  })

it('stores records queued by mosquitto while the node was down, acks and asks for resends', async () => {
  const meterClient = await connectMeter({ url: mosquitto.url, users }, 'mosquitto-test-meter', meter)
  client = meterClient
  const acks: number[] = []
  const resends: unknown[] = []
  await meterClient.subscribeAsync({
    [ackTopic(meter.address)]: { qos: 1 },
    [resendTopic(meter.address)]: { qos: 1 },
  })
  meterClient.on('message', (topic, payload) => {
    if (topic === ackTopic(meter.address)) acks.push(JSON.parse(payload.toString()).seq)
    else resends.push(JSON.parse(payload.toString()))
  })
  const records = meter.intervals(0, DAY0, 40, 7_000)
  const send = async (from: number, to: number) => {
    for (const r of records.slice(from, to)) {
      const m = meter.sensor(r)
      await meterClient.publishAsync(m.topic, m.payload, { qos: 1 })
    }
  }
  ingestor = makeIngestor()
  await ingestor.start()
  await send(0, 10)
  await until(() => acks.at(-1) === 9)
  await ingestor.stop()
  // The node is down: mosquitto keeps these for its persistent session.
  await send(10, 30)
  ingestor = makeIngestor()
  await ingestor.start()
  await until(() => acks.at(-1) === 29)
  // A lost record: the node notices the gap and asks the meter for it.
  await send(31, 40)
  await until(() => resends.length > 0)
  expect(resends[0]).toEqual({ from: 30, to: 30 })
  await send(30, 31)
  await until(() => acks.at(-1) === 39)
  await ingestor.flush()
  const stored = (await createFileSink(`${dir.path}/vault`).readAll(meter.address, DAY0)) as { seq: number }[]
  expect(stored.map((r) => r.seq).sort((a, b) => a - b)).toEqual(records.map((r) => r.seq))
  expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
})
