/**
 * One encrypted batch = one raw IPFS block:
 *
 *   block     = 0x01 (format version) ‖ nonce (24 random bytes) ‖ XChaCha20-Poly1305(batchKey, nonce, aad, padded)
 *   padded    = be32(len(cbor)) ‖ cbor ‖ zero bytes up to a multiple of PAD_BYTES
 *   cbor      = dag-cbor(records)
 *   aad       = "zkmeter/vault/batch-aad/v1" ‖ meter(20) ‖ be64(periodStart) ‖ be32(index)
 *
 * Padding hides the exact encoded size (CBOR integers are shorter for small values, so an exact size
 * would leak a little about the readings). The AAD is not stored: a reader gets meter, period and
 * index from the manifest, so a block moved to another period or position fails to open.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { randomBytes } from '@noble/ciphers/utils.js'
import { InvalidInputError } from '#protocol/errors.ts'
import { BatchTooLargeError, DecryptionError, InvalidBlockError } from './errors.ts'
import { batchAad, concatBytes, deriveBatchKey } from './keys.ts'

export const BATCH_FORMAT_VERSION = 1
export const NONCE_BYTES = 24
export const TAG_BYTES = 16
/** Plaintext is padded to a multiple of this many bytes. */
export const PAD_BYTES = 1024
/** Hard limit on a batch's encoded records (blocks above ~2 MiB fail silently in bitswap). */
export const MAX_BATCH_BYTES = 1024 * 1024
/** What callers should aim for: big enough to amortise per-block costs, small enough to fetch in one go. */
export const TARGET_BATCH_BYTES = 64 * 1024
const HEADER_BYTES = 1 + NONCE_BYTES

export interface BatchContext {
  periodKey: Uint8Array
  meter: string
  periodStart: number
  index: number
}

/**
 * dag-cbor encoding of a batch's values, validated (non-empty array, encodable, within the size limit).
 * The batch format holds any JSON-like values; what the vault puts in them is record-codec.ts's job.
 */
export function encodeRecords(records: readonly unknown[]): Uint8Array {
  if (!Array.isArray(records) || records.length === 0) {
    throw new InvalidInputError('a batch must be a non-empty array of records')
  }
  let cbor: Uint8Array
  try {
    cbor = dagCbor.encode(records)
  } catch (err) {
    throw new InvalidInputError(
      'records must be JSON-like values dag-cbor can encode (no undefined, NaN, Infinity, functions or class instances)',
      { cause: err },
    )
  }
  if (cbor.length > MAX_BATCH_BYTES) {
    throw new BatchTooLargeError(
      `a batch encodes to ${cbor.length} bytes, above the ${MAX_BATCH_BYTES}-byte limit: split it (aim for about ${TARGET_BATCH_BYTES} bytes)`,
      { details: { bytes: cbor.length, limit: MAX_BATCH_BYTES } },
    )
  }
  return cbor
}

/**
 * Splits records into consecutive groups that each encode to at most `targetBytes` (default
 * TARGET_BATCH_BYTES), for callers whose natural unit (a journal segment) may exceed one batch.
 * A single record above MAX_BATCH_BYTES is refused with BatchTooLargeError.
 */
export function splitRecords<T>(records: readonly T[], targetBytes: number = TARGET_BATCH_BYTES): T[][] {
  if (!Number.isSafeInteger(targetBytes) || targetBytes < 64 || targetBytes > MAX_BATCH_BYTES) {
    throw new InvalidInputError(`targetBytes must be an integer in 64..${MAX_BATCH_BYTES}`)
  }
  // An array header is at most 9 bytes in CBOR; records encode the same inside an array as alone.
  const budget = targetBytes - 9
  const groups: T[][] = []
  let current: T[] = []
  let size = 0
  for (const record of records) {
    const bytes = encodeRecords([record]).length - 1
    if (current.length > 0 && size + bytes > budget) {
      groups.push(current)
      current = []
      size = 0
    }
    current.push(record)
    size += bytes
  }
  if (current.length > 0) groups.push(current)
  return groups
}

function pad(cbor: Uint8Array): Uint8Array {
  const length = Math.ceil((4 + cbor.length) / PAD_BYTES) * PAD_BYTES
  const out = new Uint8Array(length)
  new DataView(out.buffer).setUint32(0, cbor.length)
  out.set(cbor, 4)
  return out
}

/** Encrypts already-encoded records (see encodeRecords) into a batch block. */
export function sealBatch(ctx: BatchContext, cbor: Uint8Array): Uint8Array {
  const key = deriveBatchKey(ctx.periodKey, ctx.index)
  const nonce = randomBytes(NONCE_BYTES)
  const aad = batchAad(ctx.meter, ctx.periodStart, ctx.index)
  const ciphertext = xchacha20poly1305(key, nonce, aad).encrypt(pad(cbor))
  return concatBytes(Uint8Array.of(BATCH_FORMAT_VERSION), nonce, ciphertext)
}

export function encryptBatch(ctx: BatchContext, records: readonly unknown[]): Uint8Array {
  return sealBatch(ctx, encodeRecords(records))
}

/**
 * Opens a batch block; throws DecryptionError on any tampering or wrong key/context. The values are
 * unchecked: the vault reads through reader.ts's openBatch, which decodes them as records.
 */
export function decryptBatch(ctx: BatchContext, block: Uint8Array): unknown[] {
  if (block.length < HEADER_BYTES + TAG_BYTES + PAD_BYTES || block[0] !== BATCH_FORMAT_VERSION) {
    throw new InvalidBlockError(
      `batch ${ctx.index} is not a version-${BATCH_FORMAT_VERSION} zkmeter vault batch (bad header or too short)`,
      { details: { index: ctx.index, bytes: block.length } },
    )
  }
  const key = deriveBatchKey(ctx.periodKey, ctx.index)
  const nonce = block.subarray(1, HEADER_BYTES)
  const aad = batchAad(ctx.meter, ctx.periodStart, ctx.index)
  let padded: Uint8Array
  try {
    padded = xchacha20poly1305(key, nonce, aad).decrypt(block.subarray(HEADER_BYTES))
  } catch (err) {
    throw new DecryptionError(
      `batch ${ctx.index} of meter ${ctx.meter} period ${ctx.periodStart} failed authentication: wrong key, or the block, its nonce or its context (meter, period, index) was altered`,
      { details: { meter: ctx.meter, periodStart: ctx.periodStart, index: ctx.index }, cause: err },
    )
  }
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0)
  if (length > padded.length - 4 || padded.subarray(4 + length).some((b) => b !== 0)) {
    throw new InvalidBlockError(`batch ${ctx.index} has inconsistent padding`, {
      details: { index: ctx.index },
    })
  }
  let records: unknown
  try {
    records = dagCbor.decode(padded.subarray(4, 4 + length))
  } catch (err) {
    throw new InvalidBlockError(`batch ${ctx.index} does not hold dag-cbor`, { cause: err })
  }
  if (!Array.isArray(records)) {
    throw new InvalidBlockError(`batch ${ctx.index} does not hold an array of records`)
  }
  return records
}
