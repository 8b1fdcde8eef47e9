/**
 * The shapes of docs/api.md, the contract between the household node and this UI: all from the
 * one definition in protocol/api/ (imported type-only, except NOTICE_KINDS), so a change on
 * either side fails the other's type check.
 */
import { NOTICE_KINDS } from '#protocol/api/types.ts'

export type {
  Aggregates,
  Alarm,
  AssetBalance,
  Bill,
  BillAsset,
  BillFailure,
  BillStatus,
  BillsDue,
  CarriedCredit,
  ChainInfo,
  ChainNotice,
  CommandAnswer,
  DisplayCurrency,
  FailureKind,
  FanStepsRule,
  Grant,
  GrantRecord,
  History,
  HistoryPoint,
  Insight,
  InsightComparison,
  InsightRange,
  LedgerBill,
  LedgerMeter,
  LedgerTariff,
  MeshBackup,
  MeshNotice,
  MeshReport,
  MeshRestoredPeriod,
  MeshRestoreReport,
  NightLightRule,
  Notice,
  OutputOrigin,
  PaymentReceipt,
  Privacy,
  Projection,
  PublishedBill,
  Reading,
  RelayEvent,
  RelayState,
  Relays,
  Rule,
  RuleSet,
  ScheduleRule,
  Status,
  ThermostatRule,
  Today,
  TokenCheck,
} from '#protocol/api/types.ts'
export { NOTICE_KINDS }

/** A notice's kind as a name: the ledger's number is an index into NOTICE_KINDS. */
export function noticeKind(kind: string | number): string {
  return typeof kind === 'number' ? (NOTICE_KINDS[kind] ?? `kind ${kind}`) : kind
}
