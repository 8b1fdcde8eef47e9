import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addressOfPrivateKey, InvalidSignatureError, meterRecordDigest, recoverSigner } from '../eip712.ts'
import { type MeterRecord, signRecord, WrongSignerError } from '../records.ts'
import { createMeterVerifier, createRecordDigester } from '../verifier.ts'

const domain = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const key = secp256k1.utils.randomSecretKey()
const meter = addressOfPrivateKey(key)
const other = secp256k1.utils.randomSecretKey()

const base: MeterRecord = {
  seq: 0,
  kind: 0,
  time: 1000,
  energyWh: 5,
  intervalWh: 1,
  exportedWh: 0,
  intervalExportedWh: 0,
  powerW: 2,
  voltageMv: 230000,
  currentMa: 10,
  powerFactor: 900,
  temperatureCenti: -150,
  light: 10,
  gas: 0,
  water: 0,
  hazards: 0,
  relays: 1,
  fanSpeed: 0,
}

function flipV(sig: string): string {
  const v = Number.parseInt(sig.slice(-2), 16)
  return `${sig.slice(0, -2)}${(v === 27 ? 28 : 27).toString(16)}`
}

describe('cached-domain record digest', () => {
  it('equals meterRecordDigest for every valid record (property)', () => {
    const digest = createRecordDigester(domain)
    const u = (bits: number) =>
      fc.integer({ min: 0, max: bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1 })
    fc.assert(
      fc.property(
        fc.record({
          seq: u(53),
          kind: u(8),
          time: u(53),
          energyWh: u(53),
          intervalWh: u(32),
          exportedWh: u(53),
          intervalExportedWh: u(32),
          powerW: u(32),
          voltageMv: u(32),
          currentMa: u(32),
          powerFactor: u(16),
          temperatureCenti: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          light: u(16),
          gas: u(16),
          water: u(16),
          hazards: u(8),
          relays: u(8),
          fanSpeed: u(8),
        }),
        (record) => {
          expect(Buffer.from(digest(record)).toString('hex')).toBe(
            Buffer.from(meterRecordDigest(domain, record)).toString('hex'),
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  it('falls back to the validating digest for out-of-range values', () => {
    const digest = createRecordDigester(domain)
    expect(() => digest({ ...base, relays: 256 })).toThrow(/uint8/)
  })
})

describe('cached-key verifier', () => {
  it('agrees with recoverSigner on valid, foreign, tampered and v-flipped signatures (property)', () => {
    const verifier = createMeterVerifier(domain, meter)
    verifier.verifyRecord(base, signRecord(domain, key, base)) // learns the key
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 40 }),
        fc.constantFrom('own', 'other', 'tampered', 'flipped'),
        (seq, kind) => {
          const record = { ...base, seq }
          const signed = signRecord(domain, kind === 'other' ? other : key, record)
          const sig = kind === 'flipped' ? flipV(signed) : signed
          const checked = kind === 'tampered' ? { ...record, energyWh: record.energyWh + 1 } : record
          let reference: boolean
          try {
            reference = recoverSigner(meterRecordDigest(domain, checked), sig) === meter
          } catch {
            reference = false
          }
          let fast: boolean
          try {
            verifier.verifyRecord(checked, sig)
            fast = true
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidSignatureError)
            fast = false
          }
          expect(fast).toBe(reference)
          expect(fast).toBe(kind === 'own')
        },
      ),
      { numRuns: 60 },
    )
  })

  it('never caches a key from a foreign first signature', () => {
    const verifier = createMeterVerifier(domain, meter)
    expect(() => verifier.verifyRecord(base, signRecord(domain, other, base))).toThrow(WrongSignerError)
    verifier.verifyRecord(base, signRecord(domain, key, base))
    expect(() => verifier.verifyRecord(base, '0x1234')).toThrow(InvalidSignatureError)
  })
})
