/**
 * The virtual meter against the embedded aedes broker, driven by a manual clock: what a household
 * node subscribing to it would see.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { commit, deriveSalt } from '#protocol/commitment.ts'
import { billingPeriodDigest, hexToBytes, recoverSigner } from '#protocol/eip712.ts'
import {
  parseGonePayload,
  parsePeriodPayload,
  parseSensorPayload,
  parseStatePayload,
  verifyGoneSignature,
  verifyRecordSignature,
} from '#protocol/records.ts'
import { goneTopic } from '#protocol/topics.ts'
import { reservePort } from '../../../test/support/ports.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import { createManualClock } from '../../src/meter/clock.ts'
import { InvalidMeterOptionError, MeterStateError } from '../../src/meter/errors.ts'
import { createVirtualMeter, RECENT_PERIODS } from '../../src/meter/virtual-meter.ts'
import { MqttUnreachableError } from '../../src/mqtt/errors.ts'
import { startTestBroker, type TestBroker } from '../mqtt/users.ts'
import {
  DOMAIN,
  INTERVAL,
  MIDNIGHT,
  PAIRING_KEY,
  PRIVATE_KEY,
  type Rig,
  signerOf,
  startRig,
  TEST_N,
  type ZkRecord,
} from './fixtures.ts'

let broker: TestBroker
let rig: Rig | undefined

beforeAll(async () => {
  broker = await startTestBroker()
})
afterAll(async () => {
  await broker.stop()
})
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

/** Readings of a period rebuilt from interval records, indexed from the UTC-midnight anchor (§2). */
function readingsOf(records: ZkRecord[], periodStart: number, periodEnd: number, n: number): number[] {
  const anchor = periodStart - (periodStart % 86_400)
  const readings = new Array<number>(n).fill(0)
  for (const r of records) {
    if (r.kind !== 1 || r.time - INTERVAL < periodStart || r.time > periodEnd) continue
    readings[(r.time - INTERVAL - anchor) / INTERVAL] = r.intervalWh
  }
  return readings
}

interface PeriodJson {
  meter: `0x${string}`
  periodStart: number
  periodEnd: number
  startCounter: number
  endCounter: number
  commitment: `0x${string}`
  sig: `0x${string}`
}

describe('virtual meter over aedes', () => {
  it('publishes signed records with monotonic seq and counters whose deltas are the interval Wh', async () => {
    rig = await startRig(broker)
    await rig.clock.advance(6 * 3600)
    const records = await rig.sub.waitForCount(rig.meter.topics.sensor, 24 + 72)
    const parsed = records.map((m) => parseSensorPayload(m.topic, m.payload))
    const zk = rig.records()
    expect(zk.every((r) => signerOf(r) === rig?.meter.address)).toBe(true)
    for (const p of parsed) verifyRecordSignature(DOMAIN, rig.meter.address, p.record, p.signature)
    zk.forEach((r, i) => {
      expect(r.seq).toBe(i)
    })
    const intervals = zk.filter((r) => r.kind === 1)
    expect(intervals).toHaveLength(24)
    let previous = 0
    for (const r of intervals) {
      expect(r.time % INTERVAL).toBe(0)
      expect(r.energyWh - previous).toBe(r.intervalWh)
      previous = r.energyWh
    }
    // Live samples report the Wh so far in the running interval and never run the counter back.
    for (let i = 1; i < zk.length; i++) expect(zk[i]!.energyWh).toBeGreaterThanOrEqual(zk[i - 1]!.energyWh)
    const live = zk.filter((r) => r.kind === 0 && r.time % INTERVAL !== 0)
    for (const r of live) {
      const last = intervals.filter((x) => x.time < r.time).at(-1)
      expect(r.energyWh - (last?.energyWh ?? 0)).toBe(r.intervalWh)
    }
    // Display fields are consistent with the signed block.
    const first = JSON.parse(records[0]!.payload) as {
      ENERGY: { Total: number; Voltage: number }
      ZK: ZkRecord
    }
    expect(first.ENERGY.Total).toBe(first.ZK.energyWh / 1000)
    expect(first.ENERGY.Voltage).toBe(first.ZK.voltageMv / 1000)
  })

  it('closes a period whose commitment is commit(readings, deriveSalt(…), N) and whose signature verifies', async () => {
    // Provisioned at 06:00: the first period runs 06:00 → the second midnight, indexed from midnight.
    rig = await startRig(broker, { periodDays: 2, livePeriodSeconds: 900 }, MIDNIGHT + 6 * 3600)
    await rig.clock.advance(42 * 3600)
    const message = await rig.sub.waitFor(
      (m) => m.topic === rig?.meter.topics.period,
      5000,
      'a PERIOD message',
    )
    expect(message.retain).toBe(false) // live delivery; the retained copy is checked below
    const period = JSON.parse(message.payload) as PeriodJson
    expect(period.periodStart).toBe(MIDNIGHT + 6 * 3600)
    expect(period.periodEnd).toBe(MIDNIGHT + 2 * 86_400)
    const records = rig.records()
    const readings = readingsOf(records, period.periodStart, period.periodEnd, TEST_N)
    expect(readings.slice(0, 24).every((r) => r === 0)).toBe(true)
    expect(readings.reduce((a, b) => a + b, 0)).toBe(period.endCounter - period.startCounter)
    const salt = deriveSalt(PAIRING_KEY, hexToBytes(rig.meter.address, 20), period.periodStart)
    expect(BigInt(period.commitment)).toBe(commit(readings, salt, TEST_N))
    const { sig, v: _v, ...fields } = period as PeriodJson & { v: number }
    const digest = billingPeriodDigest(DOMAIN, { ...fields, commitment: BigInt(fields.commitment) })
    expect(recoverSigner(digest, sig)).toBe(rig.meter.address)
    expect(parsePeriodPayload(message.topic, message.payload).period.commitment).toBe(
      BigInt(period.commitment),
    )
    // The next period opened where this one ended, with the same counter.
    expect(rig.meter.state().period).toMatchObject({
      start: period.periodEnd,
      startCounter: period.endCounter,
    })
    // A node subscribing later still gets the close: it is retained.
    const late = await (await import('../mqtt/collector.ts')).collect(
      broker.url,
      [rig.meter.topics.period],
      broker.users.node,
    )
    const retained = await late.waitFor(() => true, 3000, 'the retained PERIOD')
    await late.close()
    expect(retained.retain).toBe(true)
    expect(retained.payload).toBe(message.payload)
  })

  it(`keeps the last ${RECENT_PERIODS} signed closes and republishes one on ResendPeriod, unretained`, async () => {
    rig = await startRig(
      broker,
      { periodDays: 1, livePeriodSeconds: 900, statePeriodSeconds: 21_600 },
      MIDNIGHT,
    )
    const { meter, sub } = rig
    await rig.clock.advance((RECENT_PERIODS + 2) * 86_400)
    // Live closes only: an earlier test of the same meter key left a retained one on the broker.
    const live = () => sub.on(meter.topics.period).filter((m) => !m.retain)
    await waitUntil(() => live().length === RECENT_PERIODS + 2, 3000)
    const closes = live()
    const starts = closes.map((m) => JSON.parse(m.payload).periodStart as number)
    expect(meter.state().recentPeriods).toEqual(starts.slice(-RECENT_PERIODS))
    // STATE names the period the meter has open now and its rule. The broker accepted every message
    // when advance() resolved, but the subscriber may not have read the last STATE yet: wait for it.
    const openState = () => {
      const last = sub.on(meter.topics.state).at(-1)
      return last && parseStatePayload(last.topic, last.payload, { intervalSeconds: INTERVAL })
    }
    await waitUntil(() => openState()?.periodStart === MIDNIGHT + (RECENT_PERIODS + 2) * 86_400, 3000)
    expect(openState()).toMatchObject({
      periodStart: MIDNIGHT + (RECENT_PERIODS + 2) * 86_400,
      periodDays: 1,
    })
    const wanted = closes.at(-3)!
    await sub.client.publishAsync(
      meter.topics.command('ResendPeriod'),
      JSON.stringify({ periodStart: starts.at(-3) }),
    )
    await waitUntil(() => live().length === RECENT_PERIODS + 3, 3000)
    const again = live()
    expect(again.at(-1)!.payload).toBe(wanted.payload)
    expect(again.at(-1)!.retain).toBe(false)
    // Too old: not kept, logged, nothing published.
    await sub.client.publishAsync(
      meter.topics.command('ResendPeriod'),
      JSON.stringify({ periodStart: starts[0] }),
    )
    await waitUntil(
      () => rig?.logs.some((l) => l.msg.includes(`ResendPeriod ${starts[0]}: no such close`)) === true,
      3000,
    )
    expect(live()).toHaveLength(RECENT_PERIODS + 3)
    // The retained PERIOD is still the latest close.
    const late = await (await import('../mqtt/collector.ts')).collect(
      broker.url,
      [meter.topics.period],
      broker.users.node,
    )
    const retained = await late.waitFor(() => true, 3000, 'the retained PERIOD')
    await late.close()
    expect(retained.payload).toBe(closes.at(-1)!.payload)
  })

  it('switches relays and the fan on command and reports on stat/', async () => {
    rig = await startRig(broker)
    const { meter, sub } = rig
    await sub.client.publishAsync(meter.topics.command('POWER3'), 'on')
    await sub.waitFor((m) => m.topic === meter.topics.power(3) && m.payload === 'ON', 3000, 'stat POWER3 ON')
    expect(sub.on(meter.topics.result).map((m) => JSON.parse(m.payload))).toContainEqual({ POWER3: 'ON' })
    await sub.client.publishAsync(meter.topics.command('power3'), 'TOGGLE')
    await sub.waitFor(
      (m) => m.topic === meter.topics.power(3) && m.payload === 'OFF',
      3000,
      'stat POWER3 OFF',
    )
    await sub.client.publishAsync(meter.topics.command('FanSpeed'), '2')
    await sub.waitFor(
      (m) => m.topic === meter.topics.result && m.payload.includes('FanSpeed'),
      3000,
      'FanSpeed',
    )
    expect(sub.on(meter.topics.result).map((m) => JSON.parse(m.payload))).toContainEqual({
      POWER1: 'ON',
      FanSpeed: 2,
    })
    await sub.client.publishAsync(meter.topics.command('POWER2'), '1')
    await sub.waitFor((m) => m.topic === meter.topics.power(2) && m.payload === 'ON', 3000, 'stat POWER2 ON')
    expect(meter.state()).toMatchObject({ relays: 0b1000_0011, fanSpeed: 2 })
    await rig.clock.advance(INTERVAL)
    await rig.waitForRecord(
      (r) => r.kind === 1 && r.relays === 0b1000_0011 && r.fanSpeed === 2,
      'relays in a record',
    )
    // Querying with an empty payload answers with the state, as Tasmota does.
    await sub.client.publishAsync(meter.topics.command('POWER8'), '')
    await sub.waitFor(
      (m) => m.topic === meter.topics.result && m.payload === '{"POWER8":"ON"}',
      3000,
      'query',
    )
    await sub.client.publishAsync(meter.topics.command('PeriodDays'), '2')
    await sub.waitFor(
      (m) => m.topic === meter.topics.result && m.payload === '{"PeriodDays":2}',
      3000,
      'PeriodDays',
    )
    expect(meter.state().period?.end).toBe(MIDNIGHT + 2 * 86_400)
  })

  it('reacts to hazards locally, as the firmware does, and flags them in the next record', async () => {
    rig = await startRig(broker)
    const { meter, sub } = rig
    await sub.client.publishAsync(meter.topics.command('POWER3'), 'ON')
    await sub.waitFor((m) => m.topic === meter.topics.power(3), 3000, 'POWER3')
    await meter.injectHazard('gas', true)
    // gas → sockets (8) off, buzzer (7) on; nothing else switched (lights (3) stay on, no vent: a
    // switched fan sparks in LPG).
    expect(meter.state().relays).toBe(0b0100_0100)
    await rig.waitForRecord((r) => r.hazards === 2 && r.relays === 0b0100_0100, 'a record flagging gas')
    await sub.waitFor((m) => m.topic === meter.topics.power(8) && m.payload === 'OFF', 3000, 'POWER8 OFF')
    // Sockets cannot be switched back on while gas is detected.
    await sub.client.publishAsync(meter.topics.command('POWER8'), 'ON')
    await sub.waitFor(
      (m) => m.topic === meter.topics.result && m.payload === '{"POWER8":"OFF"}',
      3000,
      'refusal',
    )
    expect(rig.logs.some((l) => l.msg.includes('refused POWER8'))).toBe(true)
    await meter.injectHazard('gas', false)
    // The buzzer follows the hazard; the sockets stay latched off until switched on.
    expect(meter.state()).toMatchObject({ hazards: 0, relays: 0b0000_0100 })
    await sub.client.publishAsync(meter.topics.command('POWER8'), 'ON')
    await sub.waitFor((m) => m.topic === meter.topics.power(8) && m.payload === 'ON', 3000, 'POWER8 ON')

    // flame over MQTT (the simulator-only SimHazard command) → sprinkler (6) + buzzer (7).
    await sub.client.publishAsync(meter.topics.command('SimHazard'), '{"flame":true}')
    await sub.waitFor((m) => m.topic === meter.topics.power(6) && m.payload === 'ON', 3000, 'sprinkler')
    expect(meter.state()).toMatchObject({ hazards: 1, relays: 0b1110_0100 })
    await rig.clock.advance(300)
    const burning = await rig.waitForRecord(
      (r) => r.hazards === 1 && r.time === MIDNIGHT + 300,
      'the next record',
    )
    expect(burning.relays).toBe(0b1110_0100)
    expect(burning.temperatureCenti).toBeGreaterThan(3000)
    await meter.injectHazard('flame', false)

    // water → sockets off, buzzer on.
    await meter.injectHazard('water', true)
    expect(meter.state()).toMatchObject({ hazards: 4, relays: 0b0100_0100 })
    await rig.waitForRecord((r) => r.hazards === 4 && r.relays === 0b0100_0100, 'a record flagging water')
  })

  it('republishes a requested seq range on Resend and frees its buffer on ack', async () => {
    rig = await startRig(broker, { livePeriodSeconds: 900 })
    const { meter, sub } = rig
    await rig.clock.advance(3 * INTERVAL)
    const firstCopies = await sub.waitForCount(meter.topics.sensor, 6)
    expect(meter.state().buffered).toBe(6)
    await sub.client.publishAsync(meter.topics.command('Resend'), '{"from":1,"to":3}')
    const all = await sub.waitForCount(meter.topics.sensor, 9)
    expect(all.slice(6).map((m) => m.payload)).toEqual(firstCopies.slice(1, 4).map((m) => m.payload))
    await sub.client.publishAsync(meter.topics.ack, '{"seq":3}', { retain: true, qos: 1 })
    await waitUntil(() => meter.state().buffered === 2, 3000)
    await sub.client.publishAsync(meter.topics.command('Resend'), '{"from":0,"to":4}')
    const more = await sub.waitForCount(meter.topics.sensor, 10)
    expect(JSON.parse(more[9]!.payload).ZK.seq).toBe(4)
    // 0..3 were freed by the ack: the meter signs that they are gone instead of staying silent.
    const [gone] = await sub.waitForCount(goneTopic(meter.address), 1)
    const parsed = parseGonePayload(gone!.topic, gone!.payload)
    expect(parsed.gone).toEqual({ meter: meter.address, fromSeq: 0, toSeq: 3 })
    verifyGoneSignature(DOMAIN, meter.address, parsed.gone, parsed.signature)
    await waitUntil(
      () => rig?.logs.some((l) => l.msg.includes('records 0..3 are no longer held')) === true,
      3000,
    )
    await sub.client.publishAsync(meter.topics.ack, '', { retain: true, qos: 1 })
  })

  it('ignores malformed commands with a logged reason and keeps running', async () => {
    rig = await startRig(broker, { livePeriodSeconds: 900 })
    const { meter, sub } = rig
    const bad: [string, string | Buffer][] = [
      ['POWER3', 'maybe'],
      ['POWER9', 'ON'],
      ['FanSpeed', '7'],
      ['FanSpeed', '-1'],
      ['PeriodDays', '40'],
      ['Resend', '{"from":5}'],
      ['Resend', 'not json'],
      ['Resend', '{"from":5,"to":1}'],
      ['SimHazard', '{"smoke":true}'],
      ['SimHazard', '[]'],
      ['Reboot', ''],
      ['POWER1', Buffer.from([0xff, 0xfe, 0x00])],
      ['POWER1', 'x'.repeat(10_000)],
    ]
    for (const [command, payload] of bad)
      await sub.client.publishAsync(meter.topics.command(command), payload)
    await sub.client.publishAsync(meter.topics.ack, '{"seq":"all"}')
    await waitUntil(
      () => (rig?.logs.filter((l) => l.msg.includes('failed')).length ?? 0) >= bad.length + 1,
      3000,
    )
    const reasons = rig.logs.map((l) => (l.error instanceof Error ? l.error.message : '')).join('\n')
    expect(reasons).toMatch(/POWER3 takes ON, OFF, TOGGLE/)
    expect(reasons).toMatch(/unknown command "Reboot"/)
    expect(meter.state()).toMatchObject({ running: true, relays: 0b1000_0000, fanSpeed: 0 })
    await rig.clock.advance(INTERVAL)
    await sub.waitForCount(meter.topics.sensor, 2)
  })

  it('announces itself with a retained LWT and a STATE, and says Offline when stopped', async () => {
    rig = await startRig(broker, { statePeriodSeconds: 600 })
    const { meter, sub } = rig
    await sub.waitFor((m) => m.topic === meter.topics.lwt && m.payload === 'Online', 3000, 'Online')
    await rig.clock.advance(600)
    const states = await sub.waitForCount(meter.topics.state, 2)
    expect(JSON.parse(states[1]!.payload)).toMatchObject({
      Uptime: '0T00:10:00',
      POWER8: 'ON',
      POWER1: 'OFF',
      FanSpeed: 0,
      PeriodDays: 1,
    })
    // The node's strict parser reads the open period: the provisioning point until the first close.
    const state = parseStatePayload(states[1]!.topic, states[1]!.payload, { intervalSeconds: INTERVAL })
    expect(state).toMatchObject({
      meter: meter.address,
      periodStart: meter.state().period!.start,
      periodDays: 1,
    })
    await meter.stop()
    await sub.waitFor((m) => m.topic === meter.topics.lwt && m.payload === 'Offline', 3000, 'Offline')
    await meter.stop() // idempotent
    expect(meter.state().running).toBe(false)
    await expect(meter.start()).rejects.toBeInstanceOf(MeterStateError)
  })

  it('is deterministic: the same seed and clock give the same signed records', async () => {
    const run = async () => {
      const r = await startRig(broker, { seed: 42, livePeriodSeconds: 900 })
      await r.clock.advance(3600)
      await r.sub.waitForCount(r.meter.topics.sensor, 8)
      const payloads = r.sub.on(r.meter.topics.sensor).map((m) => m.payload)
      await r.close()
      return payloads
    }
    expect(await run()).toEqual(await run())
  })
})

describe('virtual meter options and failures', () => {
  const base = () => ({
    privateKey: PRIVATE_KEY,
    pairingKey: PAIRING_KEY,
    domain: DOMAIN,
    mqttUrl: 'mqtt://127.0.0.1:1',
    clock: createManualClock(MIDNIGHT),
  })

  it('rejects invalid options with a named error naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ privateKey: new Uint8Array(31) }, 'privateKey'],
      [{ pairingKey: 'secret' }, 'pairingKey'],
      [{ domain: { chainId: 1, verifyingContract: '0x00' } }, 'domain'],
      [{ mqttUrl: '' }, 'mqttUrl'],
      [{ clock: {} }, 'clock'],
      [{ slots: 7 }, 'slots'],
      [{ periodSize: 10 }, 'periodSize'],
      [{ periodSize: TEST_N, periodDays: 3 }, 'periodDays'],
      [{ livePeriodSeconds: 7 }, 'livePeriodSeconds'],
      [{ firstPeriodStart: MIDNIGHT + 1 }, 'firstPeriodStart'],
      [{ seed: -1 }, 'seed'],
    ]
    for (const [override, option] of cases) {
      const error = (() => {
        try {
          createVirtualMeter({ ...base(), ...override } as never)
        } catch (e) {
          return e
        }
      })()
      expect(error, option).toBeInstanceOf(InvalidMeterOptionError)
      expect((error as InvalidMeterOptionError).details.option).toBe(option)
    }
  })

  it('fails to start with MqttUnreachableError when no broker answers', async () => {
    const port = await reservePort()
    const meter = createVirtualMeter({
      ...base(),
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
    })
    await expect(meter.start()).rejects.toBeInstanceOf(MqttUnreachableError)
    await meter.stop()
  })
})
