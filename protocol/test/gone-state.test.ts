/**
 * The GONE notice (signed RecordsGone) and the STATE report's open period (docs/protocol.md §6–7):
 * round trips, signatures, and the strict parsers' failures — always a named error, with the field.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { TypedDataEncoder } from 'ethers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addressOfPrivateKey, bytesToHex, RECORDS_GONE_FIELDS, recordsGoneDigest } from '../eip712.ts'
import { ZkMeterError } from '../errors.ts'
import { encodeState } from '../meter/status.ts'
import {
  encodeGonePayload,
  MalformedPayloadError,
  parseGonePayload,
  parseStatePayload,
  type RecordsGone,
  SchemaError,
  signGone,
  verifyGoneSignature,
  WrongSignerError,
} from '../records.ts'
import { goneTopic, stateTopic, TopicError } from '../topics.ts'
import { createMeterVerifier } from '../verifier.ts'

const domain = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const key = secp256k1.utils.randomSecretKey()
const meter = addressOfPrivateKey(key)
const otherKey = secp256k1.utils.randomSecretKey()
const SAFE = Number.MAX_SAFE_INTEGER
const INTERVAL = 900

function expectNamed(f: () => unknown): void {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(ZkMeterError)
  }
}

const goneArb: fc.Arbitrary<RecordsGone> = fc
  .tuple(fc.integer({ min: 0, max: SAFE }), fc.integer({ min: 0, max: SAFE }))
  .map(([a, b]) => ({ meter, fromSeq: Math.min(a, b), toSeq: Math.max(a, b) }))

describe('GONE payload', () => {
  it('hashes as ethers hashes the EIP-712 RecordsGone type', () => {
    const gone = { meter, fromSeq: 120, toSeq: 4215 }
    const types = { RecordsGone: RECORDS_GONE_FIELDS.map(([name, type]) => ({ name, type })) }
    const expected = TypedDataEncoder.hash({ name: 'zkmeter', version: '1', ...domain }, types, gone)
    expect(bytesToHex(recordsGoneDigest(domain, gone))).toBe(expected)
  })

  it('round-trips and verifies random ranges (property)', () => {
    const verifier = createMeterVerifier(domain, meter)
    fc.assert(
      fc.property(goneArb, (gone) => {
        const sig = signGone(domain, key, gone)
        const parsed = parseGonePayload(goneTopic(meter), encodeGonePayload(gone, sig))
        expect(parsed).toEqual({ meter, gone, signature: sig })
        verifyGoneSignature(domain, meter, parsed.gone, parsed.signature)
        verifier.verifyGone(parsed.gone, parsed.signature)
      }),
      { numRuns: 30 },
    )
  })

  it('refuses another key, another range and another meter', () => {
    const gone = { meter, fromSeq: 5, toSeq: 9 }
    const foreign = signGone(domain, otherKey, gone)
    expect(() => verifyGoneSignature(domain, meter, gone, foreign)).toThrow(WrongSignerError)
    const sig = signGone(domain, key, gone)
    expect(() => verifyGoneSignature(domain, meter, { ...gone, toSeq: 10 }, sig)).toThrow(WrongSignerError)
    const other = addressOfPrivateKey(otherKey)
    expect(() => parseGonePayload(goneTopic(other), encodeGonePayload(gone, sig))).toThrow(SchemaError)
  })

  it('names what is wrong', () => {
    const good = JSON.parse(
      encodeGonePayload(
        { meter, fromSeq: 5, toSeq: 9 },
        signGone(domain, key, { meter, fromSeq: 5, toSeq: 9 }),
      ),
    )
    const cases: [string, (j: typeof good) => void][] = [
      ['$.toSeq', (j) => (j.toSeq = 4)],
      ['$.fromSeq', (j) => (j.fromSeq = -1)],
      ['$.fromSeq', (j) => (j.fromSeq = 2 ** 53)],
      ['$.toSeq', (j) => (j.toSeq = '9')],
      ['$.sig', (j) => (j.sig = '0x12')],
      ['$.v', (j) => (j.v = 2)],
      ['$.extra', (j) => (j.extra = 1)],
      ['$.meter', (j) => delete j.meter],
    ]
    for (const [path, mutate] of cases) {
      const copy = structuredClone(good)
      mutate(copy)
      let caught: unknown
      try {
        parseGonePayload(goneTopic(meter), JSON.stringify(copy))
      } catch (error) {
        caught = error
      }
      expect(caught, path).toBeInstanceOf(SchemaError)
      expect((caught as SchemaError).path).toBe(path)
    }
    expect(() => parseGonePayload(goneTopic(meter), '{')).toThrow(MalformedPayloadError)
    expect(() => parseGonePayload(stateTopic(meter), JSON.stringify(good))).toThrow(TopicError)
  })

  it('throws only named errors for random bytes and mutated JSON (property)', () => {
    const text = encodeGonePayload(
      { meter, fromSeq: 5, toSeq: 9 },
      signGone(domain, key, { meter, fromSeq: 5, toSeq: 9 }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expectNamed(() => parseGonePayload(goneTopic(meter), bytes))
      }),
      { numRuns: 200 },
    )
    fc.assert(
      fc.property(
        fc.constantFrom('v', 'meter', 'fromSeq', 'toSeq', 'sig'),
        fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 2 ** 53, 1.5, -0, null, [], {}, '0x')),
        (field, value) => {
          const copy = JSON.parse(text)
          copy[field] = value
          expectNamed(() => parseGonePayload(goneTopic(meter), JSON.stringify(copy)))
        },
      ),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.string({ maxLength: 3 }), (at, insert) => {
        expectNamed(() => parseGonePayload(goneTopic(meter), text.slice(0, at) + insert + text.slice(at + 1)))
      }),
      { numRuns: 300 },
    )
  })
})

const stateArb = fc
  .record({
    time: fc.integer({ min: 31 * 86_400, max: 4_000_000_000 }),
    back: fc.integer({ min: 0, max: 31 * 86_400 }),
    uptime: fc.integer({ min: 0, max: 10 * 365 * 86_400 }),
    relays: fc.integer({ min: 0, max: 255 }),
    fanSpeed: fc.integer({ min: 0, max: 3 }),
    periodDays: fc.integer({ min: 0, max: 31 }),
  })
  .map(({ back, ...s }) => {
    const start = s.time - back
    return { ...s, periodStart: start - (start % INTERVAL) }
  })

describe('STATE payload', () => {
  it('parses what the meter prints, open period and PeriodDays included (property)', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        expect(parseStatePayload(stateTopic(meter), encodeState(s), { intervalSeconds: INTERVAL })).toEqual({
          meter,
          time: s.time,
          periodStart: s.periodStart,
          periodDays: s.periodDays,
        })
      }),
      { numRuns: 200 },
    )
  })

  it('names what is wrong', () => {
    const good = JSON.parse(
      encodeState({
        time: 1764002700,
        uptime: 93784,
        relays: 137,
        fanSpeed: 2,
        periodStart: 1761955200,
        periodDays: 0,
      }),
    )
    const cases: [string, (j: typeof good) => void][] = [
      ['$.PeriodStart', (j) => delete j.PeriodStart],
      ['$.PeriodStart', (j) => (j.PeriodStart = 1761955201)],
      ['$.PeriodStart', (j) => (j.PeriodStart = 1764002700 + 32 * 86_400)], // far after Time
      ['$.PeriodStart', (j) => (j.PeriodStart = 1764002700 - 33 * 86_400 - 900)], // stale
      ['$.PeriodDays', (j) => (j.PeriodDays = 32)],
      ['$.PeriodDays', (j) => (j.PeriodDays = '0')],
      ['$.Time', (j) => (j.Time = '2025-11-24 16:45:00')],
      ['$.Time', (j) => (j.Time = '2025-13-24T16:45:00Z')],
      ['$.Uptime', (j) => (j.Uptime = 12)],
      ['$.POWER3', (j) => (j.POWER3 = 'on')],
      ['$.FanSpeed', (j) => (j.FanSpeed = 4)],
      ['$.Extra', (j) => (j.Extra = 1)],
    ]
    for (const [path, mutate] of cases) {
      const copy = structuredClone(good)
      mutate(copy)
      let caught: unknown
      try {
        parseStatePayload(stateTopic(meter), JSON.stringify(copy), { intervalSeconds: INTERVAL })
      } catch (error) {
        caught = error
      }
      expect(caught, path).toBeInstanceOf(SchemaError)
      expect((caught as SchemaError).path, path).toBe(path)
    }
    // Before the provisioning point STATE names where the first period will open: ahead of Time.
    const ahead = { ...good, PeriodStart: 1764002700 + 2 * INTERVAL }
    expect(
      parseStatePayload(stateTopic(meter), JSON.stringify(ahead), { intervalSeconds: INTERVAL }).periodStart,
    ).toBe(ahead.PeriodStart)
    // A profile with a shorter maximum period refuses a PeriodDays the circuit cannot hold.
    expect(() =>
      parseStatePayload(stateTopic(meter), JSON.stringify({ ...good, PeriodDays: 3 }), { maxPeriodDays: 2 }),
    ).toThrow(SchemaError)
    expect(() => parseStatePayload(goneTopic(meter), JSON.stringify(good))).toThrow(TopicError)
  })

  it('throws only named errors for random bytes and mutated JSON (property)', () => {
    const text = encodeState({
      time: 1764002700,
      uptime: 1,
      relays: 0,
      fanSpeed: 0,
      periodStart: 1761955200,
      periodDays: 7,
    })
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expectNamed(() => parseStatePayload(stateTopic(meter), bytes))
      }),
      { numRuns: 200 },
    )
    fc.assert(
      fc.property(
        fc.constantFrom('Time', 'Uptime', 'POWER1', 'FanSpeed', 'PeriodStart', 'PeriodDays'),
        fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 2 ** 53, 1.5, -0, null, [], {}, '')),
        (field, value) => {
          const copy = JSON.parse(text)
          copy[field] = value
          expectNamed(() => parseStatePayload(stateTopic(meter), JSON.stringify(copy)))
        },
      ),
      { numRuns: 300 },
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.string({ maxLength: 3 }), (at, insert) => {
        expectNamed(() =>
          parseStatePayload(stateTopic(meter), text.slice(0, at) + insert + text.slice(at + 1)),
        )
      }),
      { numRuns: 300 },
    )
  })
})
