/**
 * The team's virtual meter against the ingestor over the embedded broker: a simulated day of a
 * believable household (live samples every minute, interval closes, period closes) arrive without
 * a single rejection, the meter's buffer is freed by the node's acks, and the period assembles to
 * the meter's own commitment.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { commit } from '#protocol/commitment.ts'
import { addressOfPrivateKey } from '#protocol/eip712.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { createManualClock, createVirtualMeter, type VirtualMeter } from '../../src/meter/index.ts'
import { meterPassword, startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { DAY0, DOMAIN, INTERVAL, N, tempDir, until } from './helpers.ts'

let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor
let meter: VirtualMeter

const privateKey = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(9))
const pairingKey = new Uint8Array(32).fill(77)
const address = addressOfPrivateKey(privateKey)
const clock = createManualClock(DAY0)

beforeEach(async () => {
  broker = await startTestBroker()
  dir = await tempDir()
  ingestor = createIngestor({
    mqttUrl: broker.url,
    mqttCredentials: broker.users.node,
    clientId: 'vm-test-node',
    dataDir: `${dir.path}/node`,
    domain: DOMAIN,
    meters: [{ address, pairingKey, firstPeriodStart: DAY0 }],
    intervalSeconds: INTERVAL,
    periodReadings: N,
    periodDays: 1,
    vault: createFileSink(`${dir.path}/vault`),
  })
  await ingestor.start()
  meter = createVirtualMeter({
    privateKey,
    pairingKey,
    domain: DOMAIN,
    mqttUrl: broker.url,
    mqttPassword: await meterPassword(broker.users, privateKey),
    clock,
    periodSize: N,
    slots: 86_400 / INTERVAL,
    periodDays: 1,
    firstPeriodStart: DAY0,
    initialEnergyWh: 1_000_000,
  })
  await meter.start()
})

afterEach(async () => {
  await meter.stop()
  await ingestor.stop()
  await broker.stop()
  await dir.remove()
})

it('ingests a simulated day of the virtual meter and reproduces its period commitment', async () => {
  for (let h = 1; h <= 25; h++) await clock.advanceTo(DAY0 + h * 3600)
  await until(() => ingestor.periods().length === 1, 60_000)
  expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  for (const p of ingestor.periods()) {
    expect(commit(p.readings, p.salt, N)).toBe(p.period.commitment)
    const sum = p.readings.reduce((a, b) => a + b, 0)
    expect(sum).toBe(p.period.endCounter - p.period.startCounter)
    expect(sum).toBeGreaterThan(0)
  }
  expect(ingestor.periods().map((p) => [p.period.periodStart, p.period.periodEnd])).toEqual([
    [DAY0, DAY0 + 86_400],
  ])
  const [status] = ingestor.status()
  expect(status?.gaps).toEqual([])
  expect(status?.ackedSeq).toBeGreaterThan(96)
})
