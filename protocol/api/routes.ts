/**
 * The household node's HTTP API as one map (docs/api.md): every route's method and path (the
 * runtime table the client calls and the node registers), and per route the types of its path
 * params, query, body and answer. The live stream's events are in the same module
 * (StreamEvents). The node implements `RouteHandlers`, the client (client.ts) is derived from
 * `ROUTES`: a route changed here fails the type check of both sides.
 *
 * Imports types only: the UI's bundle gets the route table and nothing of the node.
 */
import type {
  Aggregates,
  Alarm,
  Anomalies,
  Anomaly,
  Bill,
  ChainInfo,
  CommandAnswer,
  FanSet,
  Grant,
  History,
  LedgerBill,
  LedgerMeter,
  LedgerTariff,
  MeshNotice,
  MeshReport,
  MeshRestoreReport,
  Notice,
  Privacy,
  Reading,
  RelayEvent,
  RelaySwitched,
  Relays,
  Resolution,
  Rule,
  RuleSet,
  Status,
  TariffPublished,
  Today,
  Transaction,
} from './types.ts'

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RouteDefinition {
  method: Method
  /** `:name` segments are path params. */
  path: string
  /** The answer is a text download (CSV), not JSON: its media type and the file name offered. */
  text?: { type: string; filename: string }
}

/** Every route of the node, by the name the client's function has. */
export const ROUTES = {
  // status
  status: { method: 'GET', path: '/api/status' },
  chain: { method: 'GET', path: '/api/chain' },
  // readings
  latestReading: { method: 'GET', path: '/api/readings/latest' },
  readings: { method: 'GET', path: '/api/readings' },
  today: { method: 'GET', path: '/api/summary/today' },
  exportCsv: {
    method: 'GET',
    path: '/api/export.csv',
    text: { type: 'text/csv; charset=utf-8', filename: 'zkmeter-readings.csv' },
  },
  anomalies: { method: 'GET', path: '/api/anomalies' },
  // bills
  bills: { method: 'GET', path: '/api/bills' },
  bill: { method: 'GET', path: '/api/bills/:id' },
  payBill: { method: 'POST', path: '/api/bills/:id/pay' },
  retryBill: { method: 'POST', path: '/api/bills/:id/retry' },
  // home
  relays: { method: 'GET', path: '/api/relays' },
  setRelay: { method: 'POST', path: '/api/relays/:channel' },
  setFan: { method: 'POST', path: '/api/fan' },
  rules: { method: 'GET', path: '/api/rules' },
  replaceRules: { method: 'PUT', path: '/api/rules' },
  putRule: { method: 'PUT', path: '/api/rules/:id' },
  deleteRule: { method: 'DELETE', path: '/api/rules/:id' },
  command: { method: 'POST', path: '/api/command' },
  // safety
  alarms: { method: 'GET', path: '/api/alarms' },
  acknowledgeAlarm: { method: 'POST', path: '/api/alarms/:id/ack' },
  notices: { method: 'GET', path: '/api/notices' },
  // neighbourhood mesh
  mesh: { method: 'GET', path: '/api/mesh' },
  restoreFromMesh: { method: 'POST', path: '/api/mesh/restore' },
  // privacy
  privacy: { method: 'GET', path: '/api/privacy' },
  grant: { method: 'POST', path: '/api/grants' },
  // utility console
  utilityMeters: { method: 'GET', path: '/api/utility/meters' },
  registerMeter: { method: 'POST', path: '/api/utility/meters' },
  utilityTariffs: { method: 'GET', path: '/api/utility/tariffs' },
  publishTariff: { method: 'POST', path: '/api/utility/tariffs' },
  utilityBills: { method: 'GET', path: '/api/utility/bills' },
  utilityBalance: { method: 'GET', path: '/api/utility/balance' },
  withdraw: { method: 'POST', path: '/api/utility/withdraw' },
  publishNotice: { method: 'POST', path: '/api/utility/notices' },
  aggregates: { method: 'GET', path: '/api/utility/aggregates' },
} as const satisfies Record<string, RouteDefinition>

/**
 * The live stream (Server-Sent Events): not a request/answer route, so not in ROUTES (the client
 * has no function for it), but named here so the node serves it at the path the UI opens.
 */
export const STREAM_PATH = '/api/stream'

/** Per route: its query, request body and answer (`never` query/body: the route takes none). */
export interface RouteTypes {
  status: { query: never; body: never; answer: Status }
  chain: { query: never; body: never; answer: ChainInfo }
  latestReading: { query: never; body: never; answer: { reading: Reading } }
  readings: {
    /** Unix seconds; default the day before the latest reading, at most 400 days. */
    query: { from?: number; to?: number; resolution?: Resolution }
    body: never
    answer: History
  }
  today: { query: never; body: never; answer: Today }
  exportCsv: { query: { from?: number; to?: number }; body: never; answer: string }
  anomalies: { query: { since?: number }; body: never; answer: Anomalies }
  bills: { query: never; body: never; answer: { bills: Bill[] } }
  bill: { query: never; body: never; answer: { bill: Bill } }
  payBill: { query: never; body: never; answer: { txHash: string; bill: Bill } }
  retryBill: { query: never; body: never; answer: { bill: Bill } }
  relays: { query: never; body: never; answer: Relays }
  setRelay: { query: never; body: { on: boolean }; answer: RelaySwitched }
  setFan: { query: never; body: { speed: number }; answer: FanSet }
  rules: { query: never; body: never; answer: RuleSet }
  replaceRules: { query: never; body: RuleSet; answer: RuleSet }
  putRule: { query: never; body: Rule; answer: RuleSet }
  deleteRule: { query: never; body: never; answer: RuleSet }
  command: { query: never; body: { text: string }; answer: CommandAnswer }
  alarms: { query: { all?: boolean }; body: never; answer: { alarms: Alarm[] } }
  acknowledgeAlarm: { query: never; body: never; answer: { alarm: Alarm } }
  notices: { query: never; body: never; answer: { notices: Notice[] } }
  mesh: { query: never; body: never; answer: MeshReport }
  restoreFromMesh: { query: never; body: never; answer: MeshRestoreReport }
  privacy: { query: never; body: never; answer: Privacy }
  grant: { query: never; body: { billId: string; recipientPublicKey: string }; answer: { grant: Grant } }
  utilityMeters: { query: never; body: never; answer: { meters: LedgerMeter[] } }
  registerMeter: {
    query: never
    body: { meter: string; household: string; areaId: number; startTime: number; startCounter?: number }
    answer: Transaction
  }
  utilityTariffs: { query: never; body: never; answer: { tariffs: LedgerTariff[] } }
  publishTariff: {
    query: never
    /** `prices`: SLOTS decimal strings, wei per Wh per slot. */
    body: { effectiveFrom: number; prices: string[] }
    answer: TariffPublished
  }
  utilityBills: { query: never; body: never; answer: { bills: LedgerBill[] } }
  /** Wei, decimal: what the utility can withdraw. */
  utilityBalance: { query: never; body: never; answer: { withdrawable: string } }
  withdraw: { query: never; body: { to: string }; answer: Transaction }
  publishNotice: {
    query: never
    /** `kind`: the index in NOTICE_KINDS. */
    body: { areaId: number; kind: number; startsAt: number; endsAt: number; message: string }
    answer: Transaction
  }
  aggregates: { query: never; body: never; answer: Aggregates }
}

export type RouteKey = keyof typeof ROUTES

// The map and the types name the same routes: a route added to one only fails here.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : never
const routesAreTyped: SameKeys<typeof ROUTES, RouteTypes> = true
void routesAreTyped

/** `/api/bills/:id/pay` → `{ id: string }`. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : Record<never, never>

export type RouteParams<K extends RouteKey> = PathParams<(typeof ROUTES)[K]['path']>
export type RouteQuery<K extends RouteKey> = RouteTypes[K]['query']
export type RouteBody<K extends RouteKey> = RouteTypes[K]['body']
export type RouteAnswer<K extends RouteKey> = RouteTypes[K]['answer']

/**
 * What a node handler receives. The query arrives as strings and the body as untrusted JSON:
 * the handler validates both (RouteQuery/RouteBody say what a valid request holds). The body is
 * read on demand (`json()`: bounded, application/json only), so a route without one never
 * refuses a request for its body, and a route checks its path params before reading it.
 */
export interface RouteRequest<K extends RouteKey> {
  params: RouteParams<K>
  query: URLSearchParams
  json(): Promise<unknown>
}

/**
 * What a handler may return for an answer `T`: the same, except that a decimal-string field may be
 * a bigint (the node's JSON writer sends bigints as decimal strings; ledger values are bigints).
 */
export type Encodable<T> = T extends string
  ? T | bigint
  : T extends readonly (infer U)[]
    ? Encodable<U>[]
    : T extends object
      ? { [P in keyof T]: Encodable<T[P]> }
      : T

/** The node implements every route through this: a missing route or a wrong answer is a type error. */
export type RouteHandlers = {
  [K in RouteKey]: RouteHandler<K>
}

export type RouteHandler<K extends RouteKey> = (
  request: RouteRequest<K>,
) => Encodable<RouteAnswer<K>> | Promise<Encodable<RouteAnswer<K>>>

/** The error body of every non-2xx answer. */
export interface ApiErrorBody {
  /** The error class name (NotFoundError, HttpError, RuleValidationError, …). */
  error: string
  /** What went wrong and what to do. */
  message: string
  details?: Record<string, unknown>
}

// ── live stream ────────────────────────────────────────────────────────────────────────────

/**
 * GET /api/stream: each event's name and data. Events sent while a client is disconnected are
 * lost: after a reconnect a client re-reads the REST state.
 */
export interface StreamEvents {
  reading: Reading
  bill: Bill
  alarm: Alarm
  relay: RelayEvent
  anomaly: Anomaly
  /** What the mesh delivered (utility notices and neighbours' alerts). */
  notice: MeshNotice
}

export type StreamEventName = keyof StreamEvents

export const STREAM_EVENTS = [
  'reading',
  'bill',
  'alarm',
  'relay',
  'anomaly',
  'notice',
] as const satisfies readonly StreamEventName[]
