/**
 * The virtual meter and the ingestor over the embedded broker when the node was away: it comes
 * back as a new MQTT session (nothing queued for it), finds only the retained, latest PERIOD, and
 * must get the rest from the meter — ResendPeriod for closes, Resend for records, and GONE where the
 * meter's buffer overflowed meanwhile (docs/protocol.md §7, Recovery).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { addressOfPrivateKey } from '#protocol/eip712.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createManualClock, createVirtualMeter, type VirtualMeter } from '../../src/meter/index.ts'
import { meterPassword, startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { DAY0, DOMAIN, INTERVAL, N, tempDir, until } from './helpers.ts'

const DAY = 86_400
const privateKey = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(10))
const pairingKey = new Uint8Array(32).fill(78)
const address = addressOfPrivateKey(privateKey)

let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor | undefined
let meter: VirtualMeter | undefined

function node(clientId: string): Ingestor {
  return createIngestor({
    mqttUrl: broker.url,
    mqttCredentials: broker.users.node,
    clientId,
    dataDir: `${dir.path}/node`,
    domain: DOMAIN,
    meters: [{ address, pairingKey, firstPeriodStart: DAY0 }],
    intervalSeconds: INTERVAL,
    periodReadings: N,
    periodDays: 1,
    resendIntervalMs: 500,
  })
}

async function startMeter(bufferCapacity: number) {
  const clock = createManualClock(DAY0)
  meter = createVirtualMeter({
    privateKey,
    pairingKey,
    domain: DOMAIN,
    mqttUrl: broker.url,
    mqttPassword: await meterPassword(broker.users, privateKey),
    clock,
    periodSize: N,
    slots: DAY / INTERVAL,
    periodDays: 1,
    firstPeriodStart: DAY0,
    initialEnergyWh: 2_000_000,
    livePeriodSeconds: 900,
    statePeriodSeconds: 3600,
    bufferCapacity,
  })
  await meter.start()
  return clock
}

async function advance(clock: ReturnType<typeof createManualClock>, to: number): Promise<void> {
  for (let t = clock.now() + 3600; t <= to; t += 3600) await clock.advanceTo(t)
}

beforeEach(async () => {
  broker = await startTestBroker()
  dir = await tempDir()
})

afterEach(async () => {
  await meter?.stop()
  await ingestor?.stop()
  await broker.stop()
  await dir.remove()
})

it('recovers both periods when the node was offline across two closes', async () => {
  ingestor = node('recovery-node-1')
  await ingestor.start()
  const clock = await startMeter(4096)
  await advance(clock, DAY0 + 6 * 3600)
  await until(() => (ingestor?.status()[0]?.ackedSeq ?? -1) >= 40)
  await ingestor.stop()
  // Away for two closes; back as a new session: only the retained (second) close is there.
  await advance(clock, DAY0 + 2 * DAY + 3600)
  ingestor = node('recovery-node-2')
  await ingestor.start()
  await advance(clock, DAY0 + 2 * DAY + 3 * 3600)
  await until(() => ingestor?.periods().length === 2, 30_000)
  const periods = ingestor.periods().map((p) => p.period.periodStart)
  expect(periods.sort()).toEqual([DAY0, DAY0 + DAY])
  await until(() => ingestor?.status()[0]?.ackedSeq === meter!.state().nextSeq - 1, 10_000)
  const status = ingestor.status()[0]!
  expect(status).toMatchObject({ gaps: [], gone: [], missingPeriods: [] })
  expect(status.openPeriod).toEqual({ periodStart: DAY0 + 2 * DAY, periodDays: 1 })
  expect(ingestor.anomalies({ kind: 'period-missing' })).toHaveLength(1)
  expect(ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
})

it('moves the ack past records the overflowed buffer lost and refuses that period with the reason', async () => {
  ingestor = node('overflow-node-1')
  await ingestor.start()
  const clock = await startMeter(40)
  await advance(clock, DAY0 + 2 * 3600)
  await until(() => (ingestor?.status()[0]?.ackedSeq ?? -1) >= 10)
  await ingestor.stop()
  // ~2 records per 15 min for 18 h: far more than the meter's 40-record buffer holds.
  await advance(clock, DAY0 + 20 * 3600)
  ingestor = node('overflow-node-2')
  await ingestor.start()
  await advance(clock, DAY0 + 26 * 3600)
  const next = meter!.state().nextSeq
  await until(() => ingestor?.status()[0]?.ackedSeq === next - 1, 30_000)
  const status = ingestor.status()[0]!
  expect(status.gaps).toEqual([])
  expect(status.gone.length).toBeGreaterThan(0)
  expect(ingestor.anomalies({ kind: 'records-gone' }).some((a) => !a.rejected)).toBe(true)
  // The day's close arrived and is refused for good: never billed, never waiting.
  await until(() => ingestor?.status()[0]?.periods.some((p) => p.status === 'rejected') === true, 10_000)
  const period = ingestor.status()[0]!.periods.find((p) => p.periodStart === DAY0)!
  expect(period.status).toBe('rejected')
  expect(period.reason).toMatch(/cannot be billed: the meter signed that records \d+\.\.\d+ are gone/)
  expect(ingestor.periods().map((p) => p.period.periodStart)).not.toContain(DAY0)
})
