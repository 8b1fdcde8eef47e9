/** The household's place in the neighbourhood mesh (docs/mesh.md §11): the public surface. */
export { ALERT_TTL_S } from './alerts-bridge.ts'
export { BACKUP_NEIGHBOURS } from './backups.ts'
export { type HouseholdMesh, startHouseholdMesh } from './household-mesh.ts'
export { loadOrCreateMeshKeys, MeshKeyFileError, type MeshKeys } from './keys.ts'
export {
  type AggregatePoint,
  type BackupEntry,
  DEV_AREA_ID,
  type HouseholdMeshOptions,
  type MeshLedger,
  type MeshNoticeView,
  type RestoredPeriod,
  type RestoreReport,
} from './types.ts'
