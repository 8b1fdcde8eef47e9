import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  type BatchContext,
  BatchTooLargeError,
  DecryptionError,
  decryptBatch,
  derivePeriodKey,
  encryptBatch,
  generateGrantKeyPair,
  InvalidBlockError,
  InvalidGrantError,
  MAX_BATCH_BYTES,
  openGrant,
  PAD_BYTES,
  splitRecords,
  wrapGrant,
} from '../../src/vault/index.ts'
import { METER, meterRecords, newRootKey, OTHER_METER, PERIOD_END, PERIOD_START } from './helpers.ts'

const MANIFEST = 'bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const OTHER_MANIFEST = 'bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

// JSON-like values dag-cbor round-trips exactly (no -0, NaN or Infinity: dag-cbor forbids or normalises them).
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ unit: 'binary' }),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(
    fc.string({ unit: 'binary-ascii' }).filter((k) => k !== '__proto__'),
    tie('node'),
    {
      maxKeys: 5,
    },
  ),
}))
const records = fc.array(value.node, { minLength: 1, maxLength: 20 })
const periodKey = derivePeriodKey(newRootKey(), METER, PERIOD_START)
const ctx = (index = 3): BatchContext => ({ periodKey, meter: METER, periodStart: PERIOD_START, index })

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

describe('batch encryption', () => {
  it('round-trips random records', () => {
    fc.assert(
      fc.property(records, fc.nat({ max: 0xffffffff }), (recs, index) => {
        const block = encryptBatch(ctx(index), recs)
        expect((block.length - 41) % PAD_BYTES).toBe(0)
        expect(decryptBatch(ctx(index), block)).toEqual(recs)
      }),
      { numRuns: 200 },
    )
  })

  it('rejects any single-bit flip in the nonce or ciphertext', () => {
    const block = encryptBatch(ctx(), meterRecords(20))
    fc.assert(
      fc.property(fc.integer({ min: 8, max: block.length * 8 - 1 }), (bit) => {
        expect(() => decryptBatch(ctx(), flipBit(block, bit))).toThrow(DecryptionError)
      }),
      { numRuns: 300 },
    )
    // The version byte is format, not ciphertext: a flip there is refused as an unknown format.
    for (let bit = 0; bit < 8; bit++)
      expect(() => decryptBatch(ctx(), flipBit(block, bit))).toThrow(InvalidBlockError)
  })

  it('rejects any single-bit change of the bound context (meter, period start, index)', () => {
    const block = encryptBatch(ctx(), meterRecords(5))
    const meterBits = BigInt(METER)
    fc.assert(
      fc.property(fc.nat({ max: 159 }), fc.nat({ max: 52 }), fc.nat({ max: 31 }), (mBit, pBit, iBit) => {
        const meter = `0x${(meterBits ^ (1n << BigInt(mBit))).toString(16).padStart(40, '0')}`
        expect(() => decryptBatch({ ...ctx(), meter }, block)).toThrow(DecryptionError)
        const periodStart = Number(BigInt(PERIOD_START) ^ (1n << BigInt(pBit)))
        expect(() => decryptBatch({ ...ctx(), periodStart }, block)).toThrow(DecryptionError)
        expect(() => decryptBatch(ctx((3 ^ (1 << iBit)) >>> 0), block)).toThrow(DecryptionError)
      }),
      { numRuns: 100 },
    )
  })

  it('rejects a wrong period key (another period, meter or household)', () => {
    const block = encryptBatch(ctx(), meterRecords(5))
    for (const key of [
      derivePeriodKey(newRootKey(), METER, PERIOD_START),
      derivePeriodKey(newRootKey(), OTHER_METER, PERIOD_START),
    ]) {
      expect(() => decryptBatch({ ...ctx(), periodKey: key }, block)).toThrow(DecryptionError)
    }
  })

  it('validates batches before encrypting', () => {
    expect(() => encryptBatch(ctx(), [])).toThrow(InvalidInputError)
    expect(() => encryptBatch(ctx(), [{ a: undefined }])).toThrow(InvalidInputError)
    expect(() => encryptBatch(ctx(), [Number.NaN])).toThrow(InvalidInputError)
    expect(() => encryptBatch({ ...ctx(), meter: '0x1234' }, meterRecords(1))).toThrow(InvalidInputError)
    const big = [new Uint8Array(MAX_BATCH_BYTES)]
    expect(dagCbor.encode(big).length).toBeGreaterThan(MAX_BATCH_BYTES)
    expect(() => encryptBatch(ctx(), big)).toThrow(BatchTooLargeError)
    expect(() => encryptBatch(ctx(), [new Uint8Array(MAX_BATCH_BYTES - 16)])).not.toThrow()
  })
})

describe('disclosure grants', () => {
  const recipient = generateGrantKeyPair()
  const grant = wrapGrant({
    manifestCid: MANIFEST,
    meter: METER,
    periodStart: PERIOD_START,
    periodEnd: PERIOD_END,
    periodKey,
    recipientPublicKey: recipient.publicKey,
  })

  it('opens for the recipient and yields the period key', () => {
    const opened = openGrant(grant, recipient.privateKey)
    expect(opened.periodKey).toEqual(periodKey)
    expect(opened.manifestCid.toString()).toBe(MANIFEST)
  })

  it('fails to open for random wrong private keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (wrong) => {
        fc.pre(!Buffer.from(wrong).equals(Buffer.from(recipient.privateKey)))
        expect(() => openGrant(grant, wrong)).toThrow(InvalidGrantError)
      }),
      { numRuns: 100 },
    )
  })

  it('fails to open when any bound field is altered', () => {
    const hexFields = ['recipient', 'ephemeralPublicKey', 'nonce', 'wrappedKey'] as const
    fc.assert(
      fc.property(fc.constantFrom(...hexFields), fc.nat(), (field, bitSeed) => {
        const bytes = Buffer.from(grant[field], 'hex')
        const altered = {
          ...grant,
          [field]: Buffer.from(flipBit(bytes, bitSeed % (bytes.length * 8))).toString('hex'),
        }
        expect(() => openGrant(altered, recipient.privateKey)).toThrow(InvalidGrantError)
      }),
      { numRuns: 200 },
    )
    for (const altered of [
      { ...grant, manifestCid: OTHER_MANIFEST },
      { ...grant, meter: OTHER_METER },
      { ...grant, periodStart: PERIOD_START + 1 },
      { ...grant, periodEnd: PERIOD_END + 1 },
      { ...grant, version: 2 },
      { ...grant, manifestCid: 'not-a-cid' },
    ]) {
      expect(() => openGrant(altered as typeof grant, recipient.privateKey)).toThrow(InvalidGrantError)
    }
    expect(() => openGrant('{"truncated', recipient.privateKey)).toThrow(InvalidGrantError)
  })

  it('refuses a low-order recipient key', () => {
    expect(() =>
      wrapGrant({
        manifestCid: MANIFEST,
        meter: METER,
        periodStart: PERIOD_START,
        periodEnd: PERIOD_END,
        periodKey,
        recipientPublicKey: new Uint8Array(32),
      }),
    ).toThrow(InvalidInputError)
  })
})

describe('splitRecords', () => {
  it('keeps order and content, and every group encodes within the target', () => {
    fc.assert(
      fc.property(
        fc.array(value.node, { maxLength: 60 }),
        fc.integer({ min: 64, max: 4096 }),
        (recs, target) => {
          const fitting = recs.filter((r) => dagCbor.encode([r]).length <= target)
          const groups = splitRecords(fitting, target)
          expect(groups.flat()).toEqual(fitting)
          for (const g of groups) {
            expect(g.length).toBeGreaterThan(0)
            expect(dagCbor.encode(g).length).toBeLessThanOrEqual(target)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('splits a journal-sized group into batches the vault accepts', () => {
    const groups = splitRecords(meterRecords(5000))
    expect(groups.length).toBeGreaterThan(1)
    for (const g of groups) expect(() => encryptBatch(ctx(), g)).not.toThrow()
  })
})
