/**
 * Shapes of docs/api.md, the contract between the household node and this UI. Those the node
 * builds as typed values come from its one definition (protocol/api/types.ts, imported type-only:
 * nothing of the node reaches the bundle), so a change on either side fails the other's type
 * check; the rest are still described here.
 */
export type {
  Alarm,
  Bill,
  BillFailure,
  BillStatus,
  FailureKind,
  FanStepsRule,
  History,
  HistoryPoint,
  MeshBackup,
  MeshReport,
  MeshRestoredPeriod,
  MeshRestoreReport,
  NightLightRule,
  Reading,
  Rule,
  RuleSet,
  ScheduleRule,
  ThermostatRule,
  Today,
} from '#protocol/api/types.ts'

/**
 * GET /api/status. Still described by hand: the node builds it inline in its routes (next to move
 * to protocol/api/types.ts); `mesh` is read by nothing in the UI yet.
 */
export interface Status {
  ready: boolean
  version: string
  dev: boolean
  uptimeSeconds: number
  meter: {
    address: string
    topic: string
    online: boolean
    lastSeq: number | null
    ackedSeq: number | null
    simulated: boolean
    simulatedTime: number | null
  }
  chain: { chainId: string; rpcUrl: string; ledger: string; household: string; devWallet: boolean }
  mqtt: { url: string }
  circuit: { profile: string; n: number; slots: number }
}

export interface Relay {
  channel: number
  name: string
  on: boolean
  pending: boolean
}

export interface Relays {
  relays: Relay[]
  fanSpeed: number
}

/**
 * Notice kinds: the ledger stores a uint8 and the mesh uses names; kind n is NOTICE_KINDS[n]
 * (the order of the mesh codec's kinds).
 */
export const NOTICE_KINDS = ['outage', 'maintenance', 'price-signal'] as const

export function noticeKind(kind: string | number): string {
  return typeof kind === 'number' ? (NOTICE_KINDS[kind] ?? `kind ${kind}`) : kind
}

export interface Notice {
  source: 'utility' | 'neighbour'
  kind: string | number
  message: string
  startsAt: string | number | null
  endsAt: string | number | null
  area: string | number | null
}

export interface Published {
  billId: string
  periodStart: number
  periodEnd: number
  commitment: string
  cidDigest: string
  manifestCid: string
  total: string
  energyWh: number
  submitTx: string
}

export interface Grant {
  manifestCid: string
  recipient: string
  createdAt: string
}

export interface Privacy {
  published: Published[]
  private: string[]
  grants: Grant[]
}

export interface CommandAnswer {
  intent: Record<string, unknown>
  answer: string
}

export type RelayEvent = { channel: number; on: boolean } | { fanSpeed: number }

export type Aggregates =
  | { available: false; reason: string }
  | {
      available: true
      area: string | number
      series: { time: number; totalWh: number }[]
      forecast: { time: number; wh: number; low: number; high: number }[]
    }
