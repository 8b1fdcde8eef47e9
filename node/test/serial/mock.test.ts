/**
 * The serial link against serialport's MockBinding: random line noise between valid frames (a
 * fast-check property), the bounds on what the link buffers, and the frames it writes back.
 */
import fc from 'fast-check'
import { SerialPortMock } from 'serialport'
import { afterEach, describe, expect, it } from 'vitest'
import { LINK_IDLE_MS, LinkDecoder } from '#protocol/serial/link.ts'
import {
  encodeMessage,
  MAX_MESSAGE_BYTES,
  MESSAGE_FRAME_TYPE,
  MessageAssembler,
  SerialMessageError,
} from '#protocol/serial/message.ts'
import type { IngestOutcome, OutboundMessage } from '../../src/ingest/ingestor.ts'
import { createSerialMeterLink, SerialLinkConfigError, type SerialMeterLink } from '../../src/serial/link.ts'
import { until } from '../ingest/helpers.ts'

const PATH = '/dev/zkm-mock'

interface Harness {
  link: SerialMeterLink
  got: { topic: string; payload: string }[]
  send?: (m: OutboundMessage) => void
  emit(bytes: Uint8Array): void
  written(): Buffer
}

async function harness(): Promise<Harness> {
  SerialPortMock.binding.reset()
  SerialPortMock.binding.createPort(PATH, { echo: false, record: true })
  let port: SerialPortMock | undefined
  const h: Partial<Harness> & { got: Harness['got'] } = { got: [] }
  h.link = createSerialMeterLink({
    path: PATH,
    ingestor: {
      async ingest(topic, payload): Promise<IngestOutcome> {
        h.got.push({ topic, payload: new TextDecoder().decode(payload as Uint8Array) })
        return { status: 'stored', meter: '0x0000000000000000000000000000000000000000' }
      },
      addOutbound(send) {
        h.send = send
        return () => {
          h.send = undefined
        }
      },
    },
    createPort: (o) => {
      port = new SerialPortMock(o)
      return port
    },
  })
  await h.link.start()
  h.emit = (bytes) => port?.port?.emitData(Buffer.from(bytes))
  h.written = () => port?.port?.recording ?? Buffer.alloc(0)
  return h as Harness
}

const quiet = () => new Promise((r) => setTimeout(r, LINK_IDLE_MS * 2))

describe('serial link (MockBinding)', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.link.stop()
    h = undefined
    SerialPortMock.binding.reset()
  })

  it('random noise between valid frames never throws and never loses a frame it does not overlap', async () => {
    const topic = fc.stringMatching(/^[a-zA-Z0-9_]{1,30}$/).map((name) => `tele/${name}/SENSOR`)
    const message = fc.record({ topic, payload: fc.string({ maxLength: 300 }) })
    const noise = fc.uint8Array({ minLength: 1, maxLength: 24 })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.option(noise), message), { minLength: 1, maxLength: 5 }),
        fc.array(noise, { maxLength: 3 }),
        async (items, between) => {
          h = await harness()
          const hh = h
          const expected: { topic: string; payload: string }[] = []
          let id = 0
          for (const [burst, m] of items) {
            // A noise burst, then the line goes quiet before the meter's next frames (a glitch).
            if (burst !== null) {
              hh.emit(burst)
              await quiet()
            }
            const frames = encodeMessage(id++ & 0xff, m.topic, m.payload)
            for (const [i, frame] of frames.entries()) {
              hh.emit(frame)
              // Noise between the fragments of one message costs that message: not expected.
              const glitch = between[i]
              if (glitch !== undefined && i < frames.length - 1) {
                hh.emit(glitch)
                await quiet()
              }
            }
            if (between.length === 0 || frames.length === 1) expected.push(m)
          }
          await quiet()
          await until(() => hh.got.length >= expected.length, 2000)
          for (const m of expected) expect(hh.got).toContainEqual(m)
          await hh.link.stop()
          h = undefined
        },
      ),
      { numRuns: 40 },
    )
  })

  it('counts garbage and bounds what it buffers: an endless stream of noise is dropped as it comes', async () => {
    h = await harness()
    const hh = h
    // Start bytes with lengths at the limit: every one is a candidate frame that must be given up.
    const noise = new Uint8Array(20_000).map((_, i) => (i % 3 === 0 ? 0x7e : i % 3 === 1 ? 48 : i & 0xff))
    hh.emit(noise)
    hh.emit(Buffer.concat(encodeMessage(1, 'tele/zkm_a/SENSOR', '{"ok":1}')))
    await quiet()
    await until(() => hh.got.length === 1)
    expect(hh.got[0]).toEqual({ topic: 'tele/zkm_a/SENSOR', payload: '{"ok":1}' })
    expect(hh.link.counters().crcErrors).toBeGreaterThan(100)
  })

  it('hands messages on other topics to onMessage, not to the ingestor, and STATE to both', async () => {
    SerialPortMock.binding.reset()
    SerialPortMock.binding.createPort(PATH, { echo: false, record: true })
    let port: SerialPortMock | undefined
    const ingested: string[] = []
    const others: string[] = []
    const link = createSerialMeterLink({
      path: PATH,
      ingestor: {
        async ingest(topic) {
          ingested.push(topic)
          return { status: 'duplicate', meter: '0x0000000000000000000000000000000000000000' }
        },
        addOutbound: () => () => {},
      },
      onMessage: (m) => others.push(m.topic),
      createPort: (o) => {
        port = new SerialPortMock(o)
        return port
      },
    })
    await link.start()
    for (const [i, topic] of [
      'tele/zkm_a/STATE',
      'tele/zkm_a/SENSOR',
      'stat/zkm_a/RESULT',
      'tele/zkm_a/PERIOD',
      'tele/zkm_a/GONE',
    ].entries()) {
      port?.port?.emitData(Buffer.concat(encodeMessage(i, topic, '{}')))
    }
    await until(() => ingested.length === 4 && others.length === 2)
    expect(ingested).toEqual([
      'tele/zkm_a/STATE',
      'tele/zkm_a/SENSOR',
      'tele/zkm_a/PERIOD',
      'tele/zkm_a/GONE',
    ])
    expect(others).toEqual(['tele/zkm_a/STATE', 'stat/zkm_a/RESULT'])
    expect(link.counters().otherMessages).toBe(2)
    await link.stop()
  })

  it('writes acks and commands back as MESSAGE frames, fragmenting long ones', async () => {
    h = await harness()
    const hh = h
    hh.send?.({ topic: 'zkmeter/zkm_a/ack', payload: '{"seq":41}', retain: true })
    const long = 'x'.repeat(200)
    expect(hh.link.send('cmnd/zkm_a/POWER1', long)).toBe(true)
    await until(() => hh.written().length > 0)
    await until(() => {
      const decoder = new LinkDecoder()
      const assembler = new MessageAssembler()
      const out = decoder
        .push(hh.written())
        .filter((f) => f.type === MESSAGE_FRAME_TYPE)
        .map((f) => assembler.push(f))
        .filter((m) => m !== undefined)
      return (
        out.length === 2 &&
        out[0]?.topic === 'zkmeter/zkm_a/ack' &&
        new TextDecoder().decode(out[1]?.payload) === long
      )
    })
    expect(hh.link.counters().sent).toBe(2)
  })

  it('refuses bad options and messages with named errors', () => {
    const ingestor = {
      ingest: async () => ({ status: 'duplicate' }) as IngestOutcome,
      addOutbound: () => () => {},
    }
    expect(() => createSerialMeterLink({ path: '', ingestor })).toThrow(SerialLinkConfigError)
    expect(() => createSerialMeterLink({ path: PATH, baudRate: 0, ingestor })).toThrow(/baud rate/)
    expect(() => encodeMessage(0, 'tele/+/SENSOR', '')).toThrow(SerialMessageError)
    expect(() => encodeMessage(0, 't', new Uint8Array(MAX_MESSAGE_BYTES))).toThrow(/at most 4096/)
    // The largest message still fits in the fragment count a byte can carry.
    expect(encodeMessage(0, 't'.repeat(255), new Uint8Array(4096)).length).toBeLessThanOrEqual(255)
  })

  it('keeps retrying a port that cannot be opened, then connects', async () => {
    SerialPortMock.binding.reset()
    const link = createSerialMeterLink({
      path: PATH,
      ingestor: {
        ingest: async () => ({ status: 'duplicate' }) as IngestOutcome,
        addOutbound: () => () => {},
      },
      backoffMs: 20,
      maxBackoffMs: 40,
      createPort: (o) => new SerialPortMock(o),
    })
    await link.start()
    expect(link.connected).toBe(false)
    await new Promise((r) => setTimeout(r, 100))
    SerialPortMock.binding.createPort(PATH)
    await until(() => link.connected, 2000)
    await link.stop()
  })
})
