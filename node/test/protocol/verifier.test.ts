import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addressOfPrivateKey,
  InvalidSignatureError,
  meterRecordDigest,
  recoverSigner,
} from '../../src/protocol/eip712.ts'
import { type MeterRecord, signRecord, WrongSignerError } from '../../src/protocol/records.ts'
import { createMeterVerifier } from '../../src/protocol/verifier.ts'

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
