/**
 * The shapes the household node's API and live stream send (docs/api.md), defined once for both
 * sides: the node builds its answers as these types (node/src/http/views.ts, node/src/history/readings.ts,
 * billing/), and the UI imports them type-only (ui/src/lib/types.ts). A field changed here, or
 * on either side without the other, fails a type check instead of a page at run time.
 *
 * Deliberately free of imports: the UI's type check reads this one file, not the node's modules,
 * and its bundle gets nothing from the node (type-only imports are erased).
 */

// ── bills ──────────────────────────────────────────────────────────────────────────────────

export type BillStatus =
  | 'waiting-tariff'
  | 'proving'
  /** Proved, held back until the meter's earlier bill is on the ledger (it requires continuity). */
  | 'waiting-previous'
  | 'submitting'
  | 'verified'
  | 'paid'
  | 'failed'

/** Why a bill failed (docs/api.md has the table; billing/failures.ts decides). */
export type FailureKind =
  | 'tariff-missing'
  | 'tariff-changed'
  /** The tariff for the period breaks the tariff rules (docs/privacy.md): the node will not prove against it. */
  | 'tariff-refused'
  /**
   * The feed-in curve published for the period's tariff breaks the tariff rules, or its prices do not
   * hash to the ledger's net tariff hash: the node will not prove a net bill against it. Since
   * issue 17's fallback such a period is billed as an import bill (Bill.creditForgone) instead: only
   * bills recorded by an older node fail with it.
   */
  | 'feed-in-refused'
  | 'meter-not-registered'
  | 'proof-rejected'
  | 'readings-mismatch'
  | 'earlier-bill-missing'
  | 'interrupted'
  | 'rejected'

export interface BillFailure {
  kind: FailureKind
  /** The ledger's custom error name when the contract rejected the bill (UnknownTariff, ProofRejected, …). */
  ledgerError: string | null
  /** What happened and what to do, in plain words. */
  advice: string
  /** The node retries by itself (nextAttemptAt) until it gives up and marks the bill failed. */
  temporary: boolean
  /** A retry proves the bill again from the vault instead of resubmitting the stored proof. */
  reprove: boolean
}

export type { DisplayCurrency } from '../money.ts'

/**
 * GET /api/payments: one paid bill's receipt, from the ledger's BillPaid event (docs/api.md,
 * "Payments"), with the bill's public figures. `blockNumber`/`paidAt` are null until the node has
 * read the event's block (a second or so after the payment).
 */
export interface PaymentReceipt {
  billId: string
  chainBillId: string
  periodStart: number
  periodEnd: number
  energyWh: number
  /** Smallest units of `asset` (wei for Ether), decimal: the amount paid (the bill's total). */
  amount: string
  /** What it was paid in; absent in answers of nodes from before token tariffs (Ether). */
  asset?: BillAsset
  tariffId: string | null
  commitment: string
  cidDigest: string
  submitTx: string | null
  txHash: string
  payer: string
  blockNumber: number | null
  /** Unix seconds: the paying block's timestamp. */
  paidAt: number | null
}

/**
 * What a home's bills are priced and paid in: Ether (assetId 0, 18 decimals) or the ERC-20 token
 * its area bills in (docs/contracts.md, "Token tariffs"). Amounts in `total`, `due.total` and a
 * payment's `amount` are integers in the asset's smallest unit (wei for Ether).
 */
export interface BillAsset {
  assetId: number
  symbol: string
  decimals: number
  /** The token contract; null for Ether. */
  token: string | null
}

/** GET /api/bills's `due`: the bills on the ledger not paid yet that owe something (protocol/money.ts). */
export interface BillsDue {
  /** Wei, decimal. */
  total: string
  count: number
  /** Verified bills whose total is zero or below the "nothing to pay" threshold. */
  nothingToPay: number
}

/** GET /api/bills, GET /api/bills/:id, the `bill` stream event. */
export interface Bill {
  id: string
  periodStart: number
  periodEnd: number
  energyWh: number
  /** Smallest units of `asset` (wei for Ether), decimal; null until proved. */
  total: string | null
  /**
   * "net": a net bill (issue 17), proving the import cost (`total`) and the export credit of a home
   * that fed energy in; "import": a bill of the import counter only. The fields from `kind` to
   * `amountDue` are absent in answers of nodes from before net bills (read them as an import bill
   * whose amountDue is its total).
   */
  kind?: 'import' | 'net'
  /** Wh exported in the period (the export counter's difference); 0 for an import bill. */
  exportedWh?: number
  /** This period's export credit at the feed-in curve (net bills), decimal; null for import bills. */
  credit?: string | null
  /** Carried credit the ledger applied to this bill (its CreditApplied), decimal; null until on-chain. */
  creditUsed?: string | null
  /**
   * An import bill of a period that exported energy, because the node refused its tariff's feed-in
   * curve (a `feed-in-refused` anomaly): why, and that the period's export credit is forgone, in plain
   * words; null otherwise.
   */
  creditForgone?: string | null
  /**
   * What the ledger asks to be paid for this bill (`billStatus(id).total`: the cost less this period's
   * credit and the carried credit), decimal; "0" when a credit covered it (the ledger records it
   * paid); null until on-chain. Pay this, not `total`.
   */
  amountDue?: string | null
  /** What the bill is in; absent in answers of nodes from before token tariffs (Ether). */
  asset?: BillAsset
  status: BillStatus
  commitment: string
  manifestCid: string
  cidDigest: string
  tariffId: string | null
  chainBillId: string | null
  submitTx: string | null
  /** The transaction that paid it, from the ledger's BillPaid event (whoever sent it). */
  paidTx: string | null
  /** The account that paid it (BillPaid's payer: a browser wallet need not be the household). */
  paidBy: string | null
  error: { name: string; message: string } | null
  /** Why it failed, or why the node is retrying it. */
  failure: BillFailure | null
  /** ISO 8601: the next automatic attempt, while a temporary failure is retried. */
  nextAttemptAt: string | null
  /** The earlier bill this one waits for (status waiting-previous). */
  waitingFor: string | null
  /** POST /api/bills/:id/retry is accepted (the bill is failed). */
  retryable: boolean
}

// ── readings ───────────────────────────────────────────────────────────────────────────────

/** GET /api/readings/latest, the `reading` stream event. */
export interface Reading {
  seq: number
  kind: 'live' | 'interval'
  time: number
  energyWh: number
  intervalWh: number
  /** The export counter (OBIS 2.8.0) and the Wh exported so far in the interval (0 without export). */
  exportedWh: number
  intervalExportedWh: number
  powerW: number
  voltageV: number
  currentA: number
  powerFactor: number
  temperatureC: number
  /** Fractions of full scale. */
  light: number
  gas: number
  water: number
  hazards: { flame: boolean; gas: boolean; water: boolean }
  /** relays[i] is POWER<i+1>. */
  relays: boolean[]
  fanSpeed: number
}

export type Resolution = 'interval' | 'hour' | 'day'

export interface HistoryPoint {
  time: number
  energyWh: number
  /** Wh exported in the bucket (PV beyond the load); 0 for a home without export. */
  exportedWh: number
  /** Wei, decimal, under the tariff in force. */
  costWei: string
  avgPowerW: number
  maxPowerW: number
}

/** GET /api/readings. */
export interface History {
  from: number
  to: number
  resolution: Resolution
  points: HistoryPoint[]
}

/** GET /api/summary/today: the calendar day of the latest reading in the household's time zone. */
export interface Today {
  /** Local midnight (unix seconds) the day starts at. */
  day: number
  energyWh: number
  costWei: string
  /** Wh returned to the grid today (a home with solar); 0 without export. Not in the cost. */
  exportedWh: number
  powerW: number
}

/** A calendar day, week (Monday first) or month in the household's time zone. */
export type InsightRange = 'day' | 'week' | 'month'

/** Energy at one price of the tariff in force, within a period. */
export interface PriceLevelUse {
  /** Wei per Wh, decimal. */
  priceWeiPerWh: string
  energyWh: number
  costWei: string
}

/** The same kind of period before the chosen one, for comparison. */
export interface InsightComparison {
  kind: 'previous-day' | 'week-before' | 'previous-week' | 'previous-month'
  /** Its first day, YYYY-MM-DD. */
  date: string
  from: number
  to: number
  energyWh: number
  costWei: string
  /** When the chosen period is still open: its energy up to the same time into the period. */
  sameTimeEnergyWh: number | null
}

/**
 * Energy and cost of an open period so far, and projected to its end. `same-weekday` (preferred,
 * when the time left is at most a week and the history covers it): so far + what the home used over
 * the same hours a week before (`reference`), priced at the tariff in force for the hours left.
 * `period-average` (otherwise): energy so far × period length ÷ time elapsed.
 */
export interface Projection {
  method: 'period-average' | 'same-weekday'
  /** `same-weekday` only: the stretch a week before that stands for the time left. */
  reference?: { from: number; to: number; energyWh: number }
  from: number
  to: number
  /** The latest reading's time (the meter's clock). */
  asOf: number
  energyWh: number
  costWei: string
  projectedEnergyWh: number
  projectedCostWei: string
}

/** GET /api/insight. */
export interface Insight {
  /** The household's time zone (IANA name) every date here is in. */
  timeZone: string
  range: InsightRange
  /** The period's first day, YYYY-MM-DD; `previous`/`next` the neighbours' (next null past the latest reading). */
  date: string
  previous: string
  next: string | null
  from: number
  to: number
  /** The latest reading's time, or null before the first. */
  now: number | null
  /** Readings counted (interval records, and the open interval so far). */
  samples: number
  energyWh: number
  costWei: string
  /** Wh returned to the grid in the period (a home with solar); 0 without export. Not in the cost. */
  exportedWh: number
  /** One point per local hour (day) or per day (week, month), empty ones included. */
  points: HistoryPoint[]
  /** Energy and cost per price of the tariff in force, cheapest first; they sum to the totals. */
  levels: PriceLevelUse[]
  comparisons: InsightComparison[]
  /** The chosen period if it is still open. */
  projection: Projection | null
  /** The meter's open billing period (as its last STATE reported it), or null when not known. */
  bill: Projection | null
}

// ── safety ─────────────────────────────────────────────────────────────────────────────────

/** GET /api/alarms, POST /api/alarms/:id/ack, the `alarm` stream event. */
export interface Alarm {
  id: string
  /** `disk-full`: the node's disk is full and it stores no readings (the meter holds them meanwhile). */
  kind: 'fire' | 'gas' | 'flood' | 'disk-full'
  /** `cleared`: the hazard is gone but the alarm stays latched until acknowledged. */
  state: 'active' | 'acknowledged' | 'cleared'
  active: boolean
  raisedAt: string
  clearedAt: string | null
  acknowledgedAt: string | null
  deviceReacted: boolean
  /** `escalated`: the device did not react and the node re-sent the safety commands. */
  severity: 'alarm' | 'escalated'
  resends: number
  /**
   * The relays this alarm's interlock holds now (protocol/meter/interlocks.ts): while active its
   * whole row of the matrix; once cleared, the relays it switched off, kept off until acknowledged.
   * Absent from nodes older than the matrix (the UI then shows none).
   */
  holds?: { channel: number; name: string; state: 'on' | 'off' | 'locked'; why: string }[]
  /** What acknowledging it (once cleared) switches back: the states before the alarm. */
  restores?: { channel: number; name: string; on: boolean }[]
  /**
   * Present when the hazard went away before the node's debounce raised an alarm, but the meter's
   * own safety reaction switched relays off (and keeps them off): `raisedAt` is when it was first
   * seen, `clearedAt` when it was gone; `origin` says it in words ("firmware safety reaction to a
   * 2 s gas (LPG) blip"). Acknowledging it restores the relays like any cleared alarm.
   */
  blip?: { durationS: number; count: number; origin: string }
}

// ── automation rules (GET/PUT /api/rules; automation/rule-schema.ts validates) ─────────────

/** Ceiling fan speed from temperature: the highest step whose threshold is reached wins. */
export interface FanStepsRule {
  id: string
  kind: 'fanSteps'
  enabled: boolean
  /** Strictly increasing thresholds (hundredths of °C) and speeds (1..3). */
  steps: { atCenti: number; speed: number }[]
  /** A speed is kept until the temperature falls this far below its threshold. */
  hysteresisCenti: number
  /** Once on, stay on at least this long; once off, stay off at least this long. */
  minOnS: number
  minOffS: number
}

/** A cooling relay (the AC): on at or above `onAtCenti`, off at or below `offAtCenti`. */
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

/** Local time of day, "HH:MM" (24 h) in the household's zone. */
export type TimeOfDay = string

/** A relay lit when it is dark: on at or below `onBelow` permille, off at or above `offAbove`. */
export interface NightLightRule {
  id: string
  kind: 'nightLight'
  enabled: boolean
  relay: number
  onBelow: number
  offAbove: number
  /** Only inside [from, to) local time (may wrap midnight); off outside it. Absent: any time. */
  window?: { from: TimeOfDay; to: TimeOfDay }
  minOnS: number
  minOffS: number
}

/** Switches a relay at a local time of day on the listed weekdays (0 = Sunday … 6 = Saturday). */
export interface ScheduleRule {
  id: string
  kind: 'schedule'
  enabled: boolean
  relay: number
  on: boolean
  at: TimeOfDay
  days: number[]
}

export type Rule = FanStepsRule | ThermostatRule | NightLightRule | ScheduleRule
export type RuleKind = Rule['kind']

export interface RuleSet {
  /** Format version of this document. */
  version: 1
  /** Incremented by the store on every change: lets the API detect lost updates. */
  revision: number
  /** The household's offset from UTC in minutes (e.g. 330 for UTC+05:30); schedules use local time. */
  utcOffsetMinutes: number
  /** Default length of a manual override. */
  overrideS: number
  rules: Rule[]
}

// ── neighbourhood mesh ─────────────────────────────────────────────────────────────────────────

/** One sealed period's backup with neighbours (GET /api/mesh `backups`). */
export interface MeshBackup {
  periodStart: number
  periodEnd: number
  manifestCid: string
  /** Neighbours that confirmed they fetched and pinned the whole period. */
  pinnedBy: { peerId: string; meter: string | null; at: string }[]
  status: 'pending' | 'partial' | 'done'
  attempts: number
  lastError: string | null
}

/** What the mesh counts in GET /api/mesh: events, never a neighbour's values. */
export interface MeshCounters {
  alertsSent: number
  alertsReceived: number
  noticesReceived: number
  noticesRejected: number
  sharesContributed: number
  sharesSkipped: number
  roundsCollected: number
  roundsFailed: number
}

/** GET /api/mesh: the mesh's state, its counters (no neighbour's values) and the backups. */
export type MeshReport =
  | { enabled: false }
  | ({
      enabled: true
      running: boolean
      peerId: string
      area: number
      listen: string[]
      /** Members of the area this node knows (itself included once it signs for its meter). */
      members: number
      connectedAreaPeers: number
      /** This node signs for its meter (a full member); false: it only listens. */
      signing: boolean
      observer: boolean
      lastAggregationError: string | null
      backups: MeshBackup[]
    } & MeshCounters)

/** What POST /api/mesh/restore did with one manifest a neighbour keeps for this home. */
export interface MeshRestoredPeriod {
  manifestCid: string
  /**
   * adopted: now listed by the vault and shown in the history; present: the vault already had it
   * sealed (nothing changed); refused: not adopted, `reason` says why (the vault is left as it was).
   */
  outcome: 'adopted' | 'present' | 'refused'
  /** From the manifest; null when it could not be read. */
  meter: string | null
  periodStart: number | null
  periodEnd: number | null
  records: number | null
  reason: string | null
  /** Neighbours (peer ids) that listed it. */
  heldBy: string[]
}

/** POST /api/mesh/restore. */
export interface MeshRestoreReport {
  /** Manifest CIDs sealed in the vault after the restore (adopted now or already there). */
  restored: string[]
  periods: MeshRestoredPeriod[]
  /** Each area neighbour asked, and how many manifests it keeps for us (null: it could not answer). */
  neighbours: { peerId: string; meter: string | null; listed: number | null; error: string | null }[]
}

// ── status and chain ───────────────────────────────────────────────────────────────────────

/** The mesh in GET /api/status: is it up, and how many of the area's homes we are connected to. */
export type MeshSummary =
  | { enabled: false }
  | {
      enabled: true
      running: boolean
      area: number
      peerId: string
      /** The area's homes this node knows (itself included). */
      members: number
      /** Neighbours (registered meters of the area) it is connected to now. */
      connectedAreaPeers: number
    }

/** GET /api/status (503 while the node starts). */
export interface Status {
  ready: boolean
  version: string
  dev: boolean
  uptimeSeconds: number
  /**
   * The ingestor's catch-up after a start: `catching-up` while the records the journal held but
   * the vault did not are moved into the vault (the node answers and takes records meanwhile; the
   * history and the export wait for it), `ok` after. `unflushed`: journaled records not yet in the
   * vault. Absent before the ingestor runs.
   */
  ingest?: { state: 'catching-up' | 'ok'; unflushed: number; since: string }
  meter: {
    address: string
    topic: string
    online: boolean
    lastSeq: number | null
    ackedSeq: number | null
    simulated: boolean
    /** The virtual meter's clock (unix s); null for a hardware meter. */
    simulatedTime: number | null
  }
  chain: {
    /** Decimal. */
    chainId: string
    rpcUrl: string
    ledger: string
    household: string
    /** The node pays bills itself (embedded dev chain: it holds the dev keys). */
    devWallet: boolean
    /**
     * The chain RPC as the node sees it: ok, or degraded since `since` (a transport failure:
     * reset, timeout, HTTP error), with the last error; requests are retried with backoff meanwhile.
     */
    health?: ChainHealth
  }
  mqtt: {
    url: string
    /**
     * The node's connection to the broker: ok, or degraded since `since` (lost, reconnecting with
     * backoff and jitter), with the last error and the next attempt; absent without MQTT.
     */
    health?: BrokerHealth
  }
  circuit: { profile: string; n: number; slots: number }
  mesh: MeshSummary
}

/** The chain RPC's health in /api/status (node/src/chain/resilient-provider.ts). */
export interface ChainHealth {
  state: 'ok' | 'degraded'
  /** ISO time since the chain is in this state. */
  since: string
  lastError: string | null
  /** ISO time of the last transport failure. */
  lastErrorAt: string | null
  /** Requests retried since the node started, and requests that failed after every attempt. */
  retries: number
  failures: number
}

/** The MQTT broker connection's health in /api/status (node/src/ingest/mqtt-session.ts). */
export interface BrokerHealth {
  state: 'ok' | 'degraded'
  /** ISO time since the connection is in this state. */
  since: string
  lastError: string | null
  /** ISO time of the last connection error. */
  lastErrorAt: string | null
  /** Connection attempts since it was lost (0 while ok). */
  attempts: number
  /** ISO time of the next attempt, while degraded. */
  nextAttemptAt: string | null
  /** Times the connection was lost and made again since the node started. */
  reconnects: number
}

/** GET /api/chain: what a browser wallet needs to pay a bill. */
export interface ChainInfo {
  chainId: string
  chainIdHex: string
  chainName: string
  rpcUrl: string
  ledger: string
  payBillAbi: string
  nativeCurrency: { name: string; symbol: string; decimals: number }
  /** What this home's bills are in (absent: Ether, a node from before token tariffs). */
  asset?: BillAsset
  /** For a token asset: the ledger's token pay functions (EIP-2612 permit, or approve + pay). */
  payBillWithPermitAbi?: string
  payBillWithTokenAbi?: string
  /**
   * The token's EIP-712 domain name and version for its EIP-2612 permits; null for a token without
   * permit (the wallet approves the ledger, then pays: two transactions).
   */
  tokenPermit?: { name: string; version: string } | null
  /** The trusted setup the ledger verifies bills under (node/src/setup/ledger-setup.ts). */
  trustedSetup?: TrustedSetupStatus
}

/**
 * The setup bills are verified under, as the ledger recorded it at deploy and as the node checked it
 * at start against the key it proves with (docs/trusted-setup.md).
 */
export interface TrustedSetupStatus {
  /** The ledger says so: its toxic waste follows from public phrases, anyone can forge bills. */
  insecureDev: boolean
  /** 0x sha256 of the verifying key, from the ledger. */
  verifyingKeyHash: string
  /** 0x sha256 of the setup transcript (the digest of its raw CID), from the ledger. */
  transcriptSha256: string
  /** The transcript's CID, when the node's build holds that transcript. */
  transcriptCid: string | null
  /** Contributors in order (the public beacon last), from the build's transcript when it matches. */
  contributors: string[]
  /** The key this node proves with is the ledger's (else billing is held). */
  keyMatches: boolean
  /** The build's transcript is the one the ledger recorded. */
  transcriptMatches: boolean
}

// ── ingestion anomalies (GET /api/anomalies, the `anomaly` stream event) ───────────────────

/** ingest/anomalies.ts's kinds, as plain strings here: the UI only lists them. */
export interface Anomaly {
  id: number
  at: string
  kind: string
  /** The payload was refused (not stored, not acknowledged as data). */
  rejected: boolean
  meter?: string
  seq?: number
  topic?: string
  reason: string
  details?: Record<string, unknown>
}

export interface Anomalies {
  /** The ingestor's counters (received, stored, rejected, …) and one per anomaly kind. */
  counters: Record<string, number>
  anomalies: Anomaly[]
}

// ── home ───────────────────────────────────────────────────────────────────────────────────

/** One relay as the meter reported it. A command in flight is the client's own "pending". */
export interface RelayState {
  channel: number
  name: string
  on: boolean
  /** False until the meter has reported this relay (then `on` is only a default). */
  known: boolean
}

/**
 * Who last set an output, as far as this node knows: a rule (or schedule) by its id, the resident
 * by hand (held against the rules until `manualUntil`), or an alarm's safety reaction.
 */
export interface OutputOrigin {
  /** A relay channel, or 'fan' for the fan speed. */
  output: number | 'fan'
  name: string
  by: 'rule' | 'schedule' | 'manual' | 'alarm'
  /** The rule's id (by rule or schedule), else null. */
  rule: string | null
  /** When (ISO 8601). */
  at: string
  /** A manual setting the rules leave alone until then (ISO 8601); null once it has ended. */
  manualUntil: string | null
}

/** GET /api/relays. */
export interface Relays {
  relays: RelayState[]
  fanSpeed: number
  /** Who last set each output the node has commanded (outputs never commanded are absent). */
  origins: OutputOrigin[]
  /** How long a setting made by hand holds against the rules (the rule set's overrideS). */
  manualHoldS: number
}

/** POST /api/relays/:channel (504 when the meter did not confirm). */
export interface RelaySwitched {
  channel: number
  on: boolean
  confirmed: true
  /** Rules leave this relay alone until then (ISO 8601); null when no hold was taken. */
  manualUntil: string | null
}

/** POST /api/fan. */
export interface FanSet {
  speed: number
  confirmed: true
  /** Rules leave the fan alone until then (ISO 8601); null when no hold was taken. */
  manualUntil: string | null
}

/** The `relay` stream event: one relay switched, or the fan's speed changed. */
export type RelayEvent = { channel: number; on: boolean } | { fanSpeed: number }

/** A device named in a command (voice/grammar.ts). */
export interface DeviceRef {
  name: string
  room?: string
  channel: number
}

/** What the command grammar understood (voice/grammar.ts). */
export type Intent =
  | { kind: 'switch'; targets: DeviceRef[]; on: boolean }
  | { kind: 'fanSpeed'; speed: number }
  | { kind: 'query'; what: 'anythingOn' | 'bill' | 'today' | 'power' | 'temperature'; targets?: DeviceRef[] }
  | { kind: 'unknown'; help: string }

/** POST /api/command. */
export interface CommandAnswer {
  intent: Intent
  answer: string
}

// ── notices ────────────────────────────────────────────────────────────────────────────────

/**
 * Notice kinds: the ledger stores a uint8 and the mesh uses names; kind n is NOTICE_KINDS[n]
 * (the order of the mesh codec's kinds).
 */
export const NOTICE_KINDS = ['outage', 'maintenance', 'price-signal'] as const

/** A utility notice read from the ledger: `kind` is the ledger's number (NOTICE_KINDS[kind]). */
export interface ChainNotice {
  source: 'utility'
  via: 'chain'
  kind: number
  area: number
  message: string
  startsAt: number
  endsAt: number
}

/**
 * What the mesh delivered: a utility notice (signature checked against the ledger owner; `kind` a
 * NOTICE_KINDS name) or a neighbour's safety alert (`kind` fire | gas | flood, `meter` the sender).
 * Also the `notice` stream event.
 */
export interface MeshNotice {
  source: 'utility' | 'neighbour'
  via: 'mesh'
  id: string
  kind: string
  message: string
  startsAt: number
  endsAt: number
  area: number
  meter?: string
}

export type Notice = ChainNotice | MeshNotice

// ── privacy ────────────────────────────────────────────────────────────────────────────────

/** A Groth16 proof in the contract's layout, decimal strings. */
export interface SolidityProofJson {
  a: string[]
  b: string[][]
  c: string[]
}

/** A bill this home put on the ledger (GET /api/privacy `published`): only what the chain holds. */
export interface PublishedBill {
  /** The node's bill id. */
  id: string
  /** The ledger's bill id. */
  billId: string
  periodStart: number
  periodEnd: number
  commitment: string
  cidDigest: string
  manifestCid: string
  /** Wei, decimal; absent (not sent) while the stored bill has none. */
  total?: string
  energyWh: number
  submitTx?: string
  proof?: SolidityProofJson
  /** The tariff the bill names (its prices are public on the ledger). */
  tariffId?: string
  /**
   * What the bill's energy and total reveal about the energy at each of the tariff's price levels
   * (docs/privacy.md): exact with one or two levels, a range with three or four.
   */
  levels?: PublishedLevel[]
}

/** One price level of a published bill's tariff and what the bill pins down about it. */
export interface PublishedLevel {
  /** Wei per Wh, decimal. */
  price: string
  /** The times of day at this price (UTC), e.g. "17:00–21:00". */
  hours: string[]
  /** Wh, decimal: the least and most energy at this level that fit the bill's energy and total. */
  minWh: string
  maxWh: string
  exact: boolean
}

/** One disclosure this home made (POST /api/grants, listed in GET /api/privacy). */
export interface GrantRecord {
  manifestCid: string
  /** The node's bill id. */
  billId: string
  /** The recipient's X25519 public key, as given. */
  recipient: string
  createdAt: string
}

/**
 * The ε this home's aggregation shares spent (GET /api/privacy `aggregation`; docs/aggregation.md §7):
 * on the day of data it last contributed to, against the resident's daily budget, counting only this
 * home's own noise (the worst case: every other member of the area is the utility's).
 */
export type PrivacySpendView =
  | { noise: false }
  | {
      noise: true
      /** The day of data (UTC date). */
      day: string
      epsilonSpent: number
      epsilonBudget: number
      epsilonPerRound: number
      delta: number
      /** Rounds contributed that day. */
      rounds: number
      /** The noise each share carries (standard deviation) and the clamp of each reading, Wh. */
      noiseSigmaWh: number
      clampWh: number
    }

/** GET /api/privacy. */
export interface Privacy {
  published: PublishedBill[]
  private: string[]
  grants: GrantRecord[]
  /** Absent when the mesh is off (no shares leave the home). */
  aggregation?: PrivacySpendView
}

/** One period's key wrapped to a recipient (vault/grant.ts): what POST /api/grants answers. */
export interface Grant {
  format: 'zkmeter-grant'
  version: 1
  manifestCid: string
  meter: string
  periodStart: number
  periodEnd: number
  recipient: string
  ephemeralPublicKey: string
  nonce: string
  wrappedKey: string
}

// ── utility console (ledger records; bigints travel as decimal strings) ────────────────────

/** GET /api/utility/meters. */
export interface LedgerMeter {
  meter: string
  household: string
  areaId: number
  registered: boolean
  active: boolean
  nextStart: string
  nextCounter: string
  /** What its bills are in: its area's asset, fixed on the ledger when its area's first meter came. */
  asset?: BillAsset
}

/** GET /api/utility/tariffs. */
export interface LedgerTariff {
  tariffId: string
  effectiveFrom: string
  /** The next tariff's effectiveFrom, or 2^64 − 1 while this is the latest. */
  until: string
  tariffHash: string
  /** Smallest units of `asset` (wei for Ether) per Wh per slot. */
  prices: string[]
  /** What the prices are in (absent from nodes before token tariffs: Ether). */
  asset?: BillAsset
}

/** POST /api/utility/tariffs. */
export interface TariffPublished {
  tariffId: string
  tariffHash: string
  txHash: string
  asset?: BillAsset
  /** The token was registered on the ledger by this request (its first tariff). */
  assetRegistered?: boolean
}

/** POST /api/utility/feed-in: a tariff's feed-in curve was published (net bills, issue 17). */
export interface FeedInPublished extends Transaction {
  tariffId: string
  /** Poseidon(T, T_f) of the tariff's import curve and this curve: what net bills prove against. */
  netTariffHash: string
  effectiveFrom: string
  asset: BillAsset
}

/** GET /api/utility/credits: a meter's credit from net bills, what the utility owes its household. */
export interface CarriedCredit {
  meter: string
  household: string
  areaId: number
  /** A deactivated meter's credit is used by no further bill: the utility pays it out. */
  active: boolean
  asset: BillAsset
  /** Smallest units of `asset`, decimal. */
  credit: string
}

/** POST /api/utility/credits/:meter/pay: part or all of a meter's credit paid to its household. */
export interface CreditPaidOut extends Transaction {
  meter: string
  household: string
  asset: BillAsset
  /** Smallest units of `asset`, decimal. */
  amount: string
  /** The credit left. */
  balance: string
}

/** GET /api/utility/balance: one asset's money at the ledger (amounts in its smallest unit, decimal). */
export interface AssetBalance {
  asset: BillAsset
  /** Every paid bill's total in this asset, withdrawn or not. */
  collected: string
  /** Paid and not withdrawn yet. */
  withdrawable: string
}

/** GET /api/utility/token?address=0x…: a token as read from its contract, checked for tariffs. */
export interface TokenCheck {
  token: string
  symbol: string
  decimals: number
  /** Its asset id on the ledger, or null until a first tariff in it registers it. */
  assetId: number | null
}

/** POST /api/utility/withdraw: what was withdrawn. */
export interface Withdrawal extends Transaction {
  /** Smallest units of `asset`, decimal. */
  amount?: string
  asset?: BillAsset
}

/** GET /api/utility/bills: every bill on the ledger, totals only (all the utility gets). */
export interface LedgerBill {
  billId: string
  meter: string
  household: string
  areaId: number
  periodStart: number
  periodEnd: number
  energyWh: string
  total: string
  paid: boolean
  transactionHash: string
  /** What `total` is in: its tariff's asset (absent from nodes before token tariffs: Ether). */
  asset?: BillAsset
}

/** A transaction the node sent for the utility (POST /api/utility/meters, withdraw, notices). */
export interface Transaction {
  txHash: string
}

/** GET /api/utility/aggregates: area totals from private aggregation, and their forecast. */
export type Aggregates =
  | { available: false; reason: string }
  | {
      available: true
      area: number
      members: number
      /** Area totals per interval end: sums of masked shares covering `households` ≥ 3 homes. */
      series: { time: number; totalWh: number; households: number }[]
      /** The next intervals with a 90 % band; empty (with `forecastNote`) until enough totals exist. */
      forecast: { time: number; wh: number; low: number; high: number }[]
      forecastNote?: string
    }

// ── pairing, sessions and tokens (docs/security.md) ───────────────────────────────────────────

/** What a caller may do: `resident` everything, `read-only` the GET routes and the stream. */
export type Role = 'resident' | 'read-only'

export const ROLES = ['resident', 'read-only'] as const satisfies readonly Role[]

/** Who is asking: a paired browser (session), a bearer token, or the node's own admin token. */
export interface Principal {
  kind: 'session' | 'token' | 'admin'
  /** The session's or token's public id (what `revoke` takes); `admin` for the admin token. */
  id: string
  name: string
  role: Role
}

/** A paired browser as the resident lists it (never its secret). */
export interface SessionInfo {
  id: string
  name: string
  role: Role
  createdAt: string
  expiresAt: string
  /** The session asking for the list. */
  current: boolean
}

/** A bearer token as listed (its secret is shown once, when created). */
export interface TokenInfo {
  id: string
  name: string
  role: Role
  createdAt: string
}

/** A one-time pairing code, readable only by someone the node already trusts. */
export interface PairingCode {
  /** The code to type (or carried in `link`); single use. */
  code: string
  role: Role
  expiresAt: string
  /** The app's path with the code in the fragment: `/#pair=<code>` (append to the node's URL). */
  path: string
  /** SHA-256 of the node's HTTPS certificate (hex with colons), when it serves HTTPS. */
  fingerprint?: string
  /**
   * The node's URL for a phone, when it listens on the home network (`--listen`): its HTTPS URL on
   * the LAN (the start banner's). The link to print is this + `path` (+ `&fp=`). Absent when the
   * node serves loopback only: then only a browser on the node's own machine can use the code.
   */
  url?: string
}
