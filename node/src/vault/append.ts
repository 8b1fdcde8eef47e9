/** The batch writer: encrypts one batch of records, stores and pins its block, then indexes it. */

import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { sealBatch } from './batch.ts'
import { pinBlock } from './blocks.ts'
import type { VaultContext } from './context.ts'
import { derivePeriodKey, normalizeMeter, normalizeTime } from './keys.ts'
import { periodId, sealedError } from './period-index.ts'
import { encodeVaultRecords, type VaultRecord } from './record-codec.ts'

export interface AppendResult {
  /** CID of the encrypted batch block (codec raw). */
  cid: CID
  /** Position of the batch in its period (0-based). */
  index: number
}

export function appendBatch(
  ctx: VaultContext,
  meterIn: string,
  periodStartIn: number | bigint,
  records: readonly VaultRecord[],
): Promise<AppendResult> {
  const { helia, index: periods } = ctx
  const meter = normalizeMeter(meterIn)
  const periodStart = normalizeTime(periodStartIn)
  // Validate and encode before queueing: a bad batch fails fast and never takes an index.
  const cbor = encodeVaultRecords(records)
  const id = periodId(meter, periodStart)
  return periods.serialize(id, () =>
    ctx.guard('append a batch', async () => {
      const state = await periods.load(id)
      if (state.status === 'sealed') throw sealedError(meter, periodStart, state.sealed)
      const index = state.batchCount
      const periodKey = derivePeriodKey(ctx.rootKey, meter, periodStart)
      const block = sealBatch({ periodKey, meter, periodStart, index }, cbor)
      periodKey.fill(0)
      const cid = CID.createV1(raw.code, await sha256.digest(block))
      await helia.blockstore.put(cid, block)
      await pinBlock(helia, cid)
      await periods.recordBatch(id, index, { cid, records: records.length }, state)
      return { cid, index }
    }),
  )
}
