/** The TypeScript serial-link codec (protocol/serial/link.ts), which mirrors the C++ one. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc16Modbus } from '#protocol/serial/crc16.ts'
import {
  decodeMeasurement,
  encodeFrame,
  encodeMeasurement,
  LINK_MAX_PAYLOAD,
  LinkDecoder,
  LinkFrameError,
  type Measurement,
} from '#protocol/serial/link.ts'
import { VECTORS_DIR } from '#protocol/vectors/generate.ts'

const payload = (max = LINK_MAX_PAYLOAD) => fc.uint8Array({ maxLength: max })
const frame = fc.record({ type: fc.integer({ min: 0, max: 255 }), payload: payload() })
const noise = fc.uint8Array({ maxLength: 12 }).map((b) => b.map((x) => (x === 0x7e ? 0 : x)))

describe('link frames', () => {
  it('CRC-16/Modbus check value', () => {
    expect(crc16Modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37)
  })

  it('round-trips any sequence of frames separated by line noise', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(noise, frame), { maxLength: 8 }),
        fc.integer({ min: 1, max: 7 }),
        (parts, chunk) => {
          const bytes = Buffer.concat(parts.flatMap(([n, f]) => [n, encodeFrame(f.type, f.payload)]))
          const decoder = new LinkDecoder()
          const got = []
          for (let i = 0; i < bytes.length; i += chunk)
            got.push(...decoder.push(bytes.subarray(i, i + chunk)))
          expect(got.map((f) => [f.type, Buffer.from(f.payload).toString('hex')])).toEqual(
            parts.map(([, f]) => [f.type, Buffer.from(f.payload).toString('hex')]),
          )
        },
      ),
    )
  })

  it('drops a corrupted frame and still finds the next one', () => {
    const clean = fc
      .uint8Array({ minLength: 1, maxLength: LINK_MAX_PAYLOAD })
      .map((b) => b.map((x) => (x === 0x7e ? 1 : x)))
    fc.assert(
      fc.property(clean, frame, fc.nat(), fc.integer({ min: 1, max: 255 }), (bad, good, at, flip) => {
        const corrupted = encodeFrame(0x01, bad)
        const index = 3 + (at % (corrupted.length - 3)) // a payload or CRC byte
        const original = corrupted[index] as number
        // Corrupt the byte, but never into a start byte (that is the noisy-stream property's job)
        // and never back into its original value.
        let value = original ^ flip
        if (value === 0x7e) value = original === 0x7d ? 0x7c : 0x7d
        corrupted[index] = value
        const decoder = new LinkDecoder()
        // A 0x7E in the corrupted frame's CRC can start a false frame that holds the good one
        // until more bytes come; the line then goes quiet and idle() releases it.
        const got = decoder.push(Buffer.concat([corrupted, encodeFrame(good.type, good.payload)]))
        got.push(...decoder.idle())
        expect(got).toHaveLength(1)
        expect(Buffer.from(got[0]!.payload).equals(Buffer.from(good.payload))).toBe(true)
        expect(decoder.errors).toBeGreaterThan(0)
      }),
    )
  })

  it('refuses payloads over the maximum', () => {
    expect(() => encodeFrame(1, new Uint8Array(LINK_MAX_PAYLOAD + 1))).toThrow(LinkFrameError)
  })

  it('measurements round-trip', () => {
    const measurement: fc.Arbitrary<Measurement> = fc.record({
      energyWh: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      powerW: fc.nat({ max: 0xffffffff }),
      voltageMv: fc.nat({ max: 0xffffffff }),
      currentMa: fc.nat({ max: 0xffffffff }),
      powerFactor: fc.nat({ max: 0xffff }),
      temperatureCenti: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      light: fc.nat({ max: 0xffff }),
      gas: fc.nat({ max: 0xffff }),
      water: fc.nat({ max: 0xffff }),
      hazards: fc.nat({ max: 255 }),
      relays: fc.nat({ max: 255 }),
      fanSpeed: fc.nat({ max: 255 }),
      source: fc.nat({ max: 255 }),
      exportedWh: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    })
    fc.assert(
      fc.property(measurement, (m) => {
        expect(decodeMeasurement(encodeMeasurement(m))).toEqual(m)
      }),
    )
    expect(() => decodeMeasurement(new Uint8Array(35))).toThrow(LinkFrameError)
    // The import-only 36-byte measurement of older UNO firmware is refused, not read as 0 exported.
    expect(() => decodeMeasurement(new Uint8Array(36))).toThrow(LinkFrameError)
  })

  it('decodes the shared vector frames and measurements', () => {
    const vectors = JSON.parse(readFileSync(join(VECTORS_DIR, 'link.json'), 'utf8')) as {
      frames: {
        type: number
        payload: string
        frame: string
        measurement?: Record<string, number | string>
      }[]
    }
    for (const f of vectors.frames) {
      const [frame] = new LinkDecoder().push(Buffer.from(f.frame, 'hex'))
      expect(frame?.type).toBe(f.type)
      expect(Buffer.from(frame!.payload).toString('hex')).toBe(f.payload)
      if (f.measurement) {
        const m = decodeMeasurement(frame!.payload)
        expect({ ...m, energyWh: m.energyWh.toString(), exportedWh: m.exportedWh.toString() }).toEqual(
          f.measurement,
        )
      }
    }
  })
})
