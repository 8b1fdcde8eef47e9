/**
 * A meter on the home network: it reaches the node's broker only on the TLS listener (trusting the
 * household CA), logs in as itself, and its signed records are verified, journaled and acknowledged
 * back to it over the same TLS connection; the node's own session stays on loopback.
 */
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ackTopic, meterTopicName } from '#protocol/topics.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { makeTestCertificates } from '../mqtt/certificates.ts'
import { startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, tempDir, until } from './helpers.ts'

const meter = createTestMeter(11)
let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor
let ca: string

beforeAll(async () => {
  const certificates = await makeTestCertificates()
  ca = certificates.ca
  broker = await startTestBroker({
    tls: { port: 0, host: '127.0.0.1', key: certificates.key, cert: certificates.cert },
  })
  dir = await tempDir()
  ingestor = createIngestor({
    mqttUrl: broker.url,
    mqttCredentials: broker.users.node,
    clientId: 'zkmeter-tls-test-node',
    ...oneMeterIngestorOptions(`${dir.path}/node`, meter),
    vault: createFileSink(`${dir.path}/vault`),
  })
  await ingestor.start()
})
afterAll(async () => {
  await ingestor?.stop()
  await broker?.stop()
  await dir?.remove()
})

it('ingests and acknowledges a meter that connects over TLS with its own login', async () => {
  expect(broker.broker.tlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/)
  const name = meterTopicName(meter.address)
  const login = await broker.users.meter(name)
  const client = await mqtt.connectAsync(broker.broker.tlsUrl as string, {
    ...login,
    clientId: name,
    ca,
    reconnectPeriod: 0,
  })
  expect((client.stream as unknown as { encrypted?: boolean }).encrypted).toBe(true)
  const acks: number[] = []
  client.on('message', (topic, payload) => {
    if (topic === ackTopic(meter.address)) acks.push(JSON.parse(payload.toString()).seq)
  })
  await client.subscribeAsync(ackTopic(meter.address), { qos: 1 })
  const records = meter.intervals(0, DAY0, 24, 5_000)
  for (const r of records) {
    const m = meter.sensor(r)
    await client.publishAsync(m.topic, m.payload, { qos: 1 })
  }
  await until(() => acks.at(-1) === records.length - 1, 15_000)
  expect(ingestor.counters().stored).toBe(records.length)
  expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  await client.endAsync()
})
