/**
 * Restore after a disk loss, with only the root key: asks every area neighbour which manifests it
 * keeps for this home (by the backup owner key, derived from the root key), then has the vault
 * adopt each one (fetching the encrypted blocks over bitswap, checking they open under our root
 * key, pinning them) and hands the records of every newly adopted period to `addToHistory`, in
 * period order, as the node does when it loads the vault at start. One period's failure (a block
 * no neighbour sends, a conflicting local period) is reported and does not stop the others.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../../log/logger.ts'
import type { AdoptResult, Vault, VaultRecord } from '../../vault/index.ts'
import type { BackupIdentity } from '../backup.ts'
import { MeshNotRunningError } from '../errors.ts'
import type { MeshNode } from '../node.ts'
import type { Address } from '../signing.ts'
import type { BackupQueue, RunningBackups } from './backups.ts'
import type { RestoredPeriod, RestoreReport } from './types.ts'

export interface RestoreDeps {
  mesh: MeshNode
  backups: BackupQueue
  identity: BackupIdentity
  meterAddress: Address
  log: Logger
}

type NeighbourListing = RestoreReport['neighbours'][number]

/** Which manifests each neighbour keeps for us: manifest CID → the peers that hold it. */
async function askNeighbours(deps: RestoreDeps, running: RunningBackups) {
  const heldBy = new Map<string, string[]>()
  const neighbours: NeighbourListing[] = []
  for (const member of deps.mesh.members.list()) {
    // Not ourselves, nor our own meter under the peer id we had before the loss (a neighbour may
    // still relay that old announcement): it is gone with the disk and never held our backups.
    if (member.peerId === deps.mesh.peerId || member.meter === deps.meterAddress) continue
    try {
      const cids = await running.service.listWith(peerIdFromString(member.peerId), deps.identity)
      for (const cid of cids) heldBy.set(cid, [...(heldBy.get(cid) ?? []), member.peerId])
      neighbours.push({ peerId: member.peerId, meter: member.meter, listed: cids.length, error: null })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      neighbours.push({ peerId: member.peerId, meter: member.meter, listed: null, error: message })
    }
  }
  return { heldBy, neighbours }
}

/** Adopts one held manifest into the vault; a refusal is reported, not thrown. */
async function adoptOne(
  deps: RestoreDeps,
  vault: Vault,
  cid: string,
  peers: string[],
): Promise<{ period: RestoredPeriod; adopted?: AdoptResult }> {
  try {
    const result = await vault.adoptSealedPeriod(cid)
    // Back with neighbours again: backups.json went with the disk (a no-op if already queued).
    deps.backups.enqueue(result.periodStart, result.periodEnd, cid)
    const period: RestoredPeriod = {
      manifestCid: cid,
      outcome: result.outcome === 'adopted' ? 'adopted' : 'present',
      meter: result.meter,
      periodStart: result.periodStart,
      periodEnd: result.periodEnd,
      records: result.records.length,
      reason: null,
      heldBy: peers,
    }
    return result.outcome === 'adopted' ? { period, adopted: result } : { period }
  } catch (error) {
    // Errors name CIDs, periods and meters, never record values or keys.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    deps.log.warn('a backed-up period was not restored', { cid, reason })
    const period: RestoredPeriod = {
      manifestCid: cid,
      outcome: 'refused',
      meter: null,
      periodStart: null,
      periodEnd: null,
      records: null,
      reason,
      heldBy: peers,
    }
    return { period }
  }
}

export async function restoreFromNeighbours(
  deps: RestoreDeps,
  addToHistory: (records: readonly VaultRecord[]) => void,
): Promise<RestoreReport> {
  const running = deps.backups.running()
  if (running === undefined) throw new MeshNotRunningError('backups are not running')
  const { heldBy, neighbours } = await askNeighbours(deps, running)
  const periods: RestoredPeriod[] = []
  const adopted: AdoptResult[] = []
  for (const [cid, peers] of [...heldBy].sort(([a], [b]) => a.localeCompare(b))) {
    const outcome = await adoptOne(deps, running.vault, cid, peers)
    periods.push(outcome.period)
    if (outcome.adopted) adopted.push(outcome.adopted)
  }
  for (const result of adopted.sort(
    (a, b) => a.meter.localeCompare(b.meter) || a.periodStart - b.periodStart,
  )) {
    addToHistory(result.records)
  }
  periods.sort(
    (a, b) => (a.periodStart ?? Number.MAX_SAFE_INTEGER) - (b.periodStart ?? Number.MAX_SAFE_INTEGER),
  )
  const count = (outcome: RestoredPeriod['outcome']) => periods.filter((p) => p.outcome === outcome).length
  deps.log.info('restore from neighbours finished', {
    neighbours: neighbours.length,
    adopted: count('adopted'),
    present: count('present'),
    refused: count('refused'),
  })
  return {
    restored: periods
      .filter((p) => p.outcome !== 'refused')
      .map((p) => p.manifestCid)
      .sort(),
    periods,
    neighbours,
  }
}
