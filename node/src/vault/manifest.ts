/**
 * The per-period manifest: a dag-cbor block linking a period's encrypted batches, with only non-secret
 * metadata (docs/vault.md, "Manifest"). Its CID is what the bill anchors on-chain, as cidDigest(cid).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 as sha256Noble } from '@noble/hashes/sha2.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidInputError } from '#protocol/errors.ts'
import { InvalidManifestError } from './errors.ts'
import { type MeterAddress, normalizeMeter, normalizeTime } from './keys.ts'

export const MANIFEST_TYPE = 'zkmeter/vault/period'
export const MANIFEST_VERSION = 1
export const KEY_CHECK_LABEL = 'zkmeter/vault/key-check/v1'
/** Manifests are single blocks; keep them well under the bitswap block limit. */
export const MAX_MANIFEST_BYTES = 1024 * 1024

export interface PeriodManifest {
  type: typeof MANIFEST_TYPE
  v: typeof MANIFEST_VERSION
  meter: MeterAddress
  periodStart: number
  periodEnd: number
  batchCount: number
  recordCount: number
  /** HMAC-SHA256(periodKey, KEY_CHECK_LABEL)[0..16]: lets a key holder tell the right key before fetching. */
  keyCheck: Uint8Array
  /** The encrypted batch blocks (codec raw), in index order. */
  batches: CID[]
}

export function keyCheck(periodKey: Uint8Array): Uint8Array {
  return hmac(sha256Noble, periodKey, new TextEncoder().encode(KEY_CHECK_LABEL)).subarray(0, 16)
}

/** keccak256 of the CID's binary form, as a 0x-prefixed bytes32: the `cidDigest` stored with a bill. */
export function cidDigest(cid: CID | string): `0x${string}` {
  const parsed = typeof cid === 'string' ? parseCid(cid) : CID.asCID(cid)
  if (parsed == null) throw new InvalidInputError('cidDigest needs a CID')
  return `0x${Buffer.from(keccak_256(parsed.bytes)).toString('hex')}`
}

export function parseCid(cid: CID | string): CID {
  if (typeof cid !== 'string') {
    const asCid = CID.asCID(cid)
    if (asCid == null) throw new InvalidInputError('expected a CID')
    return asCid
  }
  try {
    return CID.parse(cid)
  } catch (err) {
    throw new InvalidInputError(`not a CID: ${cid.slice(0, 100)}`, { cause: err })
  }
}

export async function encodeManifest(manifest: PeriodManifest): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = dagCbor.encode(manifest)
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new InvalidInputError(
      `the manifest of this period would be ${bytes.length} bytes (${manifest.batchCount} batches): use larger batches`,
    )
  }
  return { cid: CID.createV1(dagCbor.code, await sha256.digest(bytes)), bytes }
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** Decodes and validates a manifest block; anything unexpected is an InvalidManifestError. */
export function decodeManifest(bytes: Uint8Array, cid?: CID): PeriodManifest {
  const where = cid === undefined ? 'manifest' : `manifest ${cid}`
  if (cid !== undefined && cid.code !== dagCbor.code) {
    throw new InvalidManifestError(`${where} is not a dag-cbor block`)
  }
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new InvalidManifestError(`${where} is not valid dag-cbor`, { cause: err })
  }
  const m = value as Record<string, unknown>
  if (typeof m !== 'object' || m === null || m.type !== MANIFEST_TYPE) {
    throw new InvalidManifestError(`${where} is not a zkmeter period manifest`)
  }
  if (m.v !== MANIFEST_VERSION)
    throw new InvalidManifestError(`${where} has unsupported version ${String(m.v)}`)
  let meter: MeterAddress
  let periodStart: number
  let periodEnd: number
  try {
    meter = normalizeMeter(m.meter)
    periodStart = normalizeTime(m.periodStart)
    periodEnd = normalizeTime(m.periodEnd, 'periodEnd')
  } catch (err) {
    throw new InvalidManifestError(`${where}: ${(err as Error).message}`, { cause: err })
  }
  if (meter !== m.meter || periodEnd <= periodStart) {
    throw new InvalidManifestError(`${where} has a non-canonical meter or an empty period`)
  }
  if (!isCount(m.batchCount) || !isCount(m.recordCount) || !Array.isArray(m.batches)) {
    throw new InvalidManifestError(`${where} lacks batchCount, recordCount or batches`)
  }
  if (!(m.keyCheck instanceof Uint8Array) || m.keyCheck.length !== 16) {
    throw new InvalidManifestError(`${where} lacks a 16-byte keyCheck`)
  }
  const batches = m.batches.map((link) => CID.asCID(link))
  if (batches.length !== m.batchCount || batches.some((link) => link == null || link.code !== raw.code)) {
    throw new InvalidManifestError(`${where} must link exactly batchCount raw blocks`)
  }
  const keys = Object.keys(m).sort().join(',')
  if (keys !== 'batchCount,batches,keyCheck,meter,periodEnd,periodStart,recordCount,type,v') {
    throw new InvalidManifestError(`${where} has unexpected fields`)
  }
  return {
    type: MANIFEST_TYPE,
    v: MANIFEST_VERSION,
    meter,
    periodStart,
    periodEnd,
    batchCount: m.batchCount,
    recordCount: m.recordCount,
    keyCheck: m.keyCheck,
    batches: batches as CID[],
  }
}
