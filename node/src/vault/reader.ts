/**
 * Reading records back: fetching a period's batch blocks (locally or from peers), opening them with
 * the period key and decoding them through the record codec, so nothing leaves the vault unchecked.
 */
import type { Helia } from 'helia'
import type { CID } from 'multiformats/cid'
import { InvalidInputError } from '#protocol/errors.ts'
import { type BatchContext, decryptBatch } from './batch.ts'
import { DEFAULT_FETCH_TIMEOUT_MS, FETCH_CONCURRENCY, getBlock, mapLimit } from './blocks.ts'
import type { VaultContext } from './context.ts'
import { DecryptionError, InvalidManifestError } from './errors.ts'
import { derivePeriodKey, KEY_BYTES, normalizeMeter, normalizeTime } from './keys.ts'
import { decodeManifest, keyCheck, type PeriodManifest, parseCid } from './manifest.ts'
import { periodId, sealedError } from './period-index.ts'
import { decodeVaultRecords, type VaultRecord } from './record-codec.ts'

export interface ReadOptions {
  signal?: AbortSignal
}

/** Opens one batch block and decodes its records (DecryptionError, InvalidBlockError, InvalidVaultRecordError). */
export function openBatch(ctx: BatchContext, block: Uint8Array): VaultRecord[] {
  return decodeVaultRecords(
    decryptBatch(ctx, block),
    `batch ${ctx.index} of meter ${ctx.meter} period ${ctx.periodStart}`,
  )
}

/** Fetches and opens the batches `cids` (index order) of one period, all under `periodKey`. */
export async function readBatches(
  helia: Helia,
  cids: readonly CID[],
  period: Omit<BatchContext, 'index'>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<VaultRecord[]> {
  const batches = await mapLimit(cids, FETCH_CONCURRENCY, async (cid, index) =>
    openBatch({ ...period, index }, await getBlock(helia, cid, timeoutMs, signal)),
  )
  return batches.flat()
}

/** Fetches and decodes the manifest block `cid`. */
export async function fetchManifest(
  helia: Helia,
  cid: CID,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PeriodManifest> {
  return decodeManifest(await getBlock(helia, cid, timeoutMs, signal), cid)
}

/** True when `periodKey` is the key the manifest was written with. */
export const opensManifest = (periodKey: Uint8Array, manifest: PeriodManifest): boolean =>
  keyCheck(periodKey).every((b, i) => b === manifest.keyCheck[i])

/** Every record of a sealed period, checked against the count its manifest announces. */
export async function readManifestRecords(
  helia: Helia,
  cid: CID,
  manifest: PeriodManifest,
  periodKey: Uint8Array,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<VaultRecord[]> {
  const { meter, periodStart } = manifest
  const records = await readBatches(
    helia,
    manifest.batches,
    { periodKey, meter, periodStart },
    timeoutMs,
    signal,
  )
  if (records.length !== manifest.recordCount) {
    throw new InvalidManifestError(
      `manifest ${cid} announces ${manifest.recordCount} records but its batches hold ${records.length}`,
    )
  }
  return records
}

export async function readWithKey(
  helia: Helia,
  manifestCid: CID | string,
  keyFor: (manifest: PeriodManifest) => Uint8Array,
  timeoutMs: number,
  options: ReadOptions = {},
): Promise<VaultRecord[]> {
  const cid = parseCid(manifestCid)
  const manifest = await fetchManifest(helia, cid, timeoutMs, options.signal)
  const periodKey = keyFor(manifest)
  if (!opensManifest(periodKey, manifest)) {
    throw new DecryptionError(
      `this key does not open period ${manifest.periodStart} of meter ${manifest.meter} (manifest ${cid}): it belongs to another period or another household`,
      { details: { manifestCid: cid.toString() } },
    )
  }
  return readManifestRecords(helia, cid, manifest, periodKey, timeoutMs, options.signal)
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

/** The records appended so far to a period that is not sealed yet; [] if none. */
export function readOpenPeriod(
  ctx: VaultContext,
  meterIn: string,
  periodStartIn: number | bigint,
): Promise<VaultRecord[]> {
  const meter = normalizeMeter(meterIn)
  const periodStart = normalizeTime(periodStartIn)
  const id = periodId(meter, periodStart)
  // In the period's queue, so it sees a consistent set of batches (never one mid-append).
  return ctx.index.serialize(id, () =>
    ctx.guard('read an open period', async () => {
      const state = await ctx.index.load(id)
      if (state.status === 'sealed') throw sealedError(meter, periodStart, state.sealed)
      const entries = await ctx.index.openBatches(id)
      const periodKey = derivePeriodKey(ctx.rootKey, meter, periodStart)
      try {
        const cids = entries.map((e) => e.cid)
        return await readBatches(ctx.helia, cids, { periodKey, meter, periodStart }, ctx.timeoutMs)
      } finally {
        periodKey.fill(0)
      }
    }),
  )
}
