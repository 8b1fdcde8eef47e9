import { secp256k1 } from '@noble/curves/secp256k1.js'
import { TypedDataEncoder, Wallet } from 'ethers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addressOfPrivateKey,
  BILLING_PERIOD_FIELDS,
  billingPeriodDigest,
  bytesToHex,
  hexToBytes,
  InvalidSignatureError,
  METER_RECORD_FIELDS,
  type MeterRecordMessage,
  meterRecordDigest,
  recoverSigner,
  signDigest,
} from '../eip712.ts'
import { InvalidInputError } from '../errors.ts'

const domain = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const ethersDomain = { name: 'zkmeter', version: '1', ...domain }
const asTypes = (fields: readonly (readonly [string, string])[]) =>
  fields.map(([name, type]) => ({ name, type }))
const key = hexToBytes(`0x${'11'.repeat(32)}`)

const u = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n })
const recordArb: fc.Arbitrary<MeterRecordMessage> = fc.record({
  seq: u(64),
  kind: fc.constantFrom(0n, 1n),
  time: u(64),
  energyWh: u(64),
  intervalWh: u(32),
  exportedWh: u(64),
  intervalExportedWh: u(32),
  powerW: u(32),
  voltageMv: u(32),
  currentMa: u(32),
  powerFactor: u(16),
  temperatureCenti: fc.bigInt({ min: -(1n << 31n), max: (1n << 31n) - 1n }),
  light: u(16),
  gas: u(16),
  water: u(16),
  hazards: u(8),
  relays: u(8),
  fanSpeed: u(8),
})

describe('EIP-712 reference implementation', () => {
  it('matches ethers for random meter records', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const ours = bytesToHex(meterRecordDigest(domain, record))
        expect(ours).toBe(
          TypedDataEncoder.hash(ethersDomain, { MeterRecord: asTypes(METER_RECORD_FIELDS) }, record),
        )
      }),
      { numRuns: 200 },
    )
  })

  it('matches ethers for billing periods, and ethers signatures equal ours', async () => {
    const wallet = new Wallet(bytesToHex(key))
    const message = {
      meter: addressOfPrivateKey(key),
      periodStart: 1764000000n,
      periodEnd: 1766592000n,
      startCounter: 1_000_000n,
      endCounter: 1_312_000n,
      commitment: (1n << 250n) + 12345n,
    }
    const types = { BillingPeriod: asTypes(BILLING_PERIOD_FIELDS) }
    const digest = billingPeriodDigest(domain, message)
    expect(bytesToHex(digest)).toBe(TypedDataEncoder.hash(ethersDomain, types, message))
    expect(signDigest(key, digest)).toBe(await wallet.signTypedData(ethersDomain, types, message))
    expect(message.meter).toBe(wallet.address.toLowerCase())
  })

  it('recovers the signer of any digest and rejects tampering', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 63 }),
        (digest, pos) => {
          const sig = signDigest(key, digest)
          expect(recoverSigner(digest, sig)).toBe(addressOfPrivateKey(key))
          const bytes = hexToBytes(sig)
          bytes[pos] = (bytes[pos] as number) ^ 0x01
          let recovered: string | undefined
          try {
            recovered = recoverSigner(digest, bytesToHex(bytes))
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidSignatureError)
          }
          expect(recovered).not.toBe(addressOfPrivateKey(key))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('rejects high-S twins, bad v and malformed hex with InvalidSignatureError', () => {
    const digest = new Uint8Array(32).fill(9)
    const sig = hexToBytes(signDigest(key, digest))
    const n = secp256k1.Point.CURVE().n
    const s = BigInt(bytesToHex(sig.subarray(32, 64)))
    const highS = hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`)
    const twin = new Uint8Array(sig)
    twin.set(highS, 32)
    twin[64] = twin[64] === 27 ? 28 : 27
    expect(() => recoverSigner(digest, bytesToHex(twin))).toThrow(/high S/)
    const badV = new Uint8Array(sig)
    badV[64] = 1
    expect(() => recoverSigner(digest, bytesToHex(badV))).toThrow(InvalidSignatureError)
    for (const junk of ['', '0x', '0x12', `0x${'zz'.repeat(65)}`, bytesToHex(sig).slice(0, -2)]) {
      expect(() => recoverSigner(digest, junk)).toThrow(InvalidSignatureError)
    }
  })

  it('refuses field values that do not fit their type', () => {
    const good = fc.sample(recordArb, 1)[0] as MeterRecordMessage
    expect(() => meterRecordDigest(domain, { ...good, kind: 256n })).toThrow(InvalidInputError)
    expect(() => meterRecordDigest(domain, { ...good, temperatureCenti: 1n << 31n })).toThrow(
      /does not fit int32/,
    )
    expect(() => meterRecordDigest(domain, { ...good, seq: -1n })).toThrow(InvalidInputError)
    expect(() => meterRecordDigest(domain, { ...good, seq: 1.5 })).toThrow(/must be an integer/)
  })
})
