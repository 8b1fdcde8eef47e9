import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commitExport, MAX_READING } from '../commitment.ts'
import { addressOfPrivateKey, InvalidSignatureError } from '../eip712.ts'
import { ZkMeterError } from '../errors.ts'
import {
  type BillingPeriod,
  type ExportClose,
  encodePeriodPayload,
  encodeSensorPayload,
  ImpossibleIntervalError,
  MalformedPayloadError,
  type MeterRecord,
  PayloadTooLargeError,
  parsePeriodPayload,
  parseSensorPayload,
  RECORD_KEYS,
  SchemaError,
  signExportPeriod,
  signPeriod,
  signRecord,
  verifyExportSignature,
  verifyPeriodSignature,
  verifyRecordSignature,
  WrongSignerError,
} from '../records.ts'
import { periodTopic, sensorTopic, TopicError } from '../topics.ts'

const domain = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const key = secp256k1.utils.randomSecretKey()
const meter = addressOfPrivateKey(key)
const otherKey = secp256k1.utils.randomSecretKey()
const INTERVAL = 900
const SAFE = Number.MAX_SAFE_INTEGER

const recordArb: fc.Arbitrary<MeterRecord> = fc
  .record({
    seq: fc.integer({ min: 0, max: SAFE }),
    kind: fc.constantFrom(0, 1),
    time: fc.integer({ min: 0, max: Math.floor(SAFE / INTERVAL) - 1 }),
    energyWh: fc.integer({ min: 0, max: SAFE }),
    intervalWh: fc.integer({ min: 0, max: 0xffffffff }),
    exportedWh: fc.integer({ min: 0, max: SAFE }),
    intervalExportedWh: fc.integer({ min: 0, max: 0xffffffff }),
    powerW: fc.integer({ min: 0, max: 0xffffffff }),
    voltageMv: fc.integer({ min: 0, max: 0xffffffff }),
    currentMa: fc.integer({ min: 0, max: 0xffffffff }),
    powerFactor: fc.integer({ min: 0, max: 1000 }),
    temperatureCenti: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    light: fc.integer({ min: 0, max: 1000 }),
    gas: fc.integer({ min: 0, max: 1000 }),
    water: fc.integer({ min: 0, max: 1000 }),
    hazards: fc.integer({ min: 0, max: 7 }),
    relays: fc.integer({ min: 0, max: 255 }),
    fanSpeed: fc.integer({ min: 0, max: 3 }),
  })
  .map((r) => ({ ...r, time: r.kind === 1 ? r.time * INTERVAL : r.time * INTERVAL + (r.seq % INTERVAL) }))
  // The physical rules of protocol §6: an interval's export is within the export counter, and an
  // interval record carries at most MAX_READING Wh through the line in both directions together.
  .map((r) => {
    const intervalWh = r.kind === 1 ? r.intervalWh % (MAX_READING + 1) : r.intervalWh
    const room = r.kind === 1 ? MAX_READING - intervalWh + 1 : 2 ** 32
    return { ...r, intervalWh, intervalExportedWh: Math.min(r.intervalExportedWh % room, r.exportedWh) }
  })

const sample: MeterRecord = {
  seq: 42,
  kind: 1,
  time: 1764002700,
  energyWh: 1234567,
  intervalWh: 312,
  exportedWh: 0,
  intervalExportedWh: 0,
  powerW: 1500,
  voltageMv: 230100,
  currentMa: 6520,
  powerFactor: 980,
  temperatureCenti: 2450,
  light: 42,
  gas: 1,
  water: 0,
  hazards: 0,
  relays: 137,
  fanSpeed: 2,
}

const samplePeriod: BillingPeriod = {
  meter,
  periodStart: 1764000000 - (1764000000 % 86400),
  periodEnd: 1764000000 - (1764000000 % 86400) + 2 * 86400,
  startCounter: 1000000,
  endCounter: 1312000,
  commitment: 12345678901234567890n,
}

/** Every failure of a parser must be one of our named errors. */
function expectNamed(f: () => unknown): void {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(ZkMeterError)
    return
  }
}

describe('SENSOR payload', () => {
  it('matches the protocol example shape and round-trips', () => {
    const sig = signRecord(domain, key, sample)
    const text = encodeSensorPayload(sample, sig)
    const json = JSON.parse(text)
    expect(json.Time).toBe('2025-11-24T16:45:00Z')
    expect(json.ENERGY).toEqual({
      Total: 1234.567,
      ExportActive: 0,
      Power: 1500,
      Voltage: 230.1,
      Current: 6.52,
      Factor: 0.98,
    })
    expect(json.HAZARD).toEqual({ Flame: 0, Gas: 0, Water: 0 })
    expect(json.ZK.v).toBe(2)
    expect(json.ZK.sig).toBe(sig)
    const parsed = parseSensorPayload(sensorTopic(meter), new TextEncoder().encode(text))
    expect(parsed).toEqual({ meter, record: sample, signature: sig })
    verifyRecordSignature(domain, meter, parsed.record, parsed.signature)
  })

  it('round-trips random valid records (property)', () => {
    fc.assert(
      fc.property(recordArb, fc.uint8Array({ minLength: 65, maxLength: 65 }), (record, sigBytes) => {
        const sig = `0x${Buffer.from(sigBytes).toString('hex')}`
        const parsed = parseSensorPayload(sensorTopic(meter), encodeSensorPayload(record, sig))
        expect(parsed.record).toEqual(record)
        expect(parsed.signature).toBe(sig)
      }),
      { numRuns: 300 },
    )
  })

  it('throws only named errors for random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        expectNamed(() => parseSensorPayload(sensorTopic(meter), bytes))
      }),
      { numRuns: 300 },
    )
  })

  it('throws only named errors for mutated JSON (property)', () => {
    const text = encodeSensorPayload(sample, signRecord(domain, key, sample))
    const json = JSON.parse(text)
    const values = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(-1, 2 ** 53, 1.5, Number.NaN, '0x12', null, [], {}, -0, Number.POSITIVE_INFINITY),
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...RECORD_KEYS, 'v', 'sig'),
        values,
        fc.constantFrom('ZK', 'ENERGY', '$'),
        (field, value, group) => {
          const copy = structuredClone(json)
          if (group === '$') copy[field] = value
          else copy[group][field] = value
          expectNamed(() => parseSensorPayload(sensorTopic(meter), JSON.stringify(copy)))
        },
      ),
      { numRuns: 400 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.string({ maxLength: 3 }), (at, insert) => {
        const mutated = text.slice(0, at) + insert + text.slice(at + 1)
        expectNamed(() => parseSensorPayload(sensorTopic(meter), mutated))
      }),
      { numRuns: 400 },
    )
  })

  it('names what is wrong', () => {
    const sig = signRecord(domain, key, sample)
    const good = JSON.parse(encodeSensorPayload(sample, sig))
    const bad = (mutate: (j: typeof good) => void) => {
      const copy = structuredClone(good)
      mutate(copy)
      return JSON.stringify(copy)
    }
    expect(() => parseSensorPayload(sensorTopic(meter), '{')).toThrow(MalformedPayloadError)
    expect(() => parseSensorPayload(sensorTopic(meter), new Uint8Array([0xff, 0xfe]))).toThrow(
      MalformedPayloadError,
    )
    expect(() => parseSensorPayload(sensorTopic(meter), 'x'.repeat(5000))).toThrow(PayloadTooLargeError)
    expect(() => parseSensorPayload('tele/zkm_ABC/SENSOR', JSON.stringify(good))).toThrow(TopicError)
    expect(() => parseSensorPayload(periodTopic(meter), JSON.stringify(good))).toThrow(TopicError)
    const cases: [string, (j: typeof good) => void][] = [
      ['$.ZK.kind', (j) => (j.ZK.kind = 2)],
      ['$.ZK.time', (j) => (j.ZK.time = sample.time + 1)],
      ['$.ZK.energyWh', (j) => (j.ZK.energyWh = 2 ** 53)],
      ['$.ZK.seq', (j) => (j.ZK.seq = '42')],
      ['$.ZK.v', (j) => (j.ZK.v = 3)],
      // Version 1 (before the export counter): its signature covers another MeterRecord type.
      ['$.ZK.v', (j) => (j.ZK.v = 1)],
      ['$.ZK.exportedWh', (j) => delete j.ZK.exportedWh],
      ['$.ZK.intervalExportedWh', (j) => (j.ZK.intervalExportedWh = -1)],
      ['$.ZK.sig', (j) => delete j.ZK.sig],
      ['$.ZK.sig', (j) => (j.ZK.sig = '0x1234')],
      ['$.ZK.relays', (j) => (j.ZK.relays = 256)],
      ['$.ZK.temperatureCenti', (j) => (j.ZK.temperatureCenti = -(2 ** 31) - 1)],
      ['$.ZK.extra', (j) => (j.ZK.extra = 1)],
      ['$.ENERGY.Power', (j) => (j.ENERGY.Power = 'high')],
      ['$.ZK', (j) => (j.ZK = [])],
    ]
    for (const [path, mutate] of cases) {
      let caught: unknown
      try {
        parseSensorPayload(sensorTopic(meter), bad(mutate))
      } catch (error) {
        caught = error
      }
      expect(caught, path).toBeInstanceOf(SchemaError)
      expect((caught as SchemaError).path).toBe(path)
    }
  })
})

describe('two counters in one record', () => {
  const parse = (record: MeterRecord) =>
    parseSensorPayload(sensorTopic(meter), encodeSensorPayloadUnchecked(record))
  /** What a faulty or hostile meter could publish: encodeSensorPayload itself refuses these. */
  function encodeSensorPayloadUnchecked(record: MeterRecord): string {
    const json = JSON.parse(encodeSensorPayload(sample, signRecord(domain, key, sample)))
    for (const [k, v] of Object.entries(record)) json.ZK[k] = v
    return JSON.stringify(json)
  }

  it('shows the export counter to Home Assistant as ENERGY.ExportActive in kWh', () => {
    const record = { ...sample, exportedWh: 98765, intervalExportedWh: 40 }
    const json = JSON.parse(encodeSensorPayload(record, signRecord(domain, key, record)))
    expect(json.ENERGY.ExportActive).toBe(98.765)
    expect(parse(record).record).toEqual(record)
  })

  it('takes an interval with both import and export (a cloud at noon)', () => {
    const record = {
      ...sample,
      intervalWh: 20_000,
      exportedWh: 90_000,
      intervalExportedWh: MAX_READING - 20_000,
    }
    expect(parse(record).record).toEqual(record)
  })

  it('refuses every physically impossible pair of counters, accepts every possible one (property)', () => {
    fc.assert(
      fc.property(
        recordArb,
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.integer({ min: 1, max: MAX_READING }),
        (record, over, excess) => {
          // Valid as generated (recordArb keeps the rules).
          expect(parse(record).record).toEqual(record)
          // The interval's export above the export counter: refused whatever the kind.
          const aboveCounter = {
            ...record,
            intervalExportedWh: Math.min(record.exportedWh + over, 0xffffffff),
          }
          if (aboveCounter.intervalExportedWh > aboveCounter.exportedWh)
            expect(() => parse(aboveCounter)).toThrow(ImpossibleIntervalError)
          // More than the line carries in one interval, both ways together: refused for kind 1.
          if (record.kind === 1) {
            const intervalWh = Math.min(record.intervalWh, MAX_READING)
            const both = {
              ...record,
              intervalWh,
              exportedWh: Math.max(record.exportedWh, MAX_READING + excess),
              intervalExportedWh: MAX_READING - intervalWh + excess,
            }
            expect(() => parse(both)).toThrow(ImpossibleIntervalError)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('refuses an interval export above the export counter', () => {
    const record = { ...sample, exportedWh: 10, intervalExportedWh: 11 }
    expect(() => parse(record)).toThrow(ImpossibleIntervalError)
    expect(() => encodeSensorPayload(record, signRecord(domain, key, record))).toThrow(
      ImpossibleIntervalError,
    )
  })

  it('refuses more energy through the line in one interval than a reading can hold, both ways together', () => {
    const record = {
      ...sample,
      intervalWh: 20_000,
      exportedWh: 90_000,
      intervalExportedWh: MAX_READING - 19_999,
    }
    let caught: unknown
    try {
      parse(record)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ImpossibleIntervalError)
    expect((caught as ImpossibleIntervalError).path).toBe('$.ZK.intervalExportedWh')
    // A live sample (kind 0) is the open interval so far, not a reading: the rule is the interval's.
    expect(parse({ ...record, kind: 0, time: record.time + 7 }).record.kind).toBe(0)
  })
})

describe('record signatures', () => {
  it('any change of a signed field invalidates the signature (property)', () => {
    fc.assert(
      fc.property(
        recordArb,
        fc.constantFrom(...RECORD_KEYS),
        fc.integer({ min: 1, max: 3 }),
        (record, field, d) => {
          const sig = signRecord(domain, key, record)
          verifyRecordSignature(domain, meter, record, sig)
          const changed = { ...record, [field]: record[field] > d ? record[field] - d : record[field] + d }
          expect(() => verifyRecordSignature(domain, meter, changed, sig)).toThrow(InvalidSignatureError)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('rejects another key, another domain and high S', () => {
    const sig = signRecord(domain, otherKey, sample)
    expect(() => verifyRecordSignature(domain, meter, sample, sig)).toThrow(WrongSignerError)
    const good = signRecord(domain, key, sample)
    expect(() => verifyRecordSignature({ ...domain, chainId: 1n }, meter, sample, good)).toThrow(
      WrongSignerError,
    )
    const bytes = Buffer.from(good.slice(2), 'hex')
    const n = secp256k1.Point.CURVE().n
    const s = BigInt(`0x${bytes.subarray(32, 64).toString('hex')}`)
    bytes.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32)
    bytes[64] = bytes[64] === 27 ? 28 : 27
    expect(() => verifyRecordSignature(domain, meter, sample, `0x${bytes.toString('hex')}`)).toThrow(
      InvalidSignatureError,
    )
  })
})

const sampleExport = {
  startCounter: 40_000,
  endCounter: 52_500,
  commitment: commitExport([0, 7, 300], 9n, 192),
}
const signedExport = (period: BillingPeriod = samplePeriod, signer = key): ExportClose => ({
  ...sampleExport,
  signature: signExportPeriod(domain, signer, period, sampleExport),
})

describe('PERIOD payload', () => {
  it('round-trips and verifies', () => {
    const sig = signPeriod(domain, key, samplePeriod)
    const text = encodePeriodPayload(samplePeriod, sig, signedExport())
    const parsed = parsePeriodPayload(periodTopic(meter), text)
    expect(parsed).toEqual({ meter, period: samplePeriod, signature: sig, export: signedExport() })
    verifyPeriodSignature(domain, meter, parsed.period, sig)
    verifyExportSignature(domain, meter, parsed.period, parsed.export)
    expect(() =>
      verifyPeriodSignature(
        domain,
        meter,
        { ...parsed.period, endCounter: parsed.period.endCounter + 1 },
        sig,
      ),
    ).toThrow(WrongSignerError)
  })

  it('binds the export half to its own counters and commitment and to the period it closes', () => {
    const x = signedExport()
    const check = (period: BillingPeriod, close: ExportClose) => () =>
      verifyExportSignature(domain, meter, period, close)
    expect(check(samplePeriod, { ...x, endCounter: x.endCounter + 1 })).toThrow(WrongSignerError)
    expect(check(samplePeriod, { ...x, commitment: x.commitment + 1n })).toThrow(WrongSignerError)
    expect(check({ ...samplePeriod, periodEnd: samplePeriod.periodEnd + 900 }, x)).toThrow(WrongSignerError)
    // The import signature is not an export signature (another EIP-712 type), nor another key's.
    expect(check(samplePeriod, { ...x, signature: signPeriod(domain, key, samplePeriod) })).toThrow(
      WrongSignerError,
    )
    expect(check(samplePeriod, signedExport(samplePeriod, otherKey))).toThrow(WrongSignerError)
  })

  it('rejects inconsistent periods with the field path', () => {
    const sig = signPeriod(domain, key, samplePeriod)
    const good = JSON.parse(encodePeriodPayload(samplePeriod, sig, signedExport()))
    const cases: [string, Record<string, unknown>][] = [
      ['$.meter', { meter: addressOfPrivateKey(otherKey) }],
      ['$.periodStart', { periodStart: samplePeriod.periodStart + 1 }],
      ['$.periodEnd', { periodEnd: samplePeriod.periodStart }],
      ['$.periodEnd', { periodEnd: samplePeriod.periodStart + 32 * 86400 }],
      ['$.endCounter', { endCounter: 1 }],
      ['$.commitment', { commitment: `0x${'f'.repeat(64)}` }],
      ['$.commitment', { commitment: 5 }],
      ['$.v', { v: 0 }],
      // Commitment version 1 (before the per-slot sums): the bill circuit cannot open it.
      ['$.v', { v: 1 }],
      // Version 2 (the slot sums unpacked, seven permutations): nor this one since version 3.
      ['$.v', { v: 2 }],
      // A close without its export half (firmware before export metering).
      ['$.export', { export: undefined }],
      ['$.export.endCounter', { export: { ...good.export, endCounter: good.export.startCounter - 1 } }],
      ['$.export.commitment', { export: { ...good.export, commitment: `0x${'f'.repeat(64)}` } }],
      ['$.export.sig', { export: { ...good.export, sig: '0x12' } }],
      ['$.export.extra', { export: { ...good.export, extra: 1 } }],
    ]
    for (const [path, change] of cases) {
      let caught: unknown
      try {
        parsePeriodPayload(periodTopic(meter), JSON.stringify({ ...good, ...change }))
      } catch (error) {
        caught = error
      }
      expect(caught, path).toBeInstanceOf(SchemaError)
      expect((caught as SchemaError).path).toBe(path)
    }
  })

  it('throws only named errors for a mutated export half, and keeps every valid one (property)', () => {
    const good = JSON.parse(
      encodePeriodPayload(samplePeriod, signPeriod(domain, key, samplePeriod), signedExport()),
    )
    fc.assert(
      fc.property(
        fc.constantFrom('startCounter', 'endCounter', 'commitment', 'sig', 'extra'),
        fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 2 ** 53, 1.5, null, '0x12', -0)),
        (field, value) => {
          const copy = structuredClone(good)
          copy.export[field] = value
          expectNamed(() => parsePeriodPayload(periodTopic(meter), JSON.stringify(copy)))
        },
      ),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.bigInt({ min: 0n, max: (1n << 253n) - 1n }),
        (a, b, commitment) => {
          const close = { startCounter: Math.min(a, b), endCounter: Math.max(a, b), commitment }
          const x = { ...close, signature: signedExport().signature }
          const text = encodePeriodPayload(samplePeriod, signPeriod(domain, key, samplePeriod), x)
          expect(parsePeriodPayload(periodTopic(meter), text).export).toEqual(x)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('throws only named errors for random input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.json().map((t) => new TextEncoder().encode(t)),
        ),
        (b) => {
          expectNamed(() => parsePeriodPayload(periodTopic(meter), b))
        },
      ),
      { numRuns: 300 },
    )
  })
})
