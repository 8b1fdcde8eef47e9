/**
 * Adoption: taking back a sealed period this vault no longer has in its index (e.g. fetched from
 * neighbours after a disk loss) and recording it as sealed, exactly as sealPeriod would have.
 */
import type { CID } from 'multiformats/cid'
import type { VaultContext } from './context.ts'
import { ForeignManifestError, PeriodConflictError } from './errors.ts'
import { derivePeriodKey, type MeterAddress } from './keys.ts'
import { cidDigest, type PeriodManifest, parseCid } from './manifest.ts'
import { periodId, type SealedState } from './period-index.ts'
import { fetchManifest, opensManifest, type ReadOptions, readManifestRecords } from './reader.ts'
import type { VaultRecord } from './record-codec.ts'

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

/** Refuses to adopt over anything else this vault holds for the same meter and period start. */
function conflictWith(manifest: PeriodManifest, cid: CID, local: SealedState | number): PeriodConflictError {
  const { meter, periodStart } = manifest
  if (typeof local === 'number') {
    return new PeriodConflictError(
      `period ${periodStart} of meter ${meter} is open here with ${local} batch(es) appended since: adopting manifest ${cid} would orphan them, so it is refused`,
      { details: { meter, periodStart, openBatches: local, offered: cid.toString() } },
    )
  }
  return new PeriodConflictError(
    `period ${periodStart} of meter ${meter} is already sealed here under manifest ${local.manifestCid}, not ${cid}: the local period is kept, the other is not adopted`,
    {
      details: {
        meter,
        periodStart,
        local: local.manifestCid.toString(),
        offered: cid.toString(),
      },
    },
  )
}

export function adoptSealedPeriod(
  ctx: VaultContext,
  manifestCidIn: CID | string,
  readOptions: ReadOptions = {},
): Promise<AdoptResult> {
  const { helia, timeoutMs, index: periods } = ctx
  return ctx.guard('adopt a sealed period', async () => {
    const cid = parseCid(manifestCidIn)
    const manifest = await fetchManifest(helia, cid, timeoutMs, readOptions.signal)
    const { meter, periodStart, periodEnd } = manifest
    const periodKey = derivePeriodKey(ctx.rootKey, meter, periodStart)
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
    // Every batch must be here (or arrive from a peer) and open under this key before the period is
    // listed: a listed period that cannot be read would break history and billing.
    const readAll = () => readManifestRecords(helia, cid, manifest, periodKey, timeoutMs, readOptions.signal)
    try {
      if (!opensManifest(periodKey, manifest)) {
        throw new ForeignManifestError(
          `manifest ${cid} (period ${periodStart} of meter ${meter}) was not written with this household's root key: it is not ours to adopt`,
          { details: { manifestCid: cid.toString() } },
        )
      }
      const id = periodId(meter, periodStart)
      // In the period's queue: an append or a seal of the same period cannot slip in between the
      // conflict check and the write.
      return await periods.serialize(id, async () => {
        const state = await periods.load(id)
        if (state.status === 'sealed') {
          if (state.sealed.manifestCid.toString() !== cid.toString()) {
            throw conflictWith(manifest, cid, state.sealed)
          }
          // Same manifest: nothing to record. The records are read for the caller all the same.
          return result('already-sealed', await readAll())
        }
        if (state.batchCount > 0) throw conflictWith(manifest, cid, state.batchCount)
        const records = await readAll()
        const sealed = {
          manifestCid: cid,
          periodEnd,
          batchCount: manifest.batchCount,
          recordCount: manifest.recordCount,
        }
        // Blocks pinned before the state key, as sealPeriod does: a listed period's blocks never go.
        await periods.recordSealed(id, sealed, [...manifest.batches, cid], 0)
        return result('adopted', records)
      })
    } finally {
      periodKey.fill(0)
    }
  })
}
