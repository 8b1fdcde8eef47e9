/**
 * The household vault: batches of records encrypted per batch, stored as raw blocks in Helia, linked
 * per billing period by a dag-cbor manifest whose CID goes on-chain (docs/vault.md).
 *
 * Durability: appendBatch resolves only after the block and the period's updated link list are both in
 * LevelDB (written to the OS before the call returns, so a killed process loses nothing acknowledged).
 * A crash between the two leaves an orphan block and no acknowledged state; the caller retries and
 * gets the same index again under a fresh nonce. Sealing writes the manifest block first and then
 * swaps "open" for "sealed" in one datastore batch, and the manifest is deterministic, so a crash
 * mid-seal and a second seal produce the same CID.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { Helia } from 'helia'
import { Key } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidInputError } from '../errors.ts'
import { type BatchContext, decryptBatch, encodeRecords, sealBatch, type VaultRecord } from './batch.ts'
import { BlockUnavailableError, DecryptionError, PeriodSealedError, StorageError } from './errors.ts'
import { type Grant, wrapGrant } from './grant.ts'
import { derivePeriodKey, KEY_BYTES, type MeterAddress, normalizeMeter, normalizeTime } from './keys.ts'
import {
  cidDigest,
  decodeManifest,
  encodeManifest,
  keyCheck,
  MANIFEST_TYPE,
  MANIFEST_VERSION,
  type PeriodManifest,
  parseCid,
} from './manifest.ts'

const STATE_PREFIX = '/zkmeter/vault/v1'
/** How long one block may take to arrive from peers before a read gives up. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000
const FETCH_CONCURRENCY = 16

export interface VaultOptions {
  helia: Helia
  rootKey: Uint8Array
  /** Per-block timeout for reads that have to fetch from peers; default DEFAULT_FETCH_TIMEOUT_MS. */
  fetchTimeoutMs?: number
}

export interface AppendResult {
  /** CID of the encrypted batch block (codec raw). */
  cid: CID
  /** Position of the batch in its period (0-based). */
  index: number
}

export interface SealResult {
  manifestCid: CID
  /** keccak256(manifestCid.bytes) as 0x-hex bytes32: the value the bill stores on-chain. */
  cidDigest: `0x${string}`
}

export interface PeriodInfo {
  meter: MeterAddress
  periodStart: number
  status: 'open' | 'sealed'
  batchCount: number
  recordCount: number
  /** Only for sealed periods. */
  periodEnd?: number
  manifestCid?: CID
  cidDigest?: `0x${string}`
}

export interface ReadOptions {
  signal?: AbortSignal
}

export interface Vault {
  appendBatch(
    meter: string,
    periodStart: number | bigint,
    records: readonly VaultRecord[],
  ): Promise<AppendResult>
  sealPeriod(meter: string, periodStart: number | bigint, periodEnd: number | bigint): Promise<SealResult>
  readPeriod(manifestCid: CID | string, options?: ReadOptions): Promise<VaultRecord[]>
  listPeriods(): Promise<PeriodInfo[]>
  grant(manifestCid: CID | string, recipientX25519PublicKey: Uint8Array): Promise<Grant>
}

interface OpenState {
  batches: CID[]
  recordCount: number
}

interface SealedState {
  manifestCid: CID
  periodEnd: number
  batchCount: number
  recordCount: number
}

/** Fixed-width period start in keys so datastore order is time order. */
const periodId = (meter: MeterAddress, periodStart: number): string =>
  `${meter}/${String(periodStart).padStart(16, '0')}`
const openKey = (id: string): Key => new Key(`${STATE_PREFIX}/open/${id}`)
const sealedKey = (id: string): Key => new Key(`${STATE_PREFIX}/sealed/${id}`)

async function getOptional(helia: Helia, key: Key): Promise<Uint8Array | undefined> {
  try {
    return await helia.datastore.get(key)
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') return undefined
    throw err
  }
}

/** Reads a whole block, locally or from connected peers (bitswap), within a timeout. */
export async function getBlock(
  helia: Helia,
  cid: CID,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal])
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of helia.blockstore.get(cid, { signal: combined })) chunks.push(chunk)
  } catch (err) {
    signal?.throwIfAborted()
    throw new BlockUnavailableError(
      `block ${cid} is not stored here and no connected peer sent it within ${timeoutMs} ms: connect to a peer that holds it`,
      { details: { cid: cid.toString() }, cause: err },
    )
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) {
    // only the side effect matters
  }
}

/** Pins a single block (depth 0) so Helia's garbage collector never drops vault data. */
async function pinBlock(helia: Helia, cid: CID): Promise<void> {
  if (await helia.pins.isPinned(cid)) return
  await drain(helia.pins.add(cid, { depth: 0, metadata: { zkmeter: 'vault' } }))
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

async function readWithKey(
  helia: Helia,
  manifestCid: CID | string,
  keyFor: (manifest: PeriodManifest) => Uint8Array,
  timeoutMs: number,
  options: ReadOptions = {},
): Promise<VaultRecord[]> {
  const cid = parseCid(manifestCid)
  const manifest = decodeManifest(await getBlock(helia, cid, timeoutMs, options.signal), cid)
  const periodKey = keyFor(manifest)
  const check = keyCheck(periodKey)
  if (!check.every((b, i) => b === manifest.keyCheck[i])) {
    throw new DecryptionError(
      `this key does not open period ${manifest.periodStart} of meter ${manifest.meter} (manifest ${cid}): it belongs to another period or another household`,
      { details: { manifestCid: cid.toString() } },
    )
  }
  const batches = await mapLimit(manifest.batches, FETCH_CONCURRENCY, async (batchCid, index) => {
    const block = await getBlock(helia, batchCid, timeoutMs, options.signal)
    const ctx: BatchContext = { periodKey, meter: manifest.meter, periodStart: manifest.periodStart, index }
    return decryptBatch(ctx, block)
  })
  const records = batches.flat()
  if (records.length !== manifest.recordCount) {
    throw new DecryptionError(
      `manifest ${cid} announces ${manifest.recordCount} records but its batches hold ${records.length}`,
    )
  }
  return records
}

/**
 * Reads a period with a period key obtained from a disclosure grant (see openGrant). Only that period's
 * batches open with it; any other manifest gives DecryptionError.
 */
export function readPeriodWithGrant(
  helia: Helia,
  manifestCid: CID | string,
  periodKey: Uint8Array,
  options: ReadOptions & { fetchTimeoutMs?: number } = {},
): Promise<VaultRecord[]> {
  if (!(periodKey instanceof Uint8Array) || periodKey.length !== KEY_BYTES) {
    throw new InvalidInputError(`period key must be ${KEY_BYTES} bytes`)
  }
  return readWithKey(
    helia,
    manifestCid,
    () => periodKey,
    options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    options,
  )
}

export function createVault(options: VaultOptions): Vault {
  const { helia } = options
  if (
    helia == null ||
    typeof helia.blockstore?.put !== 'function' ||
    typeof helia.datastore?.put !== 'function'
  ) {
    throw new InvalidInputError('createVault needs { helia }: a started Helia node')
  }
  if (!(options.rootKey instanceof Uint8Array) || options.rootKey.length !== KEY_BYTES) {
    throw new InvalidInputError(`createVault needs the ${KEY_BYTES}-byte root key (see openRootKeyFile)`)
  }
  // A private copy: the caller may wipe theirs.
  const rootKey = Uint8Array.from(options.rootKey)
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
    throw new InvalidInputError('fetchTimeoutMs must be > 0')

  // One queue per period: appends and the seal of a period run one at a time, in call order.
  const queues = new Map<string, Promise<unknown>>()
  function serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const settled = run.then(
      () => {},
      () => {},
    )
    queues.set(id, settled)
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id)
    })
    return run
  }

  const loadOpen = async (id: string): Promise<OpenState | undefined> => {
    const bytes = await getOptional(helia, openKey(id))
    if (bytes === undefined) return undefined
    const state = dagCbor.decode<{ batches: unknown[]; recordCount: number }>(bytes)
    return { batches: state.batches.map((c) => CID.asCID(c)!), recordCount: state.recordCount }
  }
  const loadSealed = async (id: string): Promise<SealedState | undefined> => {
    const bytes = await getOptional(helia, sealedKey(id))
    if (bytes === undefined) return undefined
    const state = dagCbor.decode<SealedState>(bytes)
    return { ...state, manifestCid: CID.asCID(state.manifestCid)! }
  }

  const sealedError = (meter: string, periodStart: number, sealed: SealedState): PeriodSealedError =>
    new PeriodSealedError(
      `period ${periodStart} of meter ${meter} is sealed (manifest ${sealed.manifestCid}): records after its end belong to the next period`,
      { details: { meter, periodStart, manifestCid: sealed.manifestCid.toString() } },
    )

  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof Error && (err.name === 'NotStartedError' || /not open|closed/i.test(err.message))) {
        throw new StorageError(`cannot ${what}: the storage node is stopped`, { cause: err })
      }
      throw err
    }
  }

  return {
    appendBatch(meterIn, periodStartIn, records) {
      const meter = normalizeMeter(meterIn)
      const periodStart = normalizeTime(periodStartIn)
      // Validate and encode before queueing: a bad batch fails fast and never takes an index.
      const cbor = encodeRecords(records)
      const id = periodId(meter, periodStart)
      return serialize(id, () =>
        guard('append a batch', async () => {
          const sealed = await loadSealed(id)
          if (sealed !== undefined) throw sealedError(meter, periodStart, sealed)
          const state = (await loadOpen(id)) ?? { batches: [], recordCount: 0 }
          const index = state.batches.length
          const periodKey = derivePeriodKey(rootKey, meter, periodStart)
          const block = sealBatch({ periodKey, meter, periodStart, index }, cbor)
          periodKey.fill(0)
          const cid = CID.createV1(raw.code, await sha256.digest(block))
          await helia.blockstore.put(cid, block)
          await pinBlock(helia, cid)
          const next = { batches: [...state.batches, cid], recordCount: state.recordCount + records.length }
          await helia.datastore.put(openKey(id), dagCbor.encode(next))
          return { cid, index }
        }),
      )
    },

    sealPeriod(meterIn, periodStartIn, periodEndIn) {
      const meter = normalizeMeter(meterIn)
      const periodStart = normalizeTime(periodStartIn)
      const periodEnd = normalizeTime(periodEndIn, 'periodEnd')
      if (periodEnd <= periodStart) {
        throw new InvalidInputError('periodEnd must be after periodStart', {
          details: { periodStart, periodEnd },
        })
      }
      const id = periodId(meter, periodStart)
      return serialize(id, () =>
        guard('seal a period', async () => {
          const sealed = await loadSealed(id)
          if (sealed !== undefined) {
            // Sealing again with the same end is a retry (e.g. after a crash): answer the same manifest.
            if (sealed.periodEnd === periodEnd) {
              return { manifestCid: sealed.manifestCid, cidDigest: cidDigest(sealed.manifestCid) }
            }
            throw sealedError(meter, periodStart, sealed)
          }
          const state = (await loadOpen(id)) ?? { batches: [], recordCount: 0 }
          const periodKey = derivePeriodKey(rootKey, meter, periodStart)
          const manifest: PeriodManifest = {
            type: MANIFEST_TYPE,
            v: MANIFEST_VERSION,
            meter,
            periodStart,
            periodEnd,
            batchCount: state.batches.length,
            recordCount: state.recordCount,
            keyCheck: keyCheck(periodKey),
            batches: state.batches,
          }
          periodKey.fill(0)
          const { cid, bytes } = await encodeManifest(manifest)
          await helia.blockstore.put(cid, bytes)
          await pinBlock(helia, cid)
          const record: SealedState = {
            manifestCid: cid,
            periodEnd,
            batchCount: manifest.batchCount,
            recordCount: manifest.recordCount,
          }
          const batch = helia.datastore.batch()
          batch.put(sealedKey(id), dagCbor.encode(record))
          batch.delete(openKey(id))
          await batch.commit()
          return { manifestCid: cid, cidDigest: cidDigest(cid) }
        }),
      )
    },

    readPeriod(manifestCid, readOptions) {
      return guard('read a period', () =>
        readWithKey(
          helia,
          manifestCid,
          (manifest) => derivePeriodKey(rootKey, manifest.meter, manifest.periodStart),
          timeoutMs,
          readOptions,
        ),
      )
    },

    listPeriods() {
      return guard('list periods', async () => {
        const periods: PeriodInfo[] = []
        for await (const { key, value } of helia.datastore.query({ prefix: `${STATE_PREFIX}/` })) {
          const parts = key
            .toString()
            .slice(STATE_PREFIX.length + 1)
            .split('/')
          const [status, meter, start] = parts
          if (parts.length !== 3 || (status !== 'open' && status !== 'sealed')) continue
          const base = { meter: meter as MeterAddress, periodStart: Number(start) }
          if (status === 'open') {
            const state = dagCbor.decode<{ batches: unknown[]; recordCount: number }>(value)
            periods.push({
              ...base,
              status,
              batchCount: state.batches.length,
              recordCount: state.recordCount,
            })
          } else {
            const state = dagCbor.decode<SealedState>(value)
            const manifestCid = CID.asCID(state.manifestCid)!
            periods.push({
              ...base,
              status,
              batchCount: state.batchCount,
              recordCount: state.recordCount,
              periodEnd: state.periodEnd,
              manifestCid,
              cidDigest: cidDigest(manifestCid),
            })
          }
        }
        return periods.sort((a, b) => a.meter.localeCompare(b.meter) || a.periodStart - b.periodStart)
      })
    },

    grant(manifestCid, recipientX25519PublicKey) {
      return guard('make a grant', async () => {
        const cid = parseCid(manifestCid)
        const manifest = decodeManifest(await getBlock(helia, cid, timeoutMs), cid)
        const periodKey = derivePeriodKey(rootKey, manifest.meter, manifest.periodStart)
        try {
          if (!keyCheck(periodKey).every((b, i) => b === manifest.keyCheck[i])) {
            throw new DecryptionError(
              `manifest ${cid} was not written with this household's root key: cannot grant it`,
            )
          }
          return wrapGrant({
            manifestCid: cid,
            meter: manifest.meter,
            periodStart: manifest.periodStart,
            periodEnd: manifest.periodEnd,
            periodKey,
            recipientPublicKey: recipientX25519PublicKey,
          })
        } finally {
          periodKey.fill(0)
        }
      })
    },
  }
}
