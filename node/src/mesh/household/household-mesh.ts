/**
 * The household's place in the neighbourhood mesh (docs/mesh.md §11): builds and starts one mesh node for
 * this home and connects it to the rest of the household node. This file is the composition only; each
 * job is a module (docs/mesh.md §11 names them):
 *
 *   alarm manager ── broadcast ──► signed alert to neighbours (ack + retry by the mesh)
 *   neighbours' alerts, utility notices ──► /api/notices + the live stream ('notice')
 *   ingestor 'record' (interval) ──► masked share of this interval's Wh (never the value itself)
 *   ingestor 'period' (sealed) ──► k neighbours pin the encrypted manifest (backup status per period)
 *   observer (the utility; on the dev chain this node) ──► area totals ──► forecast
 *
 * The mesh's libp2p host is also Helia's (one identity, one set of connections): the household node
 * starts the mesh first and stops Helia before it. Keys (libp2p peer key, X25519 aggregation key:
 * keys.ts) persist under `<dataDir>/mesh/keys.json` (0600) and are never logged.
 */
import { join } from 'node:path'
import type { HeliaWithLibp2p } from '../../ipfs/helia.ts'
import type { Vault, VaultRecord } from '../../vault/index.ts'
import { backupIdentity } from '../backup.ts'
import type { Address } from '../signing.ts'
import { openAggregateSeries } from './aggregate-series.ts'
import { createAlertsBridge } from './alerts-bridge.ts'
import { openBackupQueue } from './backups.ts'
import { createContributor } from './contribution.ts'
import { createForecaster } from './forecast.ts'
import { createHouseholdMeshNode, startOrUndo } from './host.ts'
import { createIngestWiring } from './ingest-wiring.ts'
import { loadOrCreateMeshKeys } from './keys.ts'
import { createObserver } from './observer.ts'
import { openPrivacyBudget, privacySpend } from './privacy-budget.ts'
import { watchRegistration } from './registration.ts'
import { restoreFromNeighbours } from './restore.ts'
import { createSpeaker } from './speaker.ts'
import { guardStrayDialErrors } from './stray-dial-errors.ts'
import { type HouseholdMeshOptions, newCounters, type RestoreReport } from './types.ts'
import { areaAggregates, meshStatus } from './views.ts'

/** The observer keeps four weeks of rounds. */
const SERIES_DAYS = 28

export async function startHouseholdMesh(options: HouseholdMeshOptions) {
  const { log } = options
  const keys = await loadOrCreateMeshKeys(options.dataDir)
  const utility = (await options.ledger.owner()).toLowerCase() as Address
  const speaker = createSpeaker(options)
  if (speaker.householdSigning && options.registered)
    await options.ledger.meter(options.meterAddress).then(speaker.checkHousehold, () => undefined)
  const budget = await openPrivacyBudget(join(options.dataDir, 'mesh', 'privacy.json'), log)
  const { flush: flushBudget, ...privacyBudget } = budget
  const mesh = await createHouseholdMeshNode(options, { keys, speaker, utility, log, privacyBudget })
  const unguard = guardStrayDialErrors(log)
  const counters = newCounters()
  const alerts = createAlertsBridge(mesh, counters, log)
  await startOrUndo(mesh, unguard)
  const registration = watchRegistration(options, mesh, speaker)

  // ── aggregation: contribute every interval; the observer sums each round ──
  const contribute = createContributor(mesh, counters, log)
  const maxSeries = options.slots * SERIES_DAYS
  const series = await openAggregateSeries({
    path: join(options.dataDir, 'mesh', 'aggregates.json'),
    area: options.area,
    maxSize: maxSeries,
    load: options.observer,
  })
  const aggregation = createObserver({
    enabled: options.observer,
    mesh,
    series,
    maxTried: 4 * maxSeries,
    counters,
    log,
  })
  const forecast = createForecaster(series.points, options)

  // ── backups ──
  const identity = backupIdentity(options.rootKey)
  const backups = await openBackupQueue({
    path: join(options.dataDir, 'mesh', 'backups.json'),
    mesh,
    identity,
    log,
  })
  const wiring = createIngestWiring({
    meterAddress: options.meterAddress,
    observer: options.observer,
    contribute,
    aggregation,
    backups,
    alerts,
  })

  return {
    mesh,
    libp2p: mesh.libp2p,
    peerId: mesh.peerId,
    area: options.area,
    observer: options.observer,
    get helia(): HeliaWithLibp2p | undefined {
      return backups.helia
    },
    /** Serves and requests encrypted backups over Helia (which runs on the mesh host). */
    startBackups: (node: HeliaWithLibp2p, vault: Vault): Promise<void> => backups.start(node, vault),
    stopBackups: (): Promise<void> => backups.stop(),
    /** Interval records feed aggregation, sealed periods feed backups, notices go on the stream. */
    attach: wiring.attach,
    broadcastAlarm: alerts.broadcastAlarm,
    publishNotice: alerts.publishNotice,
    notices: alerts.list,
    status: () => meshStatus(mesh, options, counters, aggregation),
    /** ε spent by this home's shares and the daily budget (GET /api/privacy). */
    privacy: () => privacySpend(mesh, contribute.latestRound()),
    backups: backups.list,
    /** Restore after a disk loss, with only the root key (restore.ts). */
    restore: (addToHistory: (records: readonly VaultRecord[]) => void): Promise<RestoreReport> =>
      restoreFromNeighbours(
        { mesh, backups, identity, meterAddress: options.meterAddress, log },
        addToHistory,
      ),
    /** What GET /api/utility/aggregates answers. */
    aggregates: () => areaAggregates(mesh, options, series, forecast),

    async stop(): Promise<void> {
      registration.stop()
      aggregation.stopSaving()
      wiring.detach()
      await mesh.stop()
      await series.save().catch(() => undefined)
      await flushBudget()
      unguard()
    },
  }
}

export type HouseholdMesh = Awaited<ReturnType<typeof startHouseholdMesh>>
