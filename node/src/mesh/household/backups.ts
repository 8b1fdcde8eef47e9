/**
 * Backups with neighbours: every sealed period's encrypted manifest is pinned by BACKUP_NEIGHBOURS area
 * members (Helia on the mesh host serves the blocks). The queue and each period's status persist in
 * `<dataDir>/mesh/backups.json`; unfinished periods are retried on a timer and when a member appears.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { HeliaWithLibp2p } from '../../ipfs/helia.ts'
import type { Logger } from '../../log/logger.ts'
import { readJsonFile, writeJsonAtomic } from '../../storage/json-file.ts'
import type { Vault } from '../../vault/index.ts'
import { type BackupIdentity, type BackupService, createBackupService } from '../backup.ts'
import type { MeshNode } from '../node.ts'
import type { BackupEntry } from './types.ts'

/** Neighbours asked to pin each sealed period. */
export const BACKUP_NEIGHBOURS = 2
const RETRY_BACKUPS_MS = 30_000

/** The running backup service and the vault it serves (what a restore needs). */
export interface RunningBackups {
  service: BackupService
  vault: Vault
}

export interface BackupQueue {
  /** Helia, once backups started. */
  readonly helia: HeliaWithLibp2p | undefined
  /** Serves and requests backups; queues periods sealed before and not yet backed up. */
  start(helia: HeliaWithLibp2p, vault: Vault): Promise<void>
  stop(): Promise<void>
  /** Queues a sealed period (a no-op if it is queued already). */
  enqueue(periodStart: number, periodEnd: number, manifestCid: string): void
  running(): RunningBackups | undefined
  list(): BackupEntry[]
}

async function loadEntries(path: string): Promise<BackupEntry[]> {
  const saved = await readJsonFile(path).catch(() => undefined)
  if (typeof saved !== 'object' || saved === null || !('periods' in saved)) return []
  return Array.isArray(saved.periods) ? [...saved.periods] : []
}

const statusOf = (entry: BackupEntry): BackupEntry['status'] =>
  entry.pinnedBy.length >= BACKUP_NEIGHBOURS ? 'done' : entry.pinnedBy.length > 0 ? 'partial' : 'pending'

export async function openBackupQueue(deps: {
  path: string
  mesh: MeshNode
  identity: BackupIdentity
  log: Logger
}): Promise<BackupQueue> {
  const { mesh, log } = deps
  let backup: RunningBackups | undefined
  let helia: HeliaWithLibp2p | undefined
  const backups = await loadEntries(deps.path)
  let pumping: Promise<void> | undefined
  let pumpAgain = false
  let retryTimer: ReturnType<typeof setInterval> | undefined

  /** Asks members (connected ones first: no dial needed) until enough pin the entry's manifest. */
  async function pinWithNeighbours(entry: BackupEntry, service: BackupService): Promise<void> {
    const self = mesh.peerId
    const connected = new Set(mesh.libp2p.getConnections().map((c) => c.remotePeer.toString()))
    const candidates = mesh.members
      .list()
      .filter((m) => m.peerId !== self && !entry.pinnedBy.some((p) => p.peerId === m.peerId))
      // Connected neighbours first: no dial needed.
      .sort((a, b) => Number(connected.has(b.peerId)) - Number(connected.has(a.peerId)))
    for (const member of candidates) {
      if (entry.pinnedBy.length >= BACKUP_NEIGHBOURS || !mesh.running) break
      entry.attempts++
      try {
        await service.pinWith(peerIdFromString(member.peerId), deps.identity, [entry.manifestCid])
        entry.pinnedBy.push({ peerId: member.peerId, meter: member.meter, at: new Date().toISOString() })
        entry.lastError = null
        log.info('a neighbour pinned a sealed period', {
          periodStart: entry.periodStart,
          peer: member.peerId,
        })
      } catch (error) {
        entry.lastError = error instanceof Error ? error.message : String(error)
      }
      if (backup === undefined) break // stopping: the request in flight failed or finished
    }
  }

  async function pinPending(): Promise<void> {
    for (const entry of backups) {
      const service = backup?.service
      if (!mesh.running || service === undefined) return
      if (entry.pinnedBy.length >= BACKUP_NEIGHBOURS) continue
      await pinWithNeighbours(entry, service)
      entry.status = statusOf(entry)
      await writeJsonAtomic(deps.path, { periods: backups })
    }
  }

  /** One pinning pass at a time; a request during a pass runs one more pass after it. */
  function pump(): void {
    if (backup === undefined) return
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = pinPending()
      .catch((error) => log.warn('backup pass failed', { error }))
      .finally(() => {
        pumping = undefined
        if (pumpAgain && mesh.running) {
          pumpAgain = false
          pump()
        }
      })
  }
  const pumpUnfinished = () => {
    if (backups.some((b) => b.status !== 'done')) pump()
  }

  function enqueue(periodStart: number, periodEnd: number, manifestCid: string): void {
    if (backups.some((b) => b.manifestCid === manifestCid)) return
    backups.push({
      periodStart,
      periodEnd,
      manifestCid,
      pinnedBy: [],
      status: 'pending',
      attempts: 0,
      lastError: null,
    })
    log.info('backing up a sealed period with neighbours', { periodStart })
    pump()
  }
  mesh.members.on('member', pumpUnfinished)

  return {
    get helia() {
      return helia
    },
    async start(node, vault) {
      helia = node
      const service = createBackupService({
        helia: node,
        // Only area members (a registered meter, by their signed announcement) may use our disk.
        allowPin: (peer) => mesh.members.meterOfPeer(peer) !== undefined,
        log,
      })
      backup = { service, vault }
      await service.start()
      for (const period of await vault.listPeriods()) {
        if (period.status === 'sealed' && period.manifestCid && period.periodEnd !== undefined)
          enqueue(period.periodStart, period.periodEnd, period.manifestCid.toString())
      }
      retryTimer = setInterval(pumpUnfinished, RETRY_BACKUPS_MS)
      pump()
    },
    async stop() {
      clearInterval(retryTimer)
      const running = backup
      backup = undefined
      await running?.service.stop()
      // A pin in flight can last a neighbour's whole fetch (minutes): waited for a moment only; it
      // fails when the mesh host stops, and the period stays queued for the next start.
      if (pumping) await Promise.race([pumping, new Promise((r) => setTimeout(r, 2000).unref())])
    },
    enqueue,
    running: () => backup,
    list: () => structuredClone(backups),
  }
}
