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
  AssetBalance,
  Bill,
  BillAsset,
  BillsDue,
  CarriedCredit,
  ChainInfo,
  CommandAnswer,
  CreditPaidOut,
  DisplayCurrency,
  FanSet,
  FeedInPublished,
  Grant,
  History,
  Insight,
  InsightRange,
  LedgerBill,
  LedgerMeter,
  LedgerTariff,
  MeshNotice,
  MeshReport,
  MeshRestoreReport,
  Notice,
  PairingCode,
  PaymentReceipt,
  Principal,
  Privacy,
  Reading,
  RelayEvent,
  RelaySwitched,
  Relays,
  Resolution,
  Role,
  Rule,
  RuleSet,
  SessionInfo,
  Status,
  TariffPublished,
  Today,
  TokenCheck,
  TokenInfo,
  Transaction,
  Withdrawal,
} from './types.ts'

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

/**
 * Who may call a route (enforced in one place, node/src/auth/authorize.ts): `public` anyone (only
 * pairing itself), `read` any paired session or token, `resident` a session or token of the
 * resident role (not a read-only one). The utility's own routes also need the utility key.
 */
export type Access = 'public' | 'read' | 'resident'

export interface RouteDefinition {
  method: Method
  /** `:name` segments are path params. */
  path: string
  access: Access
  /** The answer is a text download (CSV), not JSON: its media type and the file name offered. */
  text?: { type: string; filename: string }
}

/** Every route of the node, by the name the client's function has. */
export const ROUTES = {
  // status
  status: { method: 'GET', access: 'read', path: '/api/status' },
  chain: { method: 'GET', access: 'read', path: '/api/chain' },
  // readings
  latestReading: { method: 'GET', access: 'read', path: '/api/readings/latest' },
  readings: { method: 'GET', access: 'read', path: '/api/readings' },
  today: { method: 'GET', access: 'read', path: '/api/summary/today' },
  insight: { method: 'GET', access: 'read', path: '/api/insight' },
  exportCsv: {
    method: 'GET',
    access: 'read',
    path: '/api/export.csv',
    text: { type: 'text/csv; charset=utf-8', filename: 'zkmeter-readings.csv' },
  },
  anomalies: { method: 'GET', access: 'read', path: '/api/anomalies' },
  // bills
  bills: { method: 'GET', access: 'read', path: '/api/bills' },
  bill: { method: 'GET', access: 'read', path: '/api/bills/:id' },
  payBill: { method: 'POST', access: 'resident', path: '/api/bills/:id/pay' },
  retryBill: { method: 'POST', access: 'resident', path: '/api/bills/:id/retry' },
  // payments and the display currency (docs/api.md, "Payments", "Display currency")
  payments: { method: 'GET', access: 'read', path: '/api/payments' },
  paymentsCsv: {
    method: 'GET',
    access: 'read',
    path: '/api/payments.csv',
    text: { type: 'text/csv; charset=utf-8', filename: 'zkmeter-payments.csv' },
  },
  displayCurrency: { method: 'GET', access: 'read', path: '/api/settings/display-currency' },
  setDisplayCurrency: { method: 'PUT', access: 'resident', path: '/api/settings/display-currency' },
  clearDisplayCurrency: { method: 'DELETE', access: 'resident', path: '/api/settings/display-currency' },
  // home
  relays: { method: 'GET', access: 'read', path: '/api/relays' },
  setRelay: { method: 'POST', access: 'resident', path: '/api/relays/:channel' },
  setFan: { method: 'POST', access: 'resident', path: '/api/fan' },
  rules: { method: 'GET', access: 'read', path: '/api/rules' },
  replaceRules: { method: 'PUT', access: 'resident', path: '/api/rules' },
  putRule: { method: 'PUT', access: 'resident', path: '/api/rules/:id' },
  deleteRule: { method: 'DELETE', access: 'resident', path: '/api/rules/:id' },
  command: { method: 'POST', access: 'resident', path: '/api/command' },
  // safety
  alarms: { method: 'GET', access: 'read', path: '/api/alarms' },
  acknowledgeAlarm: { method: 'POST', access: 'resident', path: '/api/alarms/:id/ack' },
  notices: { method: 'GET', access: 'read', path: '/api/notices' },
  // neighbourhood mesh
  mesh: { method: 'GET', access: 'read', path: '/api/mesh' },
  restoreFromMesh: { method: 'POST', access: 'resident', path: '/api/mesh/restore' },
  // privacy
  privacy: { method: 'GET', access: 'read', path: '/api/privacy' },
  grant: { method: 'POST', access: 'resident', path: '/api/grants' },
  // utility console
  utilityMeters: { method: 'GET', access: 'read', path: '/api/utility/meters' },
  registerMeter: { method: 'POST', access: 'resident', path: '/api/utility/meters' },
  utilityTariffs: { method: 'GET', access: 'read', path: '/api/utility/tariffs' },
  publishTariff: { method: 'POST', access: 'resident', path: '/api/utility/tariffs' },
  utilityBills: { method: 'GET', access: 'read', path: '/api/utility/bills' },
  utilityBalance: { method: 'GET', access: 'read', path: '/api/utility/balance' },
  utilityToken: { method: 'GET', access: 'read', path: '/api/utility/token' },
  withdraw: { method: 'POST', access: 'resident', path: '/api/utility/withdraw' },
  publishNotice: { method: 'POST', access: 'resident', path: '/api/utility/notices' },
  aggregates: { method: 'GET', access: 'read', path: '/api/utility/aggregates' },
  publishFeedIn: { method: 'POST', access: 'resident', path: '/api/utility/feed-in' },
  utilityCredits: { method: 'GET', access: 'read', path: '/api/utility/credits' },
  payCredit: { method: 'POST', access: 'resident', path: '/api/utility/credits/:meter/pay' },
  // pairing, sessions and tokens (docs/security.md)
  pair: { method: 'POST', access: 'public', path: '/api/pair' },
  session: { method: 'GET', access: 'read', path: '/api/session' },
  logout: { method: 'POST', access: 'read', path: '/api/session/logout' },
  sessions: { method: 'GET', access: 'resident', path: '/api/sessions' },
  revokeSession: { method: 'DELETE', access: 'resident', path: '/api/sessions/:id' },
  tokens: { method: 'GET', access: 'resident', path: '/api/tokens' },
  createToken: { method: 'POST', access: 'resident', path: '/api/tokens' },
  revokeToken: { method: 'DELETE', access: 'resident', path: '/api/tokens/:id' },
  createPairingCode: { method: 'POST', access: 'resident', path: '/api/pairing-codes' },
} as const satisfies Record<string, RouteDefinition>

/**
 * The live stream (Server-Sent Events): not a request/answer route, so not in ROUTES (the client
 * has no function for it), but named here so the node serves it at the path the UI opens.
 */
export const STREAM_PATH = '/api/stream'

/** The stream is live readings: any paired session or token may open it. */
export const STREAM_ACCESS: Access = 'read'

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
  /** `date` YYYY-MM-DD picks the period containing it; default the latest reading's day. */
  insight: { query: { range?: InsightRange; date?: string }; body: never; answer: Insight }
  exportCsv: { query: { from?: number; to?: number }; body: never; answer: string }
  anomalies: { query: { since?: number }; body: never; answer: Anomalies }
  /** `due`: what the unpaid bills owe; `display`: the household's display currency (protocol/money.ts). */
  bills: {
    query: never
    body: never
    /**
     * `asset`: what the bills are in (absent from nodes before token tariffs: Ether); `credit`: the
     * meter's carried export credit on the ledger now (`creditOf`), in that asset, decimal (absent
     * from nodes before net bills).
     */
    answer: {
      bills: Bill[]
      due: BillsDue
      display: DisplayCurrency | null
      asset?: BillAsset
      credit?: string
    }
  }
  bill: { query: never; body: never; answer: { bill: Bill } }
  payBill: { query: never; body: never; answer: { txHash: string; bill: Bill } }
  retryBill: { query: never; body: never; answer: { bill: Bill } }
  payments: {
    query: never
    body: never
    answer: { payments: PaymentReceipt[]; display: DisplayCurrency | null }
  }
  paymentsCsv: { query: never; body: never; answer: string }
  displayCurrency: { query: never; body: never; answer: { display: DisplayCurrency | null } }
  setDisplayCurrency: {
    query: never
    body: { currency: string; rate: string }
    answer: { display: DisplayCurrency | null }
  }
  clearDisplayCurrency: { query: never; body: never; answer: { display: DisplayCurrency | null } }
  relays: { query: never; body: never; answer: Relays }
  /** `confirm`: a person's explicit override of a safety interlock (SafetyConfirmationRequiredError without). */
  setRelay: { query: never; body: { on: boolean; confirm?: boolean }; answer: RelaySwitched }
  setFan: { query: never; body: { speed: number; confirm?: boolean }; answer: FanSet }
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
    /** `asset`: "eth" or a token address, what the area bills in (set before its first meter). */
    body: {
      meter: string
      household: string
      areaId: number
      startTime: number
      startCounter?: number
      asset?: string
    }
    answer: Transaction
  }
  utilityTariffs: { query: never; body: never; answer: { tariffs: LedgerTariff[] } }
  publishTariff: {
    query: never
    /**
     * `prices`: SLOTS decimal strings, smallest units of the asset per Wh per slot; `asset`: "eth"
     * (default) or a token address (checked, registered on first use); `areaId`: refuse a tariff that
     * area's fixed asset cannot use.
     */
    body: { effectiveFrom: number; prices: string[]; asset?: string; areaId?: number }
    answer: TariffPublished
  }
  utilityBills: { query: never; body: never; answer: { bills: LedgerBill[] } }
  /** `withdrawable`: Ether's, wei (as before tokens); `balances`: per asset, Ether first. */
  utilityBalance: { query: never; body: never; answer: { withdrawable: string; balances?: AssetBalance[] } }
  utilityToken: { query: { address: string }; body: never; answer: TokenCheck }
  /** `asset`: "eth" (default) or a registered token's address. */
  withdraw: { query: never; body: { to: string; asset?: string }; answer: Withdrawal }
  publishNotice: {
    query: never
    /** `kind`: the index in NOTICE_KINDS. */
    body: { areaId: number; kind: number; startsAt: number; endsAt: number; message: string }
    answer: Transaction
  }
  aggregates: { query: never; body: never; answer: Aggregates }
  /** `prices`: SLOTS decimal strings, the tariff's asset per exported Wh per slot. */
  publishFeedIn: {
    query: never
    body: { tariffId: number | string; prices: string[] }
    answer: FeedInPublished
  }
  utilityCredits: { query: never; body: never; answer: { credits: CarriedCredit[] } }
  /** `amount`: decimal string in the meter's asset; absent: the whole credit. */
  payCredit: { query: never; body: { amount?: string }; answer: CreditPaidOut }
  /** Redeems a one-time pairing code; the answer sets the session cookie. */
  pair: { query: never; body: { code: string; name?: string }; answer: { session: Principal } }
  session: { query: never; body: never; answer: { session: Principal } }
  logout: { query: never; body: never; answer: { ok: true } }
  sessions: { query: never; body: never; answer: { sessions: SessionInfo[] } }
  revokeSession: { query: never; body: never; answer: { ok: true } }
  tokens: { query: never; body: never; answer: { tokens: TokenInfo[] } }
  /** `token`: the secret, shown this once (stored hashed). */
  createToken: {
    query: never
    body: { name: string; role: Role }
    answer: { token: string; info: TokenInfo }
  }
  revokeToken: { query: never; body: never; answer: { ok: true } }
  createPairingCode: { query: never; body: { role?: Role }; answer: PairingCode }
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
  /** Who asks (resolved before the handler runs); undefined where a test serves routes without auth. */
  principal?: Principal | undefined
  /** The caller's network address (pairing's rate limit). */
  remoteAddress?: string | undefined
  /** The request came over HTTPS (the session cookie is then Secure, `__Host-` prefixed). */
  secure?: boolean
  /** Adds a header to the answer (the session cookie); HTTP's only way out of a handler. */
  setHeader?(name: string, value: string): void
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
