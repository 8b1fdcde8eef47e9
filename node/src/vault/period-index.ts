/**
 * The vault's index of periods in the Helia datastore: which periods are open (and their batches) and
 * which are sealed (under which manifest). It also serializes the work on each period, so appends,
 * seals and adoptions of one period run one at a time, in call order.
 *
 * Datastore layout (all under STATE_PREFIX, values dag-cbor):
 *   /open/<meter>/<periodStart:16>/<index:10> -> BatchEntry        (one per batch of an open period)
 *   /sealed/<meter>/<periodStart:16>          -> SealedState
 * Fixed-width numbers make datastore order equal time and index order.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { Helia } from 'helia'
import { Key } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import { pinBlock } from './blocks.ts'
import { PeriodSealedError, StorageError } from './errors.ts'
import type { MeterAddress } from './keys.ts'
import { cidDigest } from './manifest.ts'

const STATE_PREFIX = '/zkmeter/vault/v1'

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

/** What the vault keeps in memory about a period it has touched (the datastore is the truth). */
export type PeriodState =
  | { status: 'open'; batchCount: number; recordCount: number }
  | { status: 'sealed'; sealed: SealedState }

export interface SealedState {
  manifestCid: CID
  periodEnd: number
  batchCount: number
  recordCount: number
}

/** One entry per appended batch, so an append writes one small key whatever the period's length. */
export interface BatchEntry {
  cid: CID
  records: number
}

export const periodId = (meter: MeterAddress, periodStart: number): string =>
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

function decodeSealed(bytes: Uint8Array): SealedState {
  const state = dagCbor.decode<SealedState>(bytes)
  return { ...state, manifestCid: CID.asCID(state.manifestCid)! }
}

export function sealedError(meter: string, periodStart: number, sealed: SealedState): PeriodSealedError {
  return new PeriodSealedError(
    `period ${periodStart} of meter ${meter} is sealed (manifest ${sealed.manifestCid}): records after its end belong to the next period`,
    { details: { meter, periodStart, manifestCid: sealed.manifestCid.toString() } },
  )
}

export interface PeriodIndex {
  /** Runs `fn` in the period's queue, after every earlier call for the same period has settled. */
  serialize<T>(id: string, fn: () => Promise<T>): Promise<T>
  load(id: string): Promise<PeriodState>
  /** The open batches of a period, in index order, straight from the datastore. */
  openBatches(id: string): Promise<BatchEntry[]>
  /** Records batch `index` of an open period (its block stored and pinned already). */
  recordBatch(
    id: string,
    index: number,
    entry: BatchEntry,
    before: PeriodState & { status: 'open' },
  ): Promise<void>
  /**
   * Pins `blocks` (stored already), then swaps the period's open batch entries for its sealed state in
   * one atomic datastore batch: a listed period's blocks never go, and the period is either still open
   * with all its links, or sealed.
   */
  recordSealed(id: string, sealed: SealedState, blocks: readonly CID[], openBatchCount: number): Promise<void>
  list(): Promise<PeriodInfo[]>
}

export function createPeriodIndex(helia: Helia): PeriodIndex {
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

  async function openBatches(id: string): Promise<BatchEntry[]> {
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

  async function load(id: string): Promise<PeriodState> {
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

  async function recordBatch(
    id: string,
    index: number,
    entry: BatchEntry,
    before: PeriodState & { status: 'open' },
  ): Promise<void> {
    await helia.datastore.put(batchKey(id, index), dagCbor.encode(entry))
    // Only now is the batch part of the period (in memory as on disk).
    periods.set(id, {
      status: 'open',
      batchCount: index + 1,
      recordCount: before.recordCount + entry.records,
    })
  }

  async function recordSealed(
    id: string,
    sealed: SealedState,
    blocks: readonly CID[],
    openBatchCount: number,
  ): Promise<void> {
    for (const cid of blocks) await pinBlock(helia, cid)
    const batch = helia.datastore.batch()
    batch.put(sealedKey(id), dagCbor.encode(sealed))
    for (let i = 0; i < openBatchCount; i++) batch.delete(batchKey(id, i))
    await batch.commit()
    periods.set(id, { status: 'sealed', sealed })
  }

  async function list(): Promise<PeriodInfo[]> {
    const open = new Map<string, PeriodInfo>()
    const infos: PeriodInfo[] = []
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
        infos.push({
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
    infos.push(...open.values())
    return infos.sort((a, b) => a.meter.localeCompare(b.meter) || a.periodStart - b.periodStart)
  }

  return { serialize, load, openBatches, recordBatch, recordSealed, list }
}
