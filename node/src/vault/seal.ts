/** Period sealing: the deterministic manifest of an open period's batches, stored, pinned and indexed. */

import type { CID } from 'multiformats/cid'
import { InvalidInputError } from '#protocol/errors.ts'
import type { VaultContext } from './context.ts'
import { derivePeriodKey, normalizeMeter, normalizeTime } from './keys.ts'
import {
  cidDigest,
  encodeManifest,
  keyCheck,
  MANIFEST_TYPE,
  MANIFEST_VERSION,
  type PeriodManifest,
} from './manifest.ts'
import { periodId, sealedError } from './period-index.ts'

export interface SealResult {
  manifestCid: CID
  /** keccak256(manifestCid.bytes) as 0x-hex bytes32: the value the bill stores on-chain. */
  cidDigest: `0x${string}`
}

export function sealPeriod(
  ctx: VaultContext,
  meterIn: string,
  periodStartIn: number | bigint,
  periodEndIn: number | bigint,
): Promise<SealResult> {
  const { helia, index: periods } = ctx
  const meter = normalizeMeter(meterIn)
  const periodStart = normalizeTime(periodStartIn)
  const periodEnd = normalizeTime(periodEndIn, 'periodEnd')
  if (periodEnd <= periodStart) {
    throw new InvalidInputError('periodEnd must be after periodStart', {
      details: { periodStart, periodEnd },
    })
  }
  const id = periodId(meter, periodStart)
  return periods.serialize(id, () =>
    ctx.guard('seal a period', async () => {
      const state = await periods.load(id)
      if (state.status === 'sealed') {
        // Sealing again with the same end is a retry (e.g. after a crash): answer the same manifest.
        if (state.sealed.periodEnd === periodEnd) {
          return { manifestCid: state.sealed.manifestCid, cidDigest: cidDigest(state.sealed.manifestCid) }
        }
        throw sealedError(meter, periodStart, state.sealed)
      }
      const entries = await periods.openBatches(id)
      const periodKey = derivePeriodKey(ctx.rootKey, meter, periodStart)
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
      // The batch blocks were pinned as they were appended: only the manifest is new.
      const sealed = {
        manifestCid: cid,
        periodEnd,
        batchCount: manifest.batchCount,
        recordCount: manifest.recordCount,
      }
      await periods.recordSealed(id, sealed, [cid], entries.length)
      return { manifestCid: cid, cidDigest: cidDigest(cid) }
    }),
  )
}
