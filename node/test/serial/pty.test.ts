/**
 * The serial ingestion option end to end over a real pty pair (socat): a test "meter" on one end
 * writes framed, signed SENSOR messages; the node's link on the other end ingests them through the
 * ingestor's one path and sends the acks back as frames; killing and restarting socat is a USB
 * unplug and replug.
 */
import { SerialPort } from 'serialport'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { encodeFrame, LinkDecoder } from '#protocol/serial/link.ts'
import {
  encodeMessage,
  MESSAGE_FRAME_TYPE,
  MessageAssembler,
  type SerialMessage,
} from '#protocol/serial/message.ts'
import { ackTopic } from '#protocol/topics.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createSerialMeterLink, type SerialMeterLink } from '../../src/serial/link.ts'
import { createTestMeter, DAY0, DOMAIN, INTERVAL, N, tempDir, until } from '../ingest/helpers.ts'
import { type PtyPair, requireSocat, startPtyPair } from './pty.ts'

const meter = createTestMeter(7)

interface MeterEnd {
  port: SerialPort
  received: SerialMessage[]
  write(bytes: Uint8Array): Promise<void>
  close(): Promise<void>
}

async function openMeterEnd(path: string): Promise<MeterEnd> {
  const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false })
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())))
  const decoder = new LinkDecoder()
  const assembler = new MessageAssembler()
  const received: SerialMessage[] = []
  port.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type !== MESSAGE_FRAME_TYPE) continue
      const m = assembler.push(frame)
      if (m) received.push(m)
    }
  })
  port.on('error', () => {})
  return {
    port,
    received,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        port.write(Buffer.from(bytes), (e) => (e ? reject(e) : port.drain(() => resolve())))
      }),
    close: () => new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  }
}

const sensorFrames = (seq: number, id = seq & 0xff): Uint8Array => {
  const records = meter.intervals(0, DAY0, seq + 1, 10_000)
  const { topic, payload } = meter.sensor(records[seq] as (typeof records)[number])
  return Buffer.concat(encodeMessage(id, topic, payload))
}

const acked = (end: MeterEnd) =>
  end.received
    .filter((m) => m.topic === ackTopic(meter.address))
    .map((m) => (JSON.parse(new TextDecoder().decode(m.payload)) as { seq: number }).seq)

describe('serial ingestion over a socat pty pair', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let pair: PtyPair | undefined
  let ingestor: Ingestor
  let link: SerialMeterLink | undefined
  let end: MeterEnd | undefined

  beforeAll(() => requireSocat())

  beforeEach(async () => {
    dir = await tempDir()
    pair = await startPtyPair(dir.path)
    ingestor = createIngestor({
      dataDir: `${dir.path}/data`,
      domain: DOMAIN,
      meters: [{ address: meter.address, pairingKey: meter.pairingKey, firstPeriodStart: DAY0 }],
      intervalSeconds: INTERVAL,
      periodReadings: N,
      periodDays: 1,
    })
    await ingestor.start()
  })

  afterEach(async () => {
    await end?.close()
    end = undefined
    await link?.stop()
    link = undefined
    await ingestor.stop()
    await pair?.kill()
    pair = undefined
    await dir.remove()
  })

  it('ingests signed records written as frames and sends the ack back as a frame', async () => {
    const p = pair as PtyPair
    link = createSerialMeterLink({ path: p.node, baudRate: 115_200, ingestor })
    await link.start()
    expect(link.connected).toBe(true)
    end = await openMeterEnd(p.meter)
    const e = end
    // A signed SENSOR payload is several hundred bytes: it travels as many fragments.
    const one = sensorFrames(0)
    expect(one.length).toBeGreaterThan(48)
    await e.write(one)
    await e.write(sensorFrames(1))
    await until(() => ingestor.status()[0]?.ackedSeq === 1)
    await until(() => acked(e).includes(1))
    expect(link.counters()).toMatchObject({ ingested: 2, rejected: 0, crcErrors: 0, messagesDropped: 0 })
  })

  it('keeps good messages among garbage, CRC errors, truncated and oversized frames, and counts the errors', async () => {
    const p = pair as PtyPair
    link = createSerialMeterLink({ path: p.node, baudRate: 115_200, ingestor })
    await link.start()
    end = await openMeterEnd(p.meter)
    const e = end
    const badCrc = encodeFrame(MESSAGE_FRAME_TYPE, new Uint8Array([9, 0, 1, 4, 116, 47, 120, 47]))
    badCrc[badCrc.length - 1] = (badCrc.at(-1) as number) ^ 0xff
    const truncated = sensorFrames(1, 200).subarray(0, 30) // a message cut inside its first fragment
    const oversized = new Uint8Array([0x7e, 200, MESSAGE_FRAME_TYPE, 1, 2, 3]) // len 200 > 48
    const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)
    const lost = encodeMessage(201, 'tele/x/SENSOR', new Uint8Array(100)).slice(1) // first fragment missing
    for (const chunk of [
      garbage,
      sensorFrames(0),
      badCrc,
      truncated,
      oversized,
      ...lost,
      sensorFrames(1),
      garbage,
      sensorFrames(2),
    ]) {
      await e.write(chunk)
    }
    await until(() => ingestor.status()[0]?.ackedSeq === 2)
    await until(() => acked(e).includes(2))
    const c = link.counters()
    expect(c.ingested).toBe(3)
    expect(c.crcErrors).toBeGreaterThan(0)
    expect(c.messagesDropped).toBeGreaterThan(0)
    // Nothing refused by the ingestor: noise never reached it as a message.
    expect(c.rejected).toBe(0)
  })

  it('reconnects when the port disappears and comes back, and resends the current ack', async () => {
    const p = pair as PtyPair
    link = createSerialMeterLink({
      path: p.node,
      baudRate: 115_200,
      ingestor,
      backoffMs: 50,
      maxBackoffMs: 200,
    })
    await link.start()
    end = await openMeterEnd(p.meter)
    await end.write(sensorFrames(0))
    await until(() => ingestor.status()[0]?.ackedSeq === 0)
    await end.close()
    await p.kill()
    const l = link
    await until(() => !l.connected)
    pair = await startPtyPair(dir.path)
    const q = pair
    end = await openMeterEnd(q.meter)
    const e = end
    await until(() => l.connected)
    // The retained-ack equivalent: a reconnecting meter learns its high-water mark at once.
    await until(() => acked(e).includes(0))
    await e.write(sensorFrames(1))
    await until(() => ingestor.status()[0]?.ackedSeq === 1)
    expect(l.counters().disconnects).toBeGreaterThanOrEqual(1)
    expect(l.counters().opens).toBeGreaterThanOrEqual(2)
  })
})
