/** Shapes of docs/api.md, the contract between the household node and this UI. */

export interface Status {
  ready: boolean
  version: string
  dev: boolean
  uptimeSeconds: number
  meter: { address: string; topic: string; online: boolean; lastSeenAt: string | null; simulated: boolean }
  chain: { chainId: string; rpcUrl: string; ledger: string; household: string; devWallet: boolean }
  mqtt: { url: string }
  circuit: { profile: string; n: number; slots: number }
}

export interface Reading {
  seq: number
  kind: 'live' | 'interval'
  time: number
  energyWh: number
  intervalWh: number
  powerW: number
  voltageV: number
  currentA: number
  powerFactor: number
  temperatureC: number
  light: number
  gas: number
  water: number
  hazards: { flame: boolean; gas: boolean; water: boolean }
  relays: boolean[]
  fanSpeed: number
}

export interface HistoryPoint {
  time: number
  energyWh: number
  costWei: string
  avgPowerW: number
  maxPowerW: number
}

export interface History {
  from: number
  to: number
  resolution: 'interval' | 'hour' | 'day'
  points: HistoryPoint[]
}

export interface Today {
  day: number
  energyWh: number
  costWei: string
  powerW: number
}

export type BillStatus =
  | 'waiting-tariff'
  | 'proving'
  | 'waiting-previous'
  | 'submitting'
  | 'verified'
  | 'paid'
  | 'failed'

/** Why a bill failed or is being retried (docs/api.md, Bills). */
export interface BillFailure {
  kind: string
  ledgerError: string | null
  advice: string
  temporary: boolean
  reprove: boolean
}

export interface Bill {
  id: string
  periodStart: number
  periodEnd: number
  energyWh: number
  total: string | null
  status: BillStatus
  commitment: string | null
  manifestCid: string | null
  cidDigest: string | null
  tariffId: string | null
  chainBillId: string | null
  submitTx: string | null
  paidTx: string | null
  error: { name: string; message: string } | null
  failure: BillFailure | null
  nextAttemptAt: string | null
  waitingFor: string | null
  retryable: boolean
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

export interface Alarm {
  id: string
  kind: 'fire' | 'gas' | 'flood'
  state: 'active' | 'acknowledged' | 'cleared'
  raisedAt: string
  deviceReacted: boolean
  severity: 'alarm' | 'escalated'
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

/** Rule set document of GET/PUT /api/rules (the node's automation rule format, version 1). */
export interface FanStepsRule {
  id: string
  kind: 'fanSteps'
  enabled: boolean
  steps: { atCenti: number; speed: number }[]
  hysteresisCenti: number
  minOnS: number
  minOffS: number
}

export interface ThermostatRule {
  id: string
  kind: 'thermostat'
  enabled: boolean
  relay: number
  onAtCenti: number
  offAtCenti: number
  minOnS: number
  minOffS: number
}

export interface NightLightRule {
  id: string
  kind: 'nightLight'
  enabled: boolean
  relay: number
  onBelow: number
  offAbove: number
  window?: { from: string; to: string }
  minOnS: number
  minOffS: number
}

export interface OtherRule {
  id: string
  kind: string
  enabled: boolean
  [key: string]: unknown
}

export type Rule = FanStepsRule | ThermostatRule | NightLightRule | OtherRule

export interface RuleSet {
  version: number
  revision: number
  utcOffsetMinutes: number
  overrideS: number
  rules: Rule[]
}
