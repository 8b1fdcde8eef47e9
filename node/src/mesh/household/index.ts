/** The household's place in the neighbourhood mesh (docs/mesh.md §11): the public surface. */
export {
  type AggregatePoint,
  ALERT_TTL_S,
  BACKUP_NEIGHBOURS,
  type BackupEntry,
  DEV_AREA_ID,
  type HouseholdMesh,
  type HouseholdMeshOptions,
  type MeshNoticeView,
  type RestoredPeriod,
  type RestoreReport,
  startHouseholdMesh,
} from './household-mesh.ts'
export { loadOrCreateMeshKeys, MeshKeyFileError, type MeshKeys } from './keys.ts'
