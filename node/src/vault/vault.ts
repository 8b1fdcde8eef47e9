/**
 * The household vault: batches of records encrypted per batch, stored as raw blocks in Helia, linked
 * per billing period by a dag-cbor manifest whose CID goes on-chain (docs/vault.md). This file only
 * composes the one-job modules named in docs/vault.md's table.
 *
 * Durability: appendBatch resolves only after the block and the batch's state key are both in
 * LevelDB (written to the OS before the call returns, so a killed process loses nothing acknowledged).
 * A crash between the two leaves an orphan block and no acknowledged state; the caller retries and
 * gets the same index again under a fresh nonce. Sealing writes the manifest block first and then
 * swaps "open" for "sealed" in one datastore batch, and the manifest is deterministic, so a crash
 * mid-seal and a second seal produce the same CID.
 */
import type { CID } from 'multiformats/cid'
import { type AdoptResult, adoptSealedPeriod } from './adopt.ts'
import { type AppendResult, appendBatch } from './append.ts'
import { createVaultContext, type VaultOptions } from './context.ts'
import type { Grant } from './grant.ts'
import { grantPeriod } from './issue-grant.ts'
import { derivePeriodKey } from './keys.ts'
import type { PeriodInfo } from './period-index.ts'
import { type ReadOptions, readOpenPeriod, readWithKey } from './reader.ts'
import type { VaultRecord } from './record-codec.ts'
import { type SealResult, sealPeriod } from './seal.ts'

export type { AdoptResult } from './adopt.ts'
export type { AppendResult } from './append.ts'
export { DEFAULT_FETCH_TIMEOUT_MS, getBlock } from './blocks.ts'
export type { VaultOptions } from './context.ts'
export type { PeriodInfo } from './period-index.ts'
export { type ReadOptions, readPeriodWithGrant } from './reader.ts'
export type { SealResult } from './seal.ts'

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

export function createVault(options: VaultOptions): Vault {
  const ctx = createVaultContext(options)
  return {
    appendBatch: (meter, periodStart, records) => appendBatch(ctx, meter, periodStart, records),
    sealPeriod: (meter, periodStart, periodEnd) => sealPeriod(ctx, meter, periodStart, periodEnd),
    readPeriod: (manifestCid, readOptions) =>
      ctx.guard('read a period', () =>
        readWithKey(
          ctx.helia,
          manifestCid,
          (manifest) => derivePeriodKey(ctx.rootKey, manifest.meter, manifest.periodStart),
          ctx.timeoutMs,
          readOptions,
        ),
      ),
    readOpenPeriod: (meter, periodStart) => readOpenPeriod(ctx, meter, periodStart),
    listPeriods: () => ctx.guard('list periods', () => ctx.index.list()),
    adoptSealedPeriod: (manifestCid, readOptions) => adoptSealedPeriod(ctx, manifestCid, readOptions),
    grant: (manifestCid, recipient) => grantPeriod(ctx, manifestCid, recipient),
  }
}
