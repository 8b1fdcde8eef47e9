/**
 * EIP-712 hashing and meter signatures for the four messages a meter signs (docs/protocol.md §6).
 * Written against the standard directly (all fields are static: address / uintN / intN), so the
 * firmware can mirror it byte for byte; a test checks it against ethers' TypedDataEncoder.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { InvalidInputError } from './errors.ts'

export class InvalidSignatureError extends InvalidInputError {
  override name = 'InvalidSignatureError'
}

export interface Eip712Domain {
  chainId: bigint
  verifyingContract: `0x${string}`
}

type FieldType = 'address' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'uint256' | 'int32'
type Field<K extends string> = readonly [K, FieldType]

export const BILLING_PERIOD_FIELDS = [
  ['meter', 'address'],
  ['periodStart', 'uint64'],
  ['periodEnd', 'uint64'],
  ['startCounter', 'uint64'],
  ['endCounter', 'uint64'],
  ['commitment', 'uint256'],
] as const satisfies readonly Field<string>[]

export const METER_RECORD_FIELDS = [
  ['seq', 'uint64'],
  ['kind', 'uint8'],
  ['time', 'uint64'],
  ['energyWh', 'uint64'],
  ['intervalWh', 'uint32'],
  ['exportedWh', 'uint64'],
  ['intervalExportedWh', 'uint32'],
  ['powerW', 'uint32'],
  ['voltageMv', 'uint32'],
  ['currentMa', 'uint32'],
  ['powerFactor', 'uint16'],
  ['temperatureCenti', 'int32'],
  ['light', 'uint16'],
  ['gas', 'uint16'],
  ['water', 'uint16'],
  ['hazards', 'uint8'],
  ['relays', 'uint8'],
  ['fanSpeed', 'uint8'],
] as const satisfies readonly Field<string>[]

/**
 * The export half of a period close (protocol §3, §6): the export counter (OBIS 1-0:2.8.0) at the
 * period's boundaries and the commitment to the exported readings. A separate message, not two more
 * fields of BillingPeriod, so the ledger and the import bill circuit keep verifying BillingPeriod as
 * they do; a net-bill circuit and the contract's export continuity check use this one.
 */
export const EXPORT_PERIOD_FIELDS = [
  ['meter', 'address'],
  ['periodStart', 'uint64'],
  ['periodEnd', 'uint64'],
  ['startCounter', 'uint64'],
  ['endCounter', 'uint64'],
  ['commitment', 'uint256'],
] as const satisfies readonly Field<string>[]

/**
 * The meter's signed word that records `fromSeq..toSeq` are gone: it no longer holds them (its ring
 * overwrote them before the node acknowledged them), so no Resend can bring them back. The node
 * closes the gap in its acknowledged run on it; the meter's signature is what makes that safe.
 */
export const RECORDS_GONE_FIELDS = [
  ['meter', 'address'],
  ['fromSeq', 'uint64'],
  ['toSeq', 'uint64'],
] as const satisfies readonly Field<string>[]

type Values<F extends readonly Field<string>[]> = {
  [E in F[number] as E[0]]: E[1] extends 'address' ? `0x${string}` : bigint | number
}

export type BillingPeriodMessage = Values<typeof BILLING_PERIOD_FIELDS>
export type ExportPeriodMessage = Values<typeof EXPORT_PERIOD_FIELDS>
export type MeterRecordMessage = Values<typeof METER_RECORD_FIELDS>
export type RecordsGoneMessage = Values<typeof RECORDS_GONE_FIELDS>

const encoder = new TextEncoder()
const keccakText = (text: string): Uint8Array => keccak_256(encoder.encode(text))

function typeString(name: string, fields: readonly Field<string>[]): string {
  return `${name}(${fields.map(([key, type]) => `${type} ${key}`).join(',')})`
}

export const BILLING_PERIOD_TYPE = typeString('BillingPeriod', BILLING_PERIOD_FIELDS)
export const EXPORT_PERIOD_TYPE = typeString('ExportPeriod', EXPORT_PERIOD_FIELDS)
export const METER_RECORD_TYPE = typeString('MeterRecord', METER_RECORD_FIELDS)
export const RECORDS_GONE_TYPE = typeString('RecordsGone', RECORDS_GONE_FIELDS)
const DOMAIN_TYPE = 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'

export function hexToBytes(hex: string, expectedLength?: number): Uint8Array {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new InvalidInputError(
      `expected 0x-prefixed hex bytes, got ${JSON.stringify(String(hex).slice(0, 80))}`,
    )
  }
  const bytes = Uint8Array.from(hex.slice(2).match(/../g) ?? [], (b) => Number.parseInt(b, 16))
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new InvalidInputError(`expected ${expectedLength} bytes of hex, got ${bytes.length}`)
  }
  return bytes
}

export function bytesToHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let v = BigInt.asUintN(256, value)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

function encodeField(key: string, type: FieldType, value: unknown): Uint8Array {
  if (type === 'address') {
    if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
      throw new InvalidInputError(`field ${key} must be a 20-byte 0x address`)
    }
    return word(BigInt(value))
  }
  if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
    throw new InvalidInputError(`field ${key} must be an integer, got ${String(value)}`)
  }
  const v = BigInt(value)
  const signed = type.startsWith('int')
  const bits = BigInt(Number.parseInt(type.replace(/^u?int/, ''), 10))
  const min = signed ? -(1n << (bits - 1n)) : 0n
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n
  if (v < min || v > max) throw new InvalidInputError(`field ${key} = ${v} does not fit ${type}`)
  return word(v)
}

function hashStruct(
  typeHash: Uint8Array,
  fields: readonly Field<string>[],
  message: Record<string, unknown>,
) {
  const parts = [typeHash, ...fields.map(([key, type]) => encodeField(key, type, message[key]))]
  const buf = new Uint8Array(parts.length * 32)
  parts.forEach((p, i) => {
    buf.set(p, i * 32)
  })
  return keccak_256(buf)
}

export function domainSeparator(domain: Eip712Domain): Uint8Array {
  const buf = new Uint8Array(5 * 32)
  buf.set(keccakText(DOMAIN_TYPE), 0)
  buf.set(keccakText('zkmeter'), 32)
  buf.set(keccakText('1'), 64)
  buf.set(encodeField('chainId', 'uint256', domain.chainId), 96)
  buf.set(encodeField('verifyingContract', 'address', domain.verifyingContract), 128)
  return keccak_256(buf)
}

function typedDigest(domain: Eip712Domain, structHash: Uint8Array): Uint8Array {
  const buf = new Uint8Array(66)
  buf[0] = 0x19
  buf[1] = 0x01
  buf.set(domainSeparator(domain), 2)
  buf.set(structHash, 34)
  return keccak_256(buf)
}

export function billingPeriodDigest(domain: Eip712Domain, message: BillingPeriodMessage): Uint8Array {
  return typedDigest(domain, hashStruct(keccakText(BILLING_PERIOD_TYPE), BILLING_PERIOD_FIELDS, message))
}

export function exportPeriodDigest(domain: Eip712Domain, message: ExportPeriodMessage): Uint8Array {
  return typedDigest(domain, hashStruct(keccakText(EXPORT_PERIOD_TYPE), EXPORT_PERIOD_FIELDS, message))
}

export function meterRecordDigest(domain: Eip712Domain, message: MeterRecordMessage): Uint8Array {
  return typedDigest(domain, hashStruct(keccakText(METER_RECORD_TYPE), METER_RECORD_FIELDS, message))
}

export function recordsGoneDigest(domain: Eip712Domain, message: RecordsGoneMessage): Uint8Array {
  return typedDigest(domain, hashStruct(keccakText(RECORDS_GONE_TYPE), RECORDS_GONE_FIELDS, message))
}

/** Ethereum address (checksum-free, lowercase) of a secp256k1 public key. */
export function addressOfPublicKey(publicKey: Uint8Array): `0x${string}` {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false)
  return bytesToHex(keccak_256(uncompressed.subarray(1)).subarray(12))
}

export function addressOfPrivateKey(privateKey: Uint8Array): `0x${string}` {
  return addressOfPublicKey(secp256k1.getPublicKey(privateKey, false))
}

/** Signs a 32-byte digest: 65 bytes r ‖ s ‖ v with low S and v ∈ {27, 28}. */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): `0x${string}` {
  const sig = secp256k1.sign(digest, privateKey, { prehash: false, lowS: true, format: 'recovered' })
  // noble's 'recovered' format is recovery ‖ r ‖ s; Ethereum wants r ‖ s ‖ (27 + recovery).
  const out = new Uint8Array(65)
  out.set(sig.subarray(1, 65), 0)
  out[64] = 27 + (sig[0] as number)
  return bytesToHex(out)
}

/** Recovers the signer's address; throws InvalidSignatureError for malformed or high-S signatures. */
export function recoverSigner(digest: Uint8Array, signature: string): `0x${string}` {
  let bytes: Uint8Array
  try {
    bytes = hexToBytes(signature, 65)
  } catch (cause) {
    throw new InvalidSignatureError('a signature is 65 bytes r ‖ s ‖ v as 0x-prefixed hex', { cause })
  }
  const v = bytes[64] as number
  if (v !== 27 && v !== 28) throw new InvalidSignatureError(`signature v must be 27 or 28, got ${v}`)
  const recovered = new Uint8Array(65)
  recovered[0] = v - 27
  recovered.set(bytes.subarray(0, 64), 1)
  try {
    const publicKey = secp256k1.recoverPublicKey(recovered, digest, { prehash: false })
    // recoverPublicKey accepts high S; Ethereum (and we) do not, to keep signatures non-malleable.
    const s = BigInt(bytesToHex(bytes.subarray(32, 64)))
    if (s > secp256k1.Point.CURVE().n / 2n) throw new InvalidSignatureError('signature has a high S value')
    return addressOfPublicKey(publicKey)
  } catch (cause) {
    if (cause instanceof InvalidSignatureError) throw cause
    throw new InvalidSignatureError('signature does not recover to a public key', { cause })
  }
}
