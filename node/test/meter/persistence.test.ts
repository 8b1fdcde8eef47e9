/**
 * Restarting the virtual meter: a clean stop and a SIGKILL both resume with the same counter, a
 * never-reused seq and the open period's commitment intact.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commit, commitExport, deriveSalt } from '#protocol/commitment.ts'
import { hexToBytes } from '#protocol/eip712.ts'
import {
  checkpointKey,
  readCheckpoint,
  readKeptCloses,
  readMeterCheckpoint,
} from '../../src/meter/checkpoint.ts'
import { createManualClock } from '../../src/meter/clock.ts'
import { MeterStateError } from '../../src/meter/errors.ts'
import { createVirtualMeter } from '../../src/meter/virtual-meter.ts'
import { collect } from '../mqtt/collector.ts'
import { meterPassword, startTestBroker, type TestBroker } from '../mqtt/users.ts'
import {
  DOMAIN,
  INTERVAL,
  MIDNIGHT,
  PAIRING_KEY,
  PRIVATE_KEY,
  signerOf,
  startRig,
  TEST_N,
  type ZkRecord,
} from './fixtures.ts'

let broker: TestBroker
let dir: string

beforeAll(async () => {
  broker = await startTestBroker()
  dir = await mkdtemp(join(tmpdir(), 'zkm-meter-'))
})
afterAll(async () => {
  await broker.stop()
  await rm(dir, { recursive: true, force: true })
})

const zkOf = (payload: string) => (JSON.parse(payload) as { ZK: ZkRecord }).ZK

/** Checks the union of records from several runs: unique increasing seq, counter never back. */
function expectContinuous(records: ZkRecord[]): void {
  const bySeq = [...records].sort((a, b) => a.seq - b.seq)
  for (let i = 1; i < bySeq.length; i++) {
    expect(bySeq[i]!.seq).toBeGreaterThan(bySeq[i - 1]!.seq)
    expect(bySeq[i]!.energyWh).toBeGreaterThanOrEqual(bySeq[i - 1]!.energyWh)
    expect(bySeq[i]!.time).toBeGreaterThanOrEqual(bySeq[i - 1]!.time)
  }
  const intervals = bySeq.filter((r) => r.kind === 1)
  for (let i = 1; i < intervals.length; i++) {
    if (intervals[i]!.time === intervals[i - 1]!.time + INTERVAL) {
      expect(intervals[i]!.energyWh - intervals[i - 1]!.energyWh).toBe(intervals[i]!.intervalWh)
    }
  }
}

describe('virtual meter state file', () => {
  it('resumes after a clean stop: same counter, next seq, relays, buffer and period commitment', async () => {
    const stateFile = join(dir, 'clean.json')
    const first = await startRig(broker, { stateFile })
    await first.sub.client.publishAsync(first.meter.topics.command('POWER3'), 'ON')
    await first.sub.waitFor((m) => m.topic === first.meter.topics.power(3), 3000, 'POWER3')
    await first.clock.advance(10 * 3600 + 120)
    const before = first.meter.state()
    await first.close()

    const saved = readMeterCheckpoint(stateFile, PRIVATE_KEY)
    expect(saved).toMatchObject({ time: before.time, seq: before.nextSeq, energyWh: before.energyWh })
    const second = await startRig(broker, { stateFile }, saved!.time)
    try {
      expect(second.meter.state()).toMatchObject({
        nextSeq: before.nextSeq,
        energyWh: before.energyWh,
        relays: before.relays,
        buffered: before.buffered,
        period: before.period,
      })
      // Records of the first run can still be resent by the second.
      await second.sub.client.publishAsync(second.meter.topics.command('Resend'), '{"from":0,"to":0}')
      const resent = await second.sub.waitFor((m) => m.topic === second.meter.topics.sensor, 3000, 'resend')
      expect(zkOf(resent.payload).seq).toBe(0)
      await second.clock.advanceTo(MIDNIGHT + 86_400)
      const periodMessage = await second.sub.waitFor(
        (m) => m.topic === second.meter.topics.period,
        5000,
        'PERIOD',
      )
      const all = [...first.records(), ...second.records().filter((r) => r.seq >= before.nextSeq)]
      expect(all.every((r) => signerOf(r) === second.meter.address)).toBe(true)
      expectContinuous(all)
      const period = JSON.parse(periodMessage.payload)
      const readings = new Array<number>(TEST_N).fill(0)
      for (const r of all.filter((x) => x.kind === 1))
        readings[(r.time - INTERVAL - MIDNIGHT) / INTERVAL] = r.intervalWh
      const salt = deriveSalt(PAIRING_KEY, hexToBytes(second.meter.address, 20), MIDNIGHT)
      expect(BigInt(period.commitment)).toBe(commit(readings, salt, TEST_N))
    } finally {
      await second.close()
    }
  })

  it('with a PV array: the export counter and the export commitment continue across a restart at noon', async () => {
    const stateFile = join(dir, 'pv.json')
    // Late November south of the equator: a long summer day, the array far above the household.
    const pv = { peakW: 20_000, latitudeDeg: -34 }
    const first = await startRig(broker, { stateFile, pv })
    await first.clock.advance(12 * 3600 + 120)
    const before = first.meter.state()
    expect(before.exportedWh).toBeGreaterThan(0)
    await first.close()
    const saved = readMeterCheckpoint(stateFile, PRIVATE_KEY)
    const second = await startRig(broker, { stateFile, pv }, saved!.time)
    try {
      expect(second.meter.state()).toMatchObject({ exportedWh: before.exportedWh, period: before.period })
      await second.clock.advanceTo(MIDNIGHT + 86_400)
      // The broker still holds the previous test's retained close of this period: wait for ours.
      const periodMessage = await second.sub.waitFor(
        (m) => m.topic === second.meter.topics.period && JSON.parse(m.payload).export.endCounter > 0,
        5000,
        'PERIOD',
      )
      const all = [...first.records(), ...second.records().filter((r) => r.seq >= before.nextSeq)]
      const bySeq = [...all].sort((a, b) => a.seq - b.seq)
      for (let i = 1; i < bySeq.length; i++)
        expect(bySeq[i]!.exportedWh).toBeGreaterThanOrEqual(bySeq[i - 1]!.exportedWh)
      const exported = new Array<number>(TEST_N).fill(0)
      for (const r of all.filter((x) => x.kind === 1))
        exported[(r.time - INTERVAL - MIDNIGHT) / INTERVAL] = r.intervalExportedWh
      const period = JSON.parse(periodMessage.payload)
      const salt = deriveSalt(PAIRING_KEY, hexToBytes(second.meter.address, 20), MIDNIGHT)
      expect(BigInt(period.export.commitment)).toBe(commitExport(exported, salt, TEST_N))
      expect(period.export.endCounter - period.export.startCounter).toBe(exported.reduce((a, b) => a + b, 0))
      expect(period.export.startCounter).toBe(0)
    } finally {
      await second.close()
    }
  })

  it('resumes after SIGKILL without reusing a seq or running the counter back', async () => {
    const stateFile = join(dir, 'killed.json')
    const meterTopic = `zkm_${createVirtualMeter({
      privateKey: PRIVATE_KEY,
      pairingKey: PAIRING_KEY,
      domain: DOMAIN,
      mqttUrl: broker.url,
      mqttPassword: await meterPassword(broker.users, PRIVATE_KEY),
      clock: createManualClock(0),
    }).address.slice(2)}`
    const sub = await collect(broker.url, [`tele/${meterTopic}/SENSOR`], broker.users.node)
    const lwt = await collect(broker.url, [`tele/${meterTopic}/LWT`], broker.users.node)
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'crash-child.ts'), broker.url, stateFile, String(MIDNIGHT)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, ZKM_TEST_MQTT_PASSWORD: await meterPassword(broker.users, PRIVATE_KEY) },
      },
    )
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      await sub.waitForCount(`tele/${meterTopic}/SENSOR`, 40, 30_000)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
    // The broker tells everyone the killed meter is gone: its last will.
    await lwt.waitFor((m) => m.payload === 'Offline' && !m.retain, 5000, 'the last will')
    await lwt.close()
    const published = sub.messages.map((m) => zkOf(m.payload))
    const saved = readMeterCheckpoint(stateFile, PRIVATE_KEY)!
    expect(saved.seq).toBeGreaterThan(Math.max(...published.map((r) => r.seq)))
    expect(saved.energyWh).toBeGreaterThanOrEqual(Math.max(...published.map((r) => r.energyWh)))
    // Nothing acknowledged them (no node here): every published record is still held for Resend, as
    // in the firmware's flash ring. Before, a kill lost them and the meter could only sign them gone.
    const full = readCheckpoint(stateFile, checkpointKey(PRIVATE_KEY))
    const held = new Set((full?.buffer ?? []).map((r) => r.seq))
    expect(published.filter((r) => !held.has(r.seq)).map((r) => r.seq)).toEqual([])

    const clock = createManualClock(saved.time)
    const meter = createVirtualMeter({
      privateKey: PRIVATE_KEY,
      pairingKey: PAIRING_KEY,
      domain: DOMAIN,
      mqttUrl: broker.url,
      mqttPassword: await meterPassword(broker.users, PRIVATE_KEY),
      clock,
      periodSize: TEST_N,
      periodDays: 1,
      livePeriodSeconds: 300,
      stateFile,
    })
    await meter.start()
    await clock.advance(2 * INTERVAL)
    await meter.stop()
    await sub.waitFor((m) => zkOf(m.payload).seq >= saved.seq, 3000, 'records of the restarted meter')
    expectContinuous(sub.messages.map((m) => zkOf(m.payload)))
    await sub.close()
  })

  it('refuses a clock too far ahead of the saved time, a foreign or damaged state file', async () => {
    const stateFile = join(dir, 'guard.json')
    const rig = await startRig(broker, { stateFile })
    await rig.clock.advance(3600)
    await rig.close()
    const options = {
      privateKey: PRIVATE_KEY,
      pairingKey: PAIRING_KEY,
      domain: DOMAIN,
      mqttUrl: broker.url,
      mqttPassword: await meterPassword(broker.users, PRIVATE_KEY),
      stateFile,
      connectTimeoutMs: 500,
    }
    const farAhead = createVirtualMeter({ ...options, clock: createManualClock(MIDNIGHT + 400 * 86_400) })
    await expect(farAhead.start()).rejects.toThrow(/maxCatchUpSeconds/)
    const foreign = createVirtualMeter({
      ...options,
      privateKey: new Uint8Array(32).fill(5),
      clock: createManualClock(MIDNIGHT + 3600),
    })
    // Another meter cannot even read it: the checkpoint is sealed under the meter's own key.
    await expect(foreign.start()).rejects.toThrow(/sealed under another key/)
    await writeFile(stateFile, '{"v":1,')
    const damaged = createVirtualMeter({ ...options, clock: createManualClock(MIDNIGHT + 3600) })
    await expect(damaged.start()).rejects.toBeInstanceOf(MeterStateError)
  })

  it('keeps its state sealed and private: no reading in the clear, mode 0600, old plain files resealed', async () => {
    const stateFile = join(dir, 'sealed.json')
    const first = await startRig(broker, { stateFile })
    await first.clock.advance(6 * 3600)
    await first.waitForRecord((r) => r.kind === 1 && r.time >= MIDNIGHT + 5 * 3600, 'an interval record')
    await first.close()
    const text = await readFile(stateFile, 'utf8')
    // Field names of the checkpoint and the buffered records' payloads never appear in the clear.
    for (const word of [
      'energyWh',
      'buffer',
      'payload',
      'intervalStartCounter',
      first.meter.address.slice(2),
    ]) {
      expect(text.includes(word)).toBe(false)
    }
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600)
    expect((await stat(`${stateFile}.closes`).catch(() => undefined))?.mode ?? 0o100600).toBe(0o100600)

    // A checkpoint an older version wrote in plain JSON still resumes, and is sealed at the next save.
    const saved = readMeterCheckpoint(stateFile, PRIVATE_KEY)!
    const legacy = join(dir, 'legacy.json')
    const { readCheckpoint, checkpointKey } = await import('../../src/meter/checkpoint.ts')
    await writeFile(legacy, JSON.stringify(readCheckpoint(stateFile, checkpointKey(PRIVATE_KEY))), {
      mode: 0o644,
    })
    const second = await startRig(broker, { stateFile: legacy }, saved.time)
    try {
      expect(second.meter.state()).toMatchObject({ nextSeq: saved.seq, energyWh: saved.energyWh })
      await second.clock.advance(2 * INTERVAL)
    } finally {
      await second.close()
    }
    expect((await readFile(legacy, 'utf8')).includes('energyWh')).toBe(false)
    expect((await stat(legacy)).mode & 0o777).toBe(0o600)
  })

  it('waits, silent, for a clock that is behind the saved time', async () => {
    const stateFile = join(dir, 'behind.json')
    const first = await startRig(broker, { stateFile, livePeriodSeconds: 900 })
    await first.clock.advance(4 * INTERVAL)
    const before = first.meter.state()
    await first.close()
    const second = await startRig(broker, { stateFile, livePeriodSeconds: 900 }, MIDNIGHT + INTERVAL)
    try {
      expect(second.logs.map((l) => l.msg).join('\n')).toMatch(/2700 s behind the meter's saved time/)
      await second.clock.advanceTo(MIDNIGHT + 4 * INTERVAL)
      expect(second.meter.state()).toMatchObject({ time: before.time, nextSeq: before.nextSeq })
      await second.clock.advanceTo(MIDNIGHT + 5 * INTERVAL)
      const next = await second.waitForRecord((r) => r.kind === 1, 'the first new interval record')
      expect(next).toMatchObject({ seq: before.nextSeq, time: MIDNIGHT + 5 * INTERVAL })
      expect(next.energyWh - before.energyWh).toBe(next.intervalWh)
    } finally {
      await second.close()
    }
  })

  it('replays a gap after a restart with interval records and period closes, no live samples', async () => {
    const stateFile = join(dir, 'gap.json')
    const rig = await startRig(broker, { stateFile })
    await rig.clock.advance(20 * 3600)
    const before = rig.meter.state()
    await rig.close()
    const later = await startRig(broker, { stateFile }, MIDNIGHT + 30 * 3600)
    try {
      // Not the retained copy an earlier test left: the close of this run's first day.
      await later.sub.waitFor(
        (m) => m.topic === later.meter.topics.period && !m.retain,
        5000,
        'the period closed during the gap',
      )
      await later.waitForRecord(
        (r) => r.kind === 1 && r.time === MIDNIGHT + 30 * 3600,
        'the last replayed interval',
      )
      const replayed = later.records().filter((r) => r.seq >= before.nextSeq)
      expect(replayed.filter((r) => r.kind === 1)).toHaveLength(40)
      // Live samples only resume at the present, not for the replayed past.
      expect(replayed.filter((r) => r.kind === 0 && r.time < MIDNIGHT + 30 * 3600)).toHaveLength(0)
      expect(later.meter.state()).toMatchObject({ time: MIDNIGHT + 30 * 3600, periodsClosed: 1 })
      // The close is kept for ResendPeriod in its own file, and survives the next restart.
      expect(later.meter.state().recentPeriods).toEqual([MIDNIGHT])
    } finally {
      await later.close()
    }
    const third = await startRig(broker, { stateFile }, MIDNIGHT + 30 * 3600)
    try {
      expect(third.meter.state().recentPeriods).toEqual([MIDNIGHT])
      expect(readKeptCloses(stateFile).map((c) => c.periodStart)).toEqual([MIDNIGHT])
    } finally {
      await third.close()
    }
  })
})
