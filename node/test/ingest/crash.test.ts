/**
 * Crash safety: the ingestor runs in a child process that is killed with SIGKILL mid-stream and
 * mid-flush, then restarted on the same data dir while the "meter" (this test) keeps republishing
 * everything above the last acknowledgement it saw — exactly what firmware does. At the end every
 * record is stored exactly once, nothing acknowledged was lost, and the period still assembles to
 * the meter's commitment.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { commit } from '#protocol/commitment.ts'
import type { MeterRecord } from '#protocol/records.ts'
import { ackTopic } from '#protocol/topics.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import {
  connectMeter,
  createTestMeter,
  DAY0,
  INTERVAL,
  N,
  record,
  startBroker,
  type TestBroker,
  tempDir,
  until,
} from './helpers.ts'

const CHILD = fileURLToPath(new URL('./fixtures/ingest-child.ts', import.meta.url))
const meter = createTestMeter(3)

let broker: TestBroker
let dir: Awaited<ReturnType<typeof tempDir>>
let meterClient: MqttClient
let child: ChildProcess | undefined

/** One day of a meter's stream: two live samples and one interval close per 15 minutes. */
function dayOfRecords(): MeterRecord[] {
  const out: MeterRecord[] = []
  let counter = 250_000
  let seq = 0
  for (let i = 0; i < 96; i++) {
    const wh = 40 + ((i * 53) % 300)
    const start = DAY0 + i * INTERVAL
    for (const part of [1, 2]) {
      const so_far = Math.floor((wh * part) / 3)
      out.push(
        record({
          seq: seq++,
          kind: 0,
          time: start + part * 300,
          energyWh: counter + so_far,
          intervalWh: so_far,
        }),
      )
    }
    counter += wh
    out.push(record({ seq: seq++, kind: 1, time: start + INTERVAL, energyWh: counter, intervalWh: wh }))
  }
  return out
}

interface ChildHandle {
  process: ChildProcess
  messages: { event: string; [k: string]: unknown }[]
  exited: Promise<void>
}

async function startChild(pauseAfterAppendMs: number): Promise<ChildHandle> {
  const messages: ChildHandle['messages'] = []
  const proc = fork(
    CHILD,
    [
      JSON.stringify({
        mqttUrl: broker.url,
        dataDir: `${dir.path}/node`,
        vaultDir: `${dir.path}/vault`,
        meter: meter.address,
        pairingKey: Buffer.from(meter.pairingKey).toString('hex'),
        firstPeriodStart: DAY0,
        pauseAfterAppendMs,
      }),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The node's login through the environment: a password has no place in a process list.
      env: {
        ...process.env,
        ZKM_TEST_MQTT_USER: broker.users.node.username,
        ZKM_TEST_MQTT_PASSWORD: broker.users.node.password,
      },
    },
  )
  child = proc
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  proc.on('message', (m) => messages.push(m as ChildHandle['messages'][number]))
  await until(() => messages.some((m) => m.event === 'ready'), 30_000)
  return { process: proc, messages, exited }
}

async function kill(handle: ChildHandle): Promise<void> {
  handle.process.kill('SIGKILL')
  await handle.exited
}

beforeEach(async () => {
  broker = await startBroker()
  dir = await tempDir()
  meterClient = await connectMeter(broker, 'crash-test-meter', meter)
})

afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await meterClient.endAsync()
  await broker.stop()
  await dir.remove()
})

it('loses no acknowledged record and stores none twice across kill -9 mid-stream and mid-flush', async () => {
  const records = dayOfRecords()
  const close = meter.period(records, DAY0, DAY0 + 86_400)
  let acked = -1
  const ackHistory: number[] = []
  await meterClient.subscribeAsync(ackTopic(meter.address), { qos: 1 })
  meterClient.on('message', (topic, payload) => {
    if (topic !== ackTopic(meter.address)) return
    const seq = JSON.parse(payload.toString()).seq as number
    ackHistory.push(seq)
    acked = Math.max(acked, seq)
  })
  // The meter publishes, never waiting for the node: what it keeps is everything above the ack.
  let cursor = 0
  const publishFrom = async (from: number, until_: number) => {
    for (let i = from; i < until_; i++) {
      const { topic, payload } = meter.sensor(records[i] as MeterRecord)
      await meterClient.publishAsync(topic, payload, { qos: 1 })
    }
  }

  // 1. Kill mid-stream: after some records are acknowledged, while more are in flight.
  let node = await startChild(0)
  await publishFrom(0, 120)
  cursor = 120
  await until(() => acked >= 60, 30_000)
  await kill(node)
  const ackAtFirstKill = acked

  // 2. Restart, republish from the ack, kill right after a vault batch landed (before the checkpoint).
  node = await startChild(400)
  await publishFrom(acked + 1, 200)
  cursor = 200
  const appendsBefore = node.messages.filter((m) => m.event === 'appended').length
  await until(() => node.messages.filter((m) => m.event === 'appended').length > appendsBefore, 30_000)
  await kill(node)

  // 3. Restart once more, kill again mid-stream with no pause at all.
  node = await startChild(0)
  await publishFrom(acked + 1, records.length)
  cursor = records.length
  await until(() => acked >= 230, 30_000)
  await kill(node)

  // 4. Final run: the meter republishes everything still unacknowledged, then the period close.
  node = await startChild(0)
  await publishFrom(acked + 1, cursor)
  await until(() => acked === records.length - 1, 30_000)
  await meterClient.publishAsync(close.topic, close.payload, { qos: 1, retain: true })
  await until(() => node.messages.some((m) => m.event === 'period'), 30_000)
  node.process.send('stop')
  await until(() => node.messages.some((m) => m.event === 'stopped'), 30_000)
  await node.exited

  // Acknowledgements only ever moved forward, across every crash.
  expect(ackAtFirstKill).toBeGreaterThanOrEqual(60)
  for (let i = 1; i < ackHistory.length; i++) {
    expect(ackHistory[i] as number).toBeGreaterThanOrEqual(ackHistory[i - 1] as number)
  }
  const stored = (await createFileSink(`${dir.path}/vault`).readAll(meter.address, DAY0)) as MeterRecord[]
  const seqs = stored.map((r) => r.seq).sort((a, b) => a - b)
  expect(seqs).toEqual(records.map((r) => r.seq))
  for (const r of stored) expect(r).toMatchObject(records[r.seq] as MeterRecord)
  const period = node.messages.find((m) => m.event === 'period') as unknown as {
    readings: number[]
    salt: string
  }
  expect(commit(period.readings, BigInt(period.salt), N)).toBe(close.period.commitment)
})
