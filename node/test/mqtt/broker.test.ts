import { Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'
import { type Broker, createBroker } from '../../src/mqtt/broker.ts'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'
import { BrokerStartError, MqttConnectRefusedError } from '../../src/mqtt/errors.ts'
import { makeTestCertificates } from './certificates.ts'
import { collect } from './collector.ts'
import { createTestUsers, type TestUsers } from './users.ts'

const brokers: Broker[] = []
let users: TestUsers
beforeAll(async () => {
  users = await createTestUsers()
})
afterAll(() => users.remove())
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.stop()
})

async function started(options: Partial<Parameters<typeof createBroker>[0]> = {}): Promise<Broker> {
  const broker = createBroker({ port: 0, credentials: users.store, ...options })
  brokers.push(broker)
  await broker.start()
  return broker
}

describe('embedded MQTT broker (aedes)', () => {
  it('listens on loopback and relays retained and live messages', async () => {
    const broker = await started()
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/)
    const publisher = await connectMqtt(broker.url, users.node)
    await publisher.publishAsync('tele/x/LWT', 'Online', { qos: 1, retain: true })
    const sub = await collect(broker.url, ['tele/#'], users.node)
    await sub.waitFor((m) => m.topic === 'tele/x/LWT' && m.retain, 3000, 'the retained LWT')
    await publisher.publishAsync('tele/x/SENSOR', '{"a":1}', { qos: 1 })
    await sub.waitFor((m) => m.topic === 'tele/x/SENSOR' && m.payload === '{"a":1}', 3000, 'the live message')
    await sub.close()
    await closeMqtt(publisher)
  })

  it('drops a publish above the payload limit and disconnects its sender, others unaffected', async () => {
    const logs: LogEntry[] = []
    const broker = await started({
      maxPayloadBytes: 1024,
      log: createLogger({ sink: (entry) => logs.push(entry) }),
    })
    const sub = await collect(broker.url, ['big/#'], users.node)
    const publisher = await connectMqtt(broker.url, { ...users.node, reconnectPeriod: 0 })
    const closed = new Promise<void>((resolve) => publisher.once('close', () => resolve()))
    publisher.publish('big/one', Buffer.alloc(1025), { qos: 0 })
    await closed
    await closeMqtt(publisher)
    // An oversize packet beyond the header allowance is cut off at its fixed header.
    const raw = await connectMqtt(broker.url, { ...users.node, reconnectPeriod: 0 })
    const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()))
    raw.publish('big/two', Buffer.alloc(200_000), { qos: 0 })
    await rawClosed
    await closeMqtt(raw)
    const ok = await connectMqtt(broker.url, users.node)
    await ok.publishAsync('big/fine', Buffer.alloc(1024), { qos: 1 })
    await sub.waitFor((m) => m.topic === 'big/fine', 3000, 'the in-limit message')
    expect(sub.messages.map((m) => m.topic)).toEqual(['big/fine'])
    const reasons = logs
      .map((l) => (l.error instanceof Error ? l.error.message : String(l.reason)))
      .join('\n')
    expect(reasons).toMatch(/exceeds the 1024-byte limit/)
    expect(reasons).toMatch(/announced \d+ bytes/)
    await closeMqtt(ok)
    await sub.close()
  })

  it('closes a raw connection that announces a huge packet without waiting for its body', async () => {
    const broker = await started()
    const socket = new Socket()
    await new Promise<void>((resolve) => socket.connect(broker.port, '127.0.0.1', resolve))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    // PUBLISH fixed header announcing 200 MB (0xff 0xff 0xff 0x5f), then nothing.
    socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x5f]))
    await closed
  })

  it('reports a busy port as BrokerStartError, validates options, and stops idempotently', async () => {
    const first = await started()
    const second = createBroker({ port: first.port, credentials: users.store })
    await expect(second.start()).rejects.toBeInstanceOf(BrokerStartError)
    await second.stop()
    const credentials = users.store
    expect(() => createBroker({ port: 70_000, credentials })).toThrow(InvalidInputError)
    expect(() => createBroker({ maxPayloadBytes: 0, credentials })).toThrow(/maxPayloadBytes/)
    expect(() => createBroker({ credentials }).url).toThrow(BrokerStartError)
    await first.stop()
    await first.stop()
    await expect(first.start()).rejects.toBeInstanceOf(BrokerStartError)
  })

  it('stop() closes connected clients and frees the port', async () => {
    const broker = await started()
    const port = broker.port
    const client = await connectMqtt(broker.url, { ...users.node, reconnectPeriod: 0 })
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    await broker.stop()
    await closed
    await closeMqtt(client, true)
    const again = await started({ port })
    expect(again.port).toBe(port)
  })
})

describe('embedded MQTT broker over TLS', () => {
  it('serves the same broker on a TLS listener, trusted through the CA, logins and ACLs included', async () => {
    const certificates = await makeTestCertificates()
    const broker = await started({
      tls: { port: 0, host: '127.0.0.1', key: certificates.key, cert: certificates.cert },
    })
    expect(broker.tlsUrl).toBe(`mqtts://127.0.0.1:${broker.tlsPort}`)
    const url = broker.tlsUrl as string
    const meter = await users.meter('zkm_1111111111111111111111111111111111111111')
    const sub = await collect(broker.url, ['tele/#'], users.node)
    const client = await connectMqtt(url, { ...meter, clientId: meter.username, ca: certificates.ca })
    await client.publishAsync(`tele/${meter.username}/SENSOR`, 'over-tls', { qos: 1 })
    await sub.waitFor((m) => m.payload === 'over-tls', 3000, 'the record sent over TLS')
    await closeMqtt(client)
    // A client that does not trust the CA never gets as far as a login.
    await expect(
      connectMqtt(url, { ...meter, clientId: meter.username, reconnectPeriod: 0, timeoutMs: 2000 }),
    ).rejects.toThrow()
    // Nor does a wrong password over TLS.
    await expect(
      connectMqtt(url, { username: meter.username, password: 'x', ca: certificates.ca, reconnectPeriod: 0 }),
    ).rejects.toBeInstanceOf(MqttConnectRefusedError)
    await sub.close()
  })
})
