/**
 * Fast signature checks for a known meter. Recovering the signer (what recoverSigner does) costs a
 * full point decompression and a double multiplication per record; a node that knows its meter can
 * instead verify against the meter's public key with precomputed wNAF tables for that key (~3× faster
 * measured, see docs/benchmarks/ingest.md). The key is learned once by recovery from the first
 * valid signature — the address check makes that safe — and then cached.
 *
 * Rejections are the same as recoverSigner's: malformed or high-S signatures, and the recovery byte
 * must match, so a signature accepted here is exactly one recoverSigner maps to the meter.
 */
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import {
  type BillingPeriodMessage,
  billingPeriodDigest,
  domainSeparator,
  type Eip712Domain,
  exportPeriodDigest,
  hexToBytes,
  InvalidSignatureError,
  METER_RECORD_FIELDS,
  METER_RECORD_TYPE,
  type MeterRecordMessage,
  meterRecordDigest,
  type RecordsGoneMessage,
  recordsGoneDigest,
  recoverSigner,
} from './eip712.ts'
import {
  type BillingPeriod,
  type ExportClose,
  exportPeriodMessage,
  type MeterRecord,
  type RecordsGone,
  WrongSignerError,
} from './records.ts'

const Point = secp256k1.Point
const Fn = Point.Fn
const HALF_N = Fn.ORDER / 2n
/** wNAF window for the cached meter key: 8 gives 2^7 points per window, ~1 MB, the sweet spot measured. */
const WINDOW = 8

export interface MeterVerifier {
  readonly meter: `0x${string}`
  /** Throws InvalidSignatureError / WrongSignerError unless `sig` is the meter's signature of the record. */
  verifyRecord(record: MeterRecord | MeterRecordMessage, sig: string): void
  verifyPeriod(period: BillingPeriod | BillingPeriodMessage, sig: string): void
  /** The export half of a close (ExportPeriod over the close's meter and bounds, protocol §6). */
  verifyExport(period: BillingPeriod, close: ExportClose): void
  verifyGone(gone: RecordsGone | RecordsGoneMessage, sig: string): void
}

function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  return v
}

const RECORD_TYPE_HASH = keccak_256(new TextEncoder().encode(METER_RECORD_TYPE))

/**
 * meterRecordDigest with the domain separator and type hash computed once (they cost three of the
 * five keccaks per record). Only for records whose fields are all safe integers in range — what
 * parseSensorPayload returns; anything else goes through meterRecordDigest, which validates.
 * A property test pins it to meterRecordDigest.
 */
export function createRecordDigester(
  domain: Eip712Domain,
): (record: MeterRecord | MeterRecordMessage) => Uint8Array {
  const separator = domainSeparator(domain)
  const out = new Uint8Array(66)
  out[0] = 0x19
  out[1] = 0x01
  out.set(separator, 2)
  return (record) => {
    const buf = new Uint8Array(32 * (1 + METER_RECORD_FIELDS.length))
    buf.set(RECORD_TYPE_HASH, 0)
    const view = new DataView(buf.buffer)
    for (let i = 0; i < METER_RECORD_FIELDS.length; i++) {
      const [key, type] = METER_RECORD_FIELDS[i] as (typeof METER_RECORD_FIELDS)[number]
      const v = record[key]
      const bits = type === 'int32' ? 31 : Number.parseInt(type.slice(4), 10)
      const limit = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1
      const min = type === 'int32' ? -(2 ** 31) : 0
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > limit)
        return meterRecordDigest(domain, record)
      const at = 32 * (i + 1)
      if (v < 0) buf.fill(0xff, at, at + 28)
      view.setUint32(at + 24, Math.floor(v / 2 ** 32) >>> 0)
      view.setUint32(at + 28, v >>> 0)
    }
    const digestInput = out.slice()
    digestInput.set(keccak_256(buf), 34)
    return keccak_256(digestInput)
  }
}

export function createMeterVerifier(domain: Eip712Domain, meter: string): MeterVerifier {
  const address = meter.toLowerCase() as `0x${string}`
  if (!/^0x[0-9a-f]{40}$/.test(address)) throw new InvalidSignatureError(`meter ${meter} is not an address`)
  let publicKey: WeierstrassPoint<bigint> | undefined
  const recordDigest = createRecordDigester(domain)

  const check = (digest: Uint8Array, sig: string, what: string): void => {
    if (publicKey === undefined) {
      const recovered = recoverSigner(digest, sig)
      if (recovered !== address) {
        throw new WrongSignerError(`the ${what} signature was not made by meter ${address}`, {
          details: { meter: address, recovered },
        })
      }
      const v = hexToBytes(sig, 65)
      const recovery = new Uint8Array(65)
      recovery[0] = (v[64] as number) - 27
      recovery.set(v.subarray(0, 64), 1)
      const key = secp256k1.recoverPublicKey(recovery, digest, { prehash: false })
      publicKey = Point.fromBytes(key).precompute(WINDOW, false)
      return
    }
    let bytes: Uint8Array
    try {
      bytes = hexToBytes(sig, 65)
    } catch (cause) {
      throw new InvalidSignatureError('a signature is 65 bytes r ‖ s ‖ v as 0x-prefixed hex', { cause })
    }
    const v = bytes[64] as number
    if (v !== 27 && v !== 28) throw new InvalidSignatureError(`signature v must be 27 or 28, got ${v}`)
    const r = bytesToBigint(bytes.subarray(0, 32))
    const s = bytesToBigint(bytes.subarray(32, 64))
    if (r <= 0n || r >= Fn.ORDER || s <= 0n || s >= Fn.ORDER) {
      throw new InvalidSignatureError('signature r or s is out of range')
    }
    if (s > HALF_N) throw new InvalidSignatureError('signature has a high S value')
    const h = Fn.create(bytesToBigint(digest))
    const sInv = Fn.inv(s)
    // R = h/s·G + r/s·P; the base point and the meter key both use cached precomputed tables.
    const R = Point.BASE.multiplyUnsafe(Fn.create(h * sInv)).add(
      publicKey.multiplyUnsafe(Fn.create(r * sInv)),
    )
    const ok =
      !R.is0() &&
      (() => {
        const { x, y } = R.toAffine()
        // Recovery id: bit 0 = parity of R.y, bit 1 = R.x ≥ n (r was reduced).
        const recovery = Number(y & 1n) | (x === r ? 0 : 2)
        return Fn.create(x) === r && recovery === v - 27
      })()
    if (!ok) {
      throw new WrongSignerError(`the ${what} signature was not made by meter ${address}`, {
        details: { meter: address },
      })
    }
  }

  return {
    meter: address,
    verifyRecord(record, sig) {
      check(recordDigest(record), sig, 'record')
    },
    verifyPeriod(period, sig) {
      check(billingPeriodDigest(domain, { ...period, commitment: BigInt(period.commitment) }), sig, 'period')
    },
    verifyExport(period, close) {
      check(exportPeriodDigest(domain, exportPeriodMessage(period, close)), close.signature, 'export period')
    },
    verifyGone(gone, sig) {
      check(recordsGoneDigest(domain, gone), sig, 'records-gone')
    },
  }
}
