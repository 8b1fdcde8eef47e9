/**
 * A home with a rooftop PV array, end to end: the virtual meter (options.pv) over the embedded
 * broker on a sunny June day, the ingestor assembling the period. The meter exports at midday, the
 * node rebuilds both the import and the export readings and reproduces both signed commitments,
 * and the import bill's readings are the import counter's alone.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { commit, commitExport } from '#protocol/commitment.ts'
import { addressOfPrivateKey } from '#protocol/eip712.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import { createManualClock, createVirtualMeter, type VirtualMeter } from '../../src/meter/index.ts'
import { createPvArray } from '../../src/meter/pv.ts'
import { meterPassword, startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { DOMAIN, INTERVAL, N, tempDir, until } from './helpers.ts'

const PV = { peakW: 6000, latitudeDeg: 48 }
/** The first day of June 2027 the meter's sky (seed 1, UTC) is sunny. */
const SUNNY_DAY = (() => {
  const sky = createPvArray({ ...PV, seed: 1, stepSeconds: 10, utcOffsetMinutes: 0 })
  for (let d = Date.UTC(2027, 5, 1) / 1000; ; d += 86_400) if (sky.weather(d + 43_200) === 'sunny') return d
})()

let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor
let meter: VirtualMeter

const privateKey = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(21))
const pairingKey = new Uint8Array(32).fill(78)
const address = addressOfPrivateKey(privateKey)
const clock = createManualClock(SUNNY_DAY)

beforeEach(async () => {
  broker = await startTestBroker()
  dir = await tempDir()
  ingestor = createIngestor({
    mqttUrl: broker.url,
    mqttCredentials: broker.users.node,
    clientId: 'vm-pv-test-node',
    dataDir: `${dir.path}/node`,
    domain: DOMAIN,
    meters: [{ address, pairingKey, firstPeriodStart: SUNNY_DAY }],
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
    firstPeriodStart: SUNNY_DAY,
    initialEnergyWh: 1_000_000,
    initialExportedWh: 250_000,
    pv: PV,
  })
  await meter.start()
})

afterEach(async () => {
  await meter.stop()
  await ingestor.stop()
  await broker.stop()
  await dir.remove()
})

it('exports at midday on a sunny day and the node reproduces both signed commitments', async () => {
  for (let h = 1; h <= 25; h++) await clock.advanceTo(SUNNY_DAY + h * 3600)
  await until(() => ingestor.periods().length === 1, 60_000)
  expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  const [p] = ingestor.periods()
  if (p?.exportClose === undefined || p.exportReadings === undefined) throw new Error('no export half')
  expect(commit(p.readings, p.salt, N)).toBe(p.period.commitment)
  expect(commitExport(p.exportReadings, p.salt, N)).toBe(p.exportClose.commitment)
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  expect(sum(p.exportReadings)).toBe(p.exportClose.endCounter - p.exportClose.startCounter)
  expect(p.exportClose.startCounter).toBe(250_000)
  expect(sum(p.readings)).toBe(p.period.endCounter - p.period.startCounter)
  // Export at midday (a 6 kWp array outruns the household), none at night; import the other way.
  const hour = (h: number) => p.exportReadings?.slice(h * 4, h * 4 + 4) ?? []
  expect(sum(hour(11)) + sum(hour(12))).toBeGreaterThan(2000)
  expect(sum(hour(1))).toBe(0)
  expect(sum(hour(23))).toBe(0)
  expect(sum(p.readings.slice(1 * 4, 2 * 4))).toBeGreaterThan(0)
  expect(sum(p.exportReadings)).toBeGreaterThan(10_000)
  // Never more through the line in one interval than a reading holds, both ways together.
  p.readings.forEach((wh, i) => {
    expect(wh + (p.exportReadings?.[i] ?? 0)).toBeLessThanOrEqual(32_767)
  })
})
