/**
 * Key hierarchy of the vault (docs/vault.md, "Key hierarchy"):
 *
 *   rootKey (32 random bytes, sealed at rest by keyfile.ts)
 *   └─ periodKey = HKDF-SHA256(ikm = rootKey, salt = none, info = "zkmeter/vault/period/v1" ‖ meter(20) ‖ be64(periodStart))
 *      └─ batchKey = HKDF-SHA256(ikm = periodKey, salt = none, info = "zkmeter/vault/batch/v1" ‖ be32(index))
 *
 * Every info field is fixed-length after its label, so no two (meter, periodStart, index) tuples share
 * an info string. HKDF is one-way: a period key (what a disclosure grant hands out) yields that
 * period's batch keys and nothing about the root key or any other period.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidInputError } from '#protocol/errors.ts'

export const KEY_BYTES = 32
export const PERIOD_INFO_LABEL = 'zkmeter/vault/period/v1'
export const BATCH_INFO_LABEL = 'zkmeter/vault/batch/v1'
export const BATCH_AAD_LABEL = 'zkmeter/vault/batch-aad/v1'

const encoder = new TextEncoder()
const MAX_U64 = (1n << 64n) - 1n
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

export type MeterAddress = `0x${string}`

/** Checks a meter address (20 bytes, 0x-hex, any case) and returns it lower-cased (the canonical form). */
export function normalizeMeter(meter: unknown): MeterAddress {
  if (typeof meter !== 'string' || !ADDRESS.test(meter)) {
    throw new InvalidInputError('meter must be a 20-byte address as 0x followed by 40 hex digits', {
      details: { meter: typeof meter === 'string' ? meter.slice(0, 64) : typeof meter },
    })
  }
  return meter.toLowerCase() as MeterAddress
}

/** Checks a period boundary (unix seconds, uint64 as in the protocol) and returns it as a safe integer. */
export function normalizeTime(value: unknown, name = 'periodStart'): number {
  const ok =
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER))
  if (!ok) {
    throw new InvalidInputError(`${name} must be a non-negative integer number of seconds (unix time)`, {
      details: { [name]: String(value) },
    })
  }
  return Number(value)
}

function normalizeIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new InvalidInputError('batch index must be an integer in 0..2^32-1', { details: { index } })
  }
  return index
}

function checkKey(key: Uint8Array, name: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new InvalidInputError(`${name} must be ${KEY_BYTES} bytes`)
  }
}

export function be64(value: number): Uint8Array {
  const out = new Uint8Array(8)
  const v = BigInt(value)
  if (v < 0n || v > MAX_U64) throw new InvalidInputError('value does not fit in 64 bits')
  new DataView(out.buffer).setBigUint64(0, v)
  return out
}

export function be32(value: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, normalizeIndex(value))
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

export function meterBytes(meter: MeterAddress): Uint8Array {
  return Uint8Array.from(Buffer.from(meter.slice(2), 'hex'))
}

/** The key of one billing period of one meter; what a disclosure grant wraps. */
export function derivePeriodKey(
  rootKey: Uint8Array,
  meter: string,
  periodStart: number | bigint,
): Uint8Array {
  checkKey(rootKey, 'root key')
  const info = concatBytes(
    encoder.encode(PERIOD_INFO_LABEL),
    meterBytes(normalizeMeter(meter)),
    be64(normalizeTime(periodStart)),
  )
  return hkdf(sha256, rootKey, undefined, info, KEY_BYTES)
}

/** The key of batch `index` of a period. */
export function deriveBatchKey(periodKey: Uint8Array, index: number): Uint8Array {
  checkKey(periodKey, 'period key')
  return hkdf(
    sha256,
    periodKey,
    undefined,
    concatBytes(encoder.encode(BATCH_INFO_LABEL), be32(index)),
    KEY_BYTES,
  )
}

/** Associated data of a batch: binds its ciphertext to its meter, period and position. */
export function batchAad(meter: string, periodStart: number | bigint, index: number): Uint8Array {
  return concatBytes(
    encoder.encode(BATCH_AAD_LABEL),
    meterBytes(normalizeMeter(meter)),
    be64(normalizeTime(periodStart)),
    be32(index),
  )
}
