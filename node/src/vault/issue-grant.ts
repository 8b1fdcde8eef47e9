/** Grants: wrapping one sealed period's key for a recipient, after checking the period is ours. */
import type { CID } from 'multiformats/cid'
import type { VaultContext } from './context.ts'
import { DecryptionError } from './errors.ts'
import { type Grant, wrapGrant } from './grant.ts'
import { derivePeriodKey } from './keys.ts'
import { parseCid } from './manifest.ts'
import { fetchManifest, opensManifest } from './reader.ts'

export function grantPeriod(
  ctx: VaultContext,
  manifestCid: CID | string,
  recipientX25519PublicKey: Uint8Array,
): Promise<Grant> {
  return ctx.guard('make a grant', async () => {
    const cid = parseCid(manifestCid)
    const manifest = await fetchManifest(ctx.helia, cid, ctx.timeoutMs)
    const periodKey = derivePeriodKey(ctx.rootKey, manifest.meter, manifest.periodStart)
    try {
      if (!opensManifest(periodKey, manifest)) {
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
}
