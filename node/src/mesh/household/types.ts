/**
 * The household mesh's options, the views it answers with, and what its modules share (the counters
 * /api/mesh shows, the log shape, the privacy floor).
 */
import type {
  MeshBackup,
  MeshCounters,
  MeshNotice,
  MeshRestoredPeriod,
  MeshRestoreReport,
} from '#protocol/api/types.ts'
import type { Eip712Domain } from '#protocol/eip712.ts'
import type { NodeConfig } from '../../config.ts'
import type { Logger } from '../../log/logger.ts'
import type { MeterInfo } from '../registry.ts'
import type { Address, MeterSigner } from '../signing.ts'

/** The area the embedded dev chain registers its meter in (node.ts registers it after the first boundary). */
export const DEV_AREA_ID = 1
/** The aggregation's privacy floor (docs/aggregation.md §4): no round with fewer contributors. */
export const MIN_MEMBERS = 3

// ── views ───────────────────────────────────────────────────────────────────────────────────────

/** A notice or neighbour alert as the API shows it (the contract's MeshNotice). */
export type MeshNoticeView = MeshNotice

/** The API's shapes (protocol/api/types.ts, shared with the UI). */
export type BackupEntry = MeshBackup
export type RestoredPeriod = MeshRestoredPeriod
export type RestoreReport = MeshRestoreReport

export interface AggregatePoint {
  time: number
  totalWh: number
  /** How many homes the total covers (never fewer than the privacy floor). */
  households: number
}

// ── options ─────────────────────────────────────────────────────────────────────────────────────

/** What the household mesh reads from the ledger: the utility (its owner) and each meter's registration. */
export interface MeshLedger {
  owner(): Promise<string>
  meter(meter: string): Promise<MeterInfo>
}

export interface HouseholdMeshOptions {
  dataDir: string
  config: NodeConfig['mesh']
  /** This meter's ledger areaId. */
  area: number
  domain: Eip712Domain
  ledger: MeshLedger
  meterAddress: Address
  /** The virtual meter's key: signs announcements, alerts and acks in-process. Absent for a hardware meter. */
  meterSigner: MeterSigner | undefined
  /**
   * The household account (the wallet the utility registered for this meter on the ledger). A hardware
   * meter keeps its key, so this account signs for the meter instead; receivers accept it because the
   * ledger binds it to this meter (docs/mesh.md §3). Absent (and no meter key): the node only listens.
   */
  householdSigner?: MeterSigner
  /**
   * The utility's key, where this node holds it (the embedded dev chain; a utility console): lets an
   * observer that speaks for no meter be admitted to the area with a utility-signed ticket (mesh.md §5a).
   */
  utilitySigner?: MeterSigner
  /** Whether the meter is registered on the ledger yet (the dev chain registers it after a boundary). */
  registered: boolean
  /** The vault root key: the backup owner key derives from it (a restore needs nothing else). */
  rootKey: Uint8Array
  observer: boolean
  /** The virtual meter runs on accelerated simulated time: rounds are simulated interval ends. */
  simulatedMeter: boolean
  intervalSeconds: number
  slots: number
  /** The node's logger for the mesh (source 'mesh'); the mesh library's own reports go there too. */
  log: Logger
}

// ── shared state ────────────────────────────────────────────────────────────────────────────────

/** What /api/mesh counts (the contract's MeshCounters); each module bumps its own. */
export type { MeshCounters }

export function newCounters(): MeshCounters {
  return {
    alertsSent: 0,
    alertsReceived: 0,
    noticesReceived: 0,
    noticesRejected: 0,
    sharesContributed: 0,
    sharesSkipped: 0,
    roundsCollected: 0,
    roundsFailed: 0,
  }
}
