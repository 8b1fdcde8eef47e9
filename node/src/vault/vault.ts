/**
 * The household vault: batches of records encrypted per batch, stored as raw blocks in Helia, linked
 * per billing period by a dag-cbor manifest whose CID goes on-chain (docs/vault.md).
 *
 * Durability: appendBatch resolves only after the block and the batch's state key are both in
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
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { type BatchContext, decryptBatch, encodeRecords, sealBatch, type VaultRecord } from './batch.ts'
import {
  BlockUnavailableError,
  DecryptionError,
  ForeignManifestError,
  InvalidManifestError,
  PeriodConflictError,
  PeriodSealedError,
  StorageError,
} from './errors.ts'
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

export interface AdoptResult {
  /** 'adopted': recorded as sealed now; 'already-sealed': this vault had sealed the same manifest. */
  outcome: 'adopted' | 'already-sealed'
  meter: MeterAddress
  periodStart: number
  periodEnd: number
  manifestCid: CID
  cidDigest: `0x${string}`
  batchCount: number
  /** Every record of the period, decrypted (the adoption had to open them all to check them). */
  records: VaultRecord[]
}

export interface Vault {
  appendBatch(
    meter: string,
    periodStart: number | bigint,
    records: readonly VaultRecord[],
  ): Promise<AppendResult>
  sealPeriod(meter: string, periodStart: number | bigint, periodEnd: number | bigint): Promise<SealResult>
  readPeriod(manifestCid: CID | string, options?: ReadOptions): Promise<VaultRecord[]>
  /** The records appended so far to a period that is not sealed yet (e.g. for an export); [] if none. */
  readOpenPeriod(meter: string, periodStart: number | bigint): Promise<VaultRecord[]>
  listPeriods(): Promise<PeriodInfo[]>
  /**
   * Takes a sealed period this vault no longer has in its index (e.g. fetched back from neighbours
   * after a disk loss) and records it as sealed, exactly as sealPeriod would have: fetches and decodes
   * the manifest, checks it was written with this root key (else ForeignManifestError), fetches and
   * decrypts every batch (BlockUnavailableError, DecryptionError, InvalidManifestError), pins the
   * blocks. Idempotent for the same manifest; any other local data for that meter and period start is
   * never overwritten (PeriodConflictError).
   */
  adoptSealedPeriod(manifestCid: CID | string, options?: ReadOptions): Promise<AdoptResult>
  grant(manifestCid: CID | string, recipientX25519PublicKey: Uint8Array): Promise<Grant>
}

/** What the vault keeps in memory about a period it has touched (the datastore is the truth). */
type PeriodState =
  | { status: 'open'; batchCount: number; recordCount: number }
  | { status: 'sealed'; sealed: SealedState }

interface SealedState {
  manifestCid: CID
  periodEnd: number
  batchCount: number
  recordCount: number
}

/** One entry per appended batch, so an append writes one small key whatever the period's length. */
interface BatchEntry {
  cid: CID
  records: number
}

/*
 * Datastore layout (all under STATE_PREFIX, values dag-cbor):
 *   /open/<meter>/<periodStart:16>/<index:10> -> BatchEntry        (one per batch of an open period)
 *   /sealed/<meter>/<periodStart:16>          -> SealedState
 * Fixed-width numbers make datastore order equal time and index order.
 */
const periodId = (meter: MeterAddress, periodStart: number): string =>
  `${meter}/${String(periodStart).padStart(16, '0')}`
const openPrefix = (id: string): string => `${STATE_PREFIX}/open/${id}/`
const batchKey = (id: string, index: number): Key =>
  new Key(`${openPrefix(id)}${String(index).padStart(10, '0')}`)
const sealedKey = (id: string): Key => new Key(`${STATE_PREFIX}/sealed/${id}`)

/**
 * Per-datastore state shared by every vault on the same Helia node, so two vault objects on one node
 * still serialize appends and agree on the next index.
 */
interface Shared {
  queues: Map<string, Promise<unknown>>
  periods: Map<string, PeriodState>
}
const sharedByDatastore = new WeakMap<object, Shared>()

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
  // The block was just stored, so the walk is local; the timeout only guards against a surprise fetch.
  await drain(
    helia.pins.add(cid, { depth: 0, metadata: { zkmeter: 'vault' }, signal: AbortSignal.timeout(10_000) }),
  )
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
    throw new InvalidManifestError(
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

  let shared = sharedByDatastore.get(helia.datastore)
  if (shared === undefined) {
    shared = { queues: new Map(), periods: new Map() }
    sharedByDatastore.set(helia.datastore, shared)
  }
  const { queues, periods } = shared

  // One queue per period: appends and the seal of a period run one at a time, in call order.
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

  const decodeSealed = (bytes: Uint8Array): SealedState => {
    const state = dagCbor.decode<SealedState>(bytes)
    return { ...state, manifestCid: CID.asCID(state.manifestCid)! }
  }

  /** The open batches of a period, in index order, straight from the datastore. */
  const openBatches = async (id: string): Promise<BatchEntry[]> => {
    const entries: BatchEntry[] = []
    for await (const { key, value } of helia.datastore.query({ prefix: openPrefix(id) })) {
      // Indexes are written densely, in order; a gap would mean a damaged datastore: never paper over it.
      if (Number(key.baseNamespace()) !== entries.length) {
        throw new StorageError(
          `the vault state of period ${id} is damaged: batch ${entries.length} is missing`,
          {
            details: { period: id, key: key.toString() },
          },
        )
      }
      const entry = dagCbor.decode<BatchEntry>(value)
      entries.push({ cid: CID.asCID(entry.cid)!, records: entry.records })
    }
    return entries
  }

  const loadPeriod = async (id: string): Promise<PeriodState> => {
    const cached = periods.get(id)
    if (cached !== undefined) return cached
    const sealedBytes = await getOptional(helia, sealedKey(id))
    let state: PeriodState
    if (sealedBytes !== undefined) {
      state = { status: 'sealed', sealed: decodeSealed(sealedBytes) }
    } else {
      const entries = await openBatches(id)
      state = {
        status: 'open',
        batchCount: entries.length,
        recordCount: entries.reduce((n, e) => n + e.records, 0),
      }
    }
    periods.set(id, state)
    return state
  }

  const sealedError = (meter: string, periodStart: number, sealed: SealedState): PeriodSealedError =>
    new PeriodSealedError(
      `period ${periodStart} of meter ${meter} is sealed (manifest ${sealed.manifestCid}): records after its end belong to the next period`,
      { details: { meter, periodStart, manifestCid: sealed.manifestCid.toString() } },
    )

  const stopped = (what: string, cause?: unknown): StorageError =>
    new StorageError(`cannot ${what}: the storage node is ${helia.status}; start it first`, { cause })
  /** Turns low-level failures of a stopped node (closed LevelDB, stopped libp2p) into a named error. */
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (helia.status !== 'started') throw stopped(what)
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof ZkMeterError) && helia.status !== 'started') throw stopped(what, err)
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
          const state = await loadPeriod(id)
          if (state.status === 'sealed') throw sealedError(meter, periodStart, state.sealed)
          const index = state.batchCount
          const periodKey = derivePeriodKey(rootKey, meter, periodStart)
          const block = sealBatch({ periodKey, meter, periodStart, index }, cbor)
          periodKey.fill(0)
          const cid = CID.createV1(raw.code, await sha256.digest(block))
          await helia.blockstore.put(cid, block)
          await pinBlock(helia, cid)
          await helia.datastore.put(batchKey(id, index), dagCbor.encode({ cid, records: records.length }))
          // Only now is the batch part of the period (in memory as on disk).
          periods.set(id, {
            status: 'open',
            batchCount: index + 1,
            recordCount: state.recordCount + records.length,
          })
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
          const state = await loadPeriod(id)
          if (state.status === 'sealed') {
            // Sealing again with the same end is a retry (e.g. after a crash): answer the same manifest.
            if (state.sealed.periodEnd === periodEnd) {
              return { manifestCid: state.sealed.manifestCid, cidDigest: cidDigest(state.sealed.manifestCid) }
            }
            throw sealedError(meter, periodStart, state.sealed)
          }
          const entries = await openBatches(id)
          const periodKey = derivePeriodKey(rootKey, meter, periodStart)
          const manifest: PeriodManifest = {
            type: MANIFEST_TYPE,
            v: MANIFEST_VERSION,
            meter,
            periodStart,
            periodEnd,
            batchCount: entries.length,
            recordCount: entries.reduce((n, e) => n + e.records, 0),
            keyCheck: keyCheck(periodKey),
            batches: entries.map((e) => e.cid),
          }
          periodKey.fill(0)
          const { cid, bytes } = await encodeManifest(manifest)
          await helia.blockstore.put(cid, bytes)
          await pinBlock(helia, cid)
          const sealed: SealedState = {
            manifestCid: cid,
            periodEnd,
            batchCount: manifest.batchCount,
            recordCount: manifest.recordCount,
          }
          // One atomic datastore batch: the period is either still open with all its links, or sealed.
          const batch = helia.datastore.batch()
          batch.put(sealedKey(id), dagCbor.encode(sealed))
          for (let i = 0; i < entries.length; i++) batch.delete(batchKey(id, i))
          await batch.commit()
          periods.set(id, { status: 'sealed', sealed })
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

    readOpenPeriod(meterIn, periodStartIn) {
      const meter = normalizeMeter(meterIn)
      const periodStart = normalizeTime(periodStartIn)
      const id = periodId(meter, periodStart)
      // In the period's queue, so it sees a consistent set of batches (never one mid-append).
      return serialize(id, () =>
        guard('read an open period', async () => {
          const state = await loadPeriod(id)
          if (state.status === 'sealed') throw sealedError(meter, periodStart, state.sealed)
          const entries = await openBatches(id)
          const periodKey = derivePeriodKey(rootKey, meter, periodStart)
          try {
            const batches = await mapLimit(entries, FETCH_CONCURRENCY, async (entry, index) =>
              decryptBatch(
                { periodKey, meter, periodStart, index },
                await getBlock(helia, entry.cid, timeoutMs),
              ),
            )
            return batches.flat()
          } finally {
            periodKey.fill(0)
          }
        }),
      )
    },

    listPeriods() {
      return guard('list periods', async () => {
        const open = new Map<string, PeriodInfo>()
        const list: PeriodInfo[] = []
        for await (const { key, value } of helia.datastore.query({ prefix: `${STATE_PREFIX}/` })) {
          const parts = key
            .toString()
            .slice(STATE_PREFIX.length + 1)
            .split('/')
          const [status, meter, start] = parts
          const base = { meter: meter as MeterAddress, periodStart: Number(start) }
          if (status === 'open' && parts.length === 4) {
            const entry = dagCbor.decode<BatchEntry>(value)
            const id = `${meter}/${start}`
            const info = open.get(id) ?? { ...base, status: 'open' as const, batchCount: 0, recordCount: 0 }
            info.batchCount++
            info.recordCount += entry.records
            open.set(id, info)
          } else if (status === 'sealed' && parts.length === 3) {
            const sealed = decodeSealed(value)
            list.push({
              ...base,
              status: 'sealed',
              batchCount: sealed.batchCount,
              recordCount: sealed.recordCount,
              periodEnd: sealed.periodEnd,
              manifestCid: sealed.manifestCid,
              cidDigest: cidDigest(sealed.manifestCid),
            })
          }
        }
        list.push(...open.values())
        return list.sort((a, b) => a.meter.localeCompare(b.meter) || a.periodStart - b.periodStart)
      })
    },

    adoptSealedPeriod(manifestCidIn, readOptions = {}) {
      return guard('adopt a sealed period', async () => {
        const cid = parseCid(manifestCidIn)
        const manifest = decodeManifest(await getBlock(helia, cid, timeoutMs, readOptions.signal), cid)
        const { meter, periodStart, periodEnd } = manifest
        const periodKey = derivePeriodKey(rootKey, meter, periodStart)
        try {
          if (!keyCheck(periodKey).every((b, i) => b === manifest.keyCheck[i])) {
            throw new ForeignManifestError(
              `manifest ${cid} (period ${periodStart} of meter ${meter}) was not written with this household's root key: it is not ours to adopt`,
              { details: { manifestCid: cid.toString() } },
            )
          }
          const id = periodId(meter, periodStart)
          // In the period's queue: an append or a seal of the same period cannot slip in between the
          // conflict check and the write.
          return await serialize(id, async () => {
            const state = await loadPeriod(id)
            const result = (outcome: AdoptResult['outcome'], records: VaultRecord[]): AdoptResult => ({
              outcome,
              meter,
              periodStart,
              periodEnd,
              manifestCid: cid,
              cidDigest: cidDigest(cid),
              batchCount: manifest.batchCount,
              records,
            })
            if (state.status === 'sealed') {
              if (state.sealed.manifestCid.toString() !== cid.toString()) {
                throw new PeriodConflictError(
                  `period ${periodStart} of meter ${meter} is already sealed here under manifest ${state.sealed.manifestCid}, not ${cid}: the local period is kept, the other is not adopted`,
                  {
                    details: {
                      meter,
                      periodStart,
                      local: state.sealed.manifestCid.toString(),
                      offered: cid.toString(),
                    },
                  },
                )
              }
              // Same manifest: nothing to record. The records are read for the caller all the same.
              return result(
                'already-sealed',
                await readWithKey(helia, cid, () => periodKey, timeoutMs, readOptions),
              )
            }
            if (state.batchCount > 0) {
              throw new PeriodConflictError(
                `period ${periodStart} of meter ${meter} is open here with ${state.batchCount} batch(es) appended since: adopting manifest ${cid} would orphan them, so it is refused`,
                { details: { meter, periodStart, openBatches: state.batchCount, offered: cid.toString() } },
              )
            }
            // Every batch must be here (or arrive from a peer) and open under this key before the
            // period is listed: a listed period that cannot be read would break history and billing.
            const batches = await mapLimit(manifest.batches, FETCH_CONCURRENCY, async (batchCid, index) => {
              const block = await getBlock(helia, batchCid, timeoutMs, readOptions.signal)
              return decryptBatch({ periodKey, meter, periodStart, index }, block)
            })
            const records = batches.flat()
            if (records.length !== manifest.recordCount) {
              throw new InvalidManifestError(
                `manifest ${cid} announces ${manifest.recordCount} records but its batches hold ${records.length}`,
              )
            }
            // Blocks pinned before the state key, as sealPeriod does: a listed period's blocks never go.
            for (const batchCid of manifest.batches) await pinBlock(helia, batchCid)
            await pinBlock(helia, cid)
            const sealed: SealedState = {
              manifestCid: cid,
              periodEnd,
              batchCount: manifest.batchCount,
              recordCount: manifest.recordCount,
            }
            await helia.datastore.put(sealedKey(id), dagCbor.encode(sealed))
            periods.set(id, { status: 'sealed', sealed })
            return result('adopted', records)
          })
        } finally {
          periodKey.fill(0)
        }
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
