/**
 * Test scaffolding for the UI's own tests and its benchmark: a small HTTP server implementing the
 * node's routes (protocol/api/routes.ts) over in-memory fixture data, plus the built UI as static
 * files and the SSE stream. Its handlers are typed as the node's `RouteHandlers`, so an answer
 * that drifts from the contract is a type error; where it mirrors the node (the default rules and
 * their validation) it uses the node's own code. The real end-to-end run against the node is
 * ui/test/e2e.test.ts.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'
import {
  ROUTES,
  type RouteBody,
  type RouteHandlers,
  type RouteKey,
  STREAM_PATH,
  type StreamEventName,
  type StreamEvents,
} from '#protocol/api/routes.ts'
import type {
  Aggregates,
  Alarm,
  Bill,
  BillStatus,
  LedgerTariff,
  MeshReport,
  MeshRestoreReport,
  Notice,
  Reading,
  RelayState,
  RuleSet,
} from '#protocol/api/types.ts'
import {
  DEFAULT_RULE_SET,
  RuleValidationError,
  validateRuleSet,
} from '../../node/src/automation/rule-schema.ts'

export const DAY = 86_400
/** The fixture meter's clock: a fixed UTC noon so charts and periods are reproducible. */
export const NOW = 1_764_072_000

export function reading(seq: number, overrides: Partial<Reading> = {}): Reading {
  return {
    seq,
    kind: 'live',
    time: NOW + seq,
    energyWh: 1_234_567 + seq,
    intervalWh: 312,
    powerW: 1500 + (seq % 7) * 10,
    voltageV: 230.1,
    currentA: 6.52,
    powerFactor: 0.98,
    temperatureC: 24.5,
    light: 0.042,
    gas: 0.001,
    water: 0,
    hazards: { flame: false, gas: false, water: false },
    relays: [true, false, false, true, false, false, false, true],
    fanSpeed: 2,
    ...overrides,
  }
}

export function bill(n: number, status: BillStatus, overrides: Partial<Bill> = {}): Bill {
  const periodStart = NOW - (3 - n) * 30 * DAY
  // Like the node: a bill has a ledger id and a transaction once it has been submitted.
  const submitted = status !== 'proving'
  return {
    id: `0xmeter-${periodStart}`,
    periodStart,
    periodEnd: periodStart + 30 * DAY,
    energyWh: 10_234 * n,
    total: status === 'proving' ? null : String(10_234_000_000_000_000n * BigInt(n)),
    status,
    commitment: `12345678901234567890123456789012345678901234567890${n}`,
    manifestCid: `bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52z${n}`,
    cidDigest: `0x${'ab'.repeat(31)}0${n}`,
    tariffId: '1',
    chainBillId: submitted ? `0x${'00'.repeat(31)}0${n}` : null,
    submitTx: submitted ? `0x${'cd'.repeat(31)}0${n}` : null,
    paidTx: status === 'paid' ? `0x${'ef'.repeat(31)}0${n}` : null,
    error: null,
    failure: null,
    nextAttemptAt: null,
    waitingFor: null,
    retryable: status === 'failed',
    ...overrides,
  }
}

export const CHAIN = {
  chainId: '31337',
  chainIdHex: '0x7a69',
  chainName: 'zkmeter dev chain',
  rpcUrl: 'http://127.0.0.1:8545',
  ledger: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  payBillAbi: 'function payBill(bytes32 billId) payable',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
}

const METER = '0x1111111111111111111111111111111111111111'
const HOUSEHOLD = '0x2222222222222222222222222222222222222222'

const RELAY_NAMES = [
  'Ceiling fan',
  'Air conditioner',
  'Main lights',
  'Night light',
  'Vent fan',
  'Sprinkler valve',
  'Buzzer',
  'Appliance circuits',
]

export interface FixtureState {
  latest: Reading | undefined
  bills: Bill[]
  relays: RelayState[]
  fanSpeed: number
  alarms: Alarm[]
  notices: Notice[]
  rules: RuleSet
  aggregates: Aggregates
  /** GET /api/mesh (`{ enabled: false }` for a node started with --mesh false). */
  mesh: MeshReport
  /** What POST /api/mesh/restore answers. */
  restore: MeshRestoreReport
  devWallet: boolean
  /** Relay channels whose command the "meter" never confirms (→ 504). */
  unresponsive: Set<number>
  /** Requests received, "METHOD path" plus JSON body, for assertions. */
  requests: { method: string; path: string; body: unknown }[]
  tariffs: LedgerTariff[]
}

export function initialState(): FixtureState {
  return {
    latest: reading(1),
    bills: [bill(1, 'paid'), bill(2, 'verified'), bill(3, 'proving')],
    relays: RELAY_NAMES.map((name, i) => ({
      channel: i + 1,
      name,
      on: [0, 3, 7].includes(i),
      known: true,
    })),
    fanSpeed: 2,
    alarms: [],
    notices: [
      {
        source: 'utility',
        via: 'chain',
        kind: 1,
        message: 'Grid maintenance on Elm Street, short interruptions possible.',
        startsAt: 1_764_057_600,
        endsAt: 1_764_072_000,
        area: 1,
      },
      {
        source: 'neighbour',
        via: 'mesh',
        id: 'alert-0xb2b2-1763978400',
        kind: 'fire',
        message: 'Fire alarm at a neighbouring home.',
        startsAt: 1_763_978_400,
        endsAt: 1_763_982_000,
        area: 1,
        meter: `0x${'b2'.repeat(20)}`,
      },
    ],
    rules: { ...structuredClone(DEFAULT_RULE_SET), revision: 3 },
    aggregates: {
      available: false,
      reason: 'the mesh has fewer than 3 members in area 1, too few to hide any one home',
    },
    mesh: {
      enabled: true,
      running: true,
      peerId: '12D3KooWHomeAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1',
      area: 1,
      listen: ['/ip4/127.0.0.1/tcp/4101'],
      members: 3,
      connectedAreaPeers: 2,
      signing: true,
      observer: false,
      alertsSent: 0,
      alertsReceived: 1,
      noticesReceived: 1,
      noticesRejected: 0,
      sharesContributed: 42,
      sharesSkipped: 3,
      roundsCollected: 0,
      roundsFailed: 0,
      lastAggregationError: null,
      backups: [
        {
          periodStart: NOW - 2 * DAY - (NOW % DAY),
          periodEnd: NOW - DAY - (NOW % DAY),
          manifestCid: 'bafyreibackupdone0000000000000000000000000000000000001',
          pinnedBy: [
            {
              peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
              meter: `0x${'b2'.repeat(20)}`,
              at: '2026-11-23T00:00:02Z',
            },
            {
              peerId: '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
              meter: `0x${'c3'.repeat(20)}`,
              at: '2026-11-23T00:00:03Z',
            },
          ],
          status: 'done',
          attempts: 1,
          lastError: null,
        },
        {
          periodStart: NOW - DAY - (NOW % DAY),
          periodEnd: NOW - (NOW % DAY),
          manifestCid: 'bafyreibackuppartial0000000000000000000000000000000002',
          pinnedBy: [
            {
              peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
              meter: `0x${'b2'.repeat(20)}`,
              at: '2026-11-24T00:00:02Z',
            },
          ],
          status: 'partial',
          attempts: 3,
          lastError: 'PinTimeoutError: 12D3KooWNeighbourC… did not confirm in 30 s',
        },
      ],
    },
    restore: {
      restored: [
        'bafyreibackupdone0000000000000000000000000000000000001',
        'bafyreibackuppartial0000000000000000000000000000000002',
      ],
      periods: [
        {
          manifestCid: 'bafyreibackupdone0000000000000000000000000000000000001',
          outcome: 'adopted',
          meter: '0x1111111111111111111111111111111111111111',
          periodStart: NOW - 2 * DAY - (NOW % DAY),
          periodEnd: NOW - DAY - (NOW % DAY),
          records: 96,
          reason: null,
          heldBy: [
            '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
            '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
          ],
        },
        {
          manifestCid: 'bafyreibackuppartial0000000000000000000000000000000002',
          outcome: 'present',
          meter: '0x1111111111111111111111111111111111111111',
          periodStart: NOW - DAY - (NOW % DAY),
          periodEnd: NOW - (NOW % DAY),
          records: 96,
          reason: null,
          heldBy: ['12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2'],
        },
        {
          manifestCid: 'bafyreiforeign000000000000000000000000000000000000003',
          outcome: 'refused',
          meter: null,
          periodStart: null,
          periodEnd: null,
          records: null,
          reason: 'ForeignManifestError',
          heldBy: ['12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3'],
        },
      ],
      neighbours: [
        {
          peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
          meter: `0x${'b2'.repeat(20)}`,
          listed: 2,
          error: null,
        },
        {
          peerId: '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
          meter: `0x${'c3'.repeat(20)}`,
          listed: 2,
          error: null,
        },
        {
          peerId: '12D3KooWNeighbourDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD4',
          meter: null,
          listed: null,
          error: 'list timed out after 10 s',
        },
      ],
    },
    devWallet: true,
    unresponsive: new Set(),
    requests: [],
    tariffs: [
      {
        tariffId: '1',
        effectiveFrom: '0',
        until: '18446744073709551615',
        tariffHash: '4242',
        prices: Array.from({ length: 96 }, () => '1000000000000'),
      },
    ],
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

export interface FixtureServer {
  url: string
  state: FixtureState
  /** Sends one SSE event to every connected client. */
  emit<N extends StreamEventName>(event: N, data: StreamEvents[N]): void
  clients(): number
  close(): Promise<void>
}

/** An error answer, as the node sends it: `{ error, message }` with the status. */
class FixtureHttpError extends Error {
  readonly status: number
  readonly error: string
  constructor(status: number, error: string, message: string) {
    super(message)
    this.status = status
    this.error = error
  }
}

const fail = (status: number, error: string, message: string): never => {
  throw new FixtureHttpError(status, error, message)
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : undefined
}

/** The route table compiled to patterns: which route key a request is for, and its params. */
const MATCHERS = (Object.keys(ROUTES) as RouteKey[]).map((key) => {
  const names: string[] = []
  const source = ROUTES[key].path.replace(/[.]/g, '\\.').replace(/:([A-Za-z]+)/g, (_, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  return { key, method: ROUTES[key].method, pattern: new RegExp(`^${source}$`), names }
})

function match(method: string, path: string): { key: RouteKey; params: Record<string, string> } | undefined {
  for (const m of MATCHERS) {
    const found = m.method === method ? m.pattern.exec(path) : null
    if (!found) continue
    const params: Record<string, string> = {}
    m.names.forEach((name, i) => {
      params[name] = decodeURIComponent(found[i + 1] as string)
    })
    return { key: m.key, params }
  }
  return undefined
}

/** The request body as the route declares it (the fake trusts the UI it tests). */
const bodyOf = <K extends RouteKey>(_key: K, body: unknown) => body as RouteBody<K>

export async function startFixtureServer(options: {
  dist: string
  state?: FixtureState
  relayConfirmMs?: number
}): Promise<FixtureServer> {
  const state = options.state ?? initialState()
  const streams = new Set<ServerResponse>()
  const emit = <N extends StreamEventName>(event: N, data: StreamEvents[N]) => {
    for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
  const findBill = (id: string) =>
    state.bills.find((b) => b.id === id) ?? fail(404, 'NotFoundError', `no bill with id ${id}`)

  const handlers: RouteHandlers = {
    status: async () => ({
      ready: true,
      version: '0.1.0',
      dev: true,
      uptimeSeconds: 12,
      meter: {
        address: METER,
        topic: `zkm_${METER.slice(2)}`,
        online: state.latest !== undefined,
        lastSeq: state.latest?.seq ?? null,
        ackedSeq: state.latest?.seq ?? null,
        simulated: true,
        simulatedTime: NOW,
      },
      chain: {
        chainId: CHAIN.chainId,
        rpcUrl: CHAIN.rpcUrl,
        ledger: CHAIN.ledger,
        household: HOUSEHOLD,
        devWallet: state.devWallet,
      },
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      circuit: { profile: 'test', n: 192, slots: 96 },
      mesh: state.mesh.enabled
        ? {
            enabled: true,
            running: state.mesh.running,
            area: state.mesh.area,
            peerId: state.mesh.peerId,
            members: state.mesh.members,
            connectedAreaPeers: state.mesh.connectedAreaPeers,
          }
        : { enabled: false },
    }),
    chain: async () => CHAIN,
    latestReading: async () =>
      state.latest
        ? { reading: state.latest }
        : fail(404, 'NotFoundError', 'no reading has arrived from the meter yet'),
    readings: async ({ query }) => {
      const from = Number(query.get('from'))
      const to = Number(query.get('to'))
      const resolution = query.get('resolution') === 'day' ? 'day' : 'hour'
      const step = resolution === 'day' ? DAY : 3600
      const points = []
      for (let t = from - (from % step) + step; t <= to; t += step) {
        const energyWh = Math.round((step / 3600) * (400 + 300 * Math.sin((t / 3600) * 0.5) ** 2))
        points.push({
          time: t,
          energyWh,
          costWei: String(BigInt(energyWh) * 1_000_000_000_000n),
          avgPowerW: energyWh,
          maxPowerW: energyWh * 2,
        })
      }
      return { from, to, resolution, points }
    },
    today: async () => ({
      day: NOW - (NOW % DAY),
      energyWh: 8_421,
      costWei: '8421000000000000',
      powerW: 1500,
    }),
    exportCsv: async () => 'time,energyWh\n',
    anomalies: async () => ({ counters: {}, anomalies: [] }),
    bills: async () => ({ bills: state.bills }),
    bill: async ({ params }) => ({ bill: findBill(params.id) }),
    payBill: async ({ params }) => {
      const b = findBill(params.id)
      if (!state.devWallet)
        fail(403, 'HttpError', 'the node pays only on the embedded dev chain; pay from your wallet in the UI')
      if (b.status !== 'verified')
        fail(409, 'HttpError', `bill ${b.id} is ${b.status}: only a verified, unpaid bill can be paid`)
      const txHash = `0x${'77'.repeat(32)}`
      Object.assign(b, { status: 'paid', paidTx: txHash })
      setTimeout(() => emit('bill', b), 20)
      return { txHash, bill: b }
    },
    retryBill: async ({ params }) => {
      const b = findBill(params.id)
      if (b.status !== 'failed')
        fail(409, 'HttpError', `bill ${b.id} is ${b.status}, not failed: the node is working on it`)
      Object.assign(b, { status: 'waiting-tariff', error: null, failure: null, retryable: false })
      // Like the node: proved, then verified on-chain; the bills held back behind it follow.
      setTimeout(() => emit('bill', Object.assign(b, { status: 'proving' })), 30)
      setTimeout(() => {
        emit('bill', Object.assign(b, { status: 'verified', total: '10234000000000000' }))
        for (const next of state.bills) {
          if (next.status === 'waiting-previous' && next.waitingFor === b.id)
            emit('bill', Object.assign(next, { status: 'verified', waitingFor: null }))
        }
      }, 120)
      return { bill: b }
    },
    relays: async () => ({ relays: state.relays, fanSpeed: state.fanSpeed }),
    setRelay: async ({ params, json }) => {
      const channel = Number(params.channel)
      const relay =
        state.relays.find((r) => r.channel === channel) ??
        fail(400, 'InvalidInputError', 'relay channel must be 1..8')
      const { on } = bodyOf('setRelay', await json())
      await new Promise((r) => setTimeout(r, options.relayConfirmMs ?? 150))
      if (state.unresponsive.has(channel))
        fail(504, 'HttpError', 'the meter did not confirm the command (timeout)')
      relay.on = on
      emit('relay', { channel, on })
      return { channel, on, confirmed: true }
    },
    setFan: async ({ json }) => {
      state.fanSpeed = bodyOf('setFan', await json()).speed
      emit('relay', { fanSpeed: state.fanSpeed })
      return { speed: state.fanSpeed, confirmed: true }
    },
    rules: async () => state.rules,
    // The node's own validation: the UI shows the node's own error for an invalid document.
    replaceRules: async ({ json }) => {
      let wanted: RuleSet
      try {
        wanted = validateRuleSet(await json())
      } catch (error) {
        if (error instanceof RuleValidationError) return fail(400, error.name, error.message)
        throw error
      }
      if (wanted.revision !== state.rules.revision)
        fail(409, 'HttpError', `the rules changed since you read them (revision ${state.rules.revision})`)
      state.rules = { ...wanted, revision: wanted.revision + 1 }
      return state.rules
    },
    putRule: async ({ params, json }) => {
      const rule = bodyOf('putRule', await json())
      const rules = [...state.rules.rules.filter((r) => r.id !== params.id), rule]
      state.rules = { ...state.rules, rules, revision: state.rules.revision + 1 }
      return state.rules
    },
    deleteRule: async ({ params }) => {
      const rules = state.rules.rules.filter((r) => r.id !== params.id)
      state.rules = { ...state.rules, rules, revision: state.rules.revision + 1 }
      return state.rules
    },
    command: async ({ json }) => {
      const { text } = bodyOf('command', await json())
      const lights = state.relays[2]!
      if (/main lights/.test(text)) {
        lights.on = /on/.test(text)
        emit('relay', { channel: 3, on: lights.on })
        return {
          intent: { kind: 'switch', targets: [{ name: 'main lights', channel: 3 }], on: lights.on },
          answer: `Main lights are ${lights.on ? 'on' : 'off'}.`,
        }
      }
      return { intent: { kind: 'unknown', help: '' }, answer: "Sorry, I don't know that command." }
    },
    alarms: async () => ({ alarms: state.alarms }),
    acknowledgeAlarm: async ({ params }) => {
      const alarm =
        state.alarms.find((a) => a.id === params.id) ?? fail(404, 'NotFoundError', 'no such alarm')
      alarm.state = 'acknowledged'
      emit('alarm', alarm)
      return { alarm }
    },
    notices: async () => ({ notices: state.notices }),
    mesh: async () => state.mesh,
    restoreFromMesh: async () =>
      state.mesh.enabled
        ? state.restore
        : fail(409, 'HttpError', 'the mesh is disabled (--mesh false): no neighbour holds backups'),
    privacy: async () => ({
      published: state.bills
        .filter((b) => b.chainBillId)
        .map((b) => ({
          id: b.id,
          billId: b.chainBillId ?? '',
          periodStart: b.periodStart,
          periodEnd: b.periodEnd,
          commitment: b.commitment,
          cidDigest: b.cidDigest,
          manifestCid: b.manifestCid,
          ...(b.total === null ? {} : { total: b.total }),
          energyWh: b.energyWh,
          ...(b.submitTx === null ? {} : { submitTx: b.submitTx }),
        })),
      private: [
        'interval readings (every 15 minutes)',
        'live power, voltage and current',
        'the commitment salts',
        'the vault root key',
      ],
      grants: [],
    }),
    grant: async ({ json }) => {
      const { billId, recipientPublicKey } = bodyOf('grant', await json())
      const b = findBill(billId)
      return {
        grant: {
          format: 'zkmeter-grant',
          version: 1,
          manifestCid: b.manifestCid,
          meter: METER,
          periodStart: b.periodStart,
          periodEnd: b.periodEnd,
          recipient: recipientPublicKey.slice(2),
          ephemeralPublicKey: '00'.repeat(32),
          nonce: '00'.repeat(24),
          wrappedKey: '00'.repeat(48),
        },
      }
    },
    utilityMeters: async () => ({
      meters: [
        {
          meter: METER,
          household: HOUSEHOLD,
          areaId: 1,
          registered: true,
          active: true,
          nextStart: String(NOW - (NOW % DAY)),
          nextCounter: '1234000',
        },
      ],
    }),
    registerMeter: async () => ({ txHash: `0x${'11'.repeat(32)}` }),
    utilityTariffs: async () => ({ tariffs: state.tariffs }),
    publishTariff: async ({ json }) => {
      const t = bodyOf('publishTariff', await json())
      if (t.prices.length !== 96)
        fail(400, 'InvalidInputError', 'prices must be 96 decimal strings (wei per Wh per slot)')
      const tariffId = String(state.tariffs.length + 1)
      state.tariffs.push({
        tariffId,
        effectiveFrom: String(t.effectiveFrom),
        until: '18446744073709551615',
        tariffHash: '4343',
        prices: t.prices,
      })
      return { tariffId, tariffHash: '4343', txHash: `0x${'22'.repeat(32)}` }
    },
    utilityBills: async () => ({
      bills: state.bills.flatMap((b) =>
        b.chainBillId && b.total !== null
          ? [
              {
                billId: b.chainBillId,
                meter: METER,
                household: HOUSEHOLD,
                areaId: 1,
                periodStart: b.periodStart,
                periodEnd: b.periodEnd,
                energyWh: String(b.energyWh),
                total: b.total,
                paid: b.status === 'paid',
                transactionHash: b.submitTx ?? '',
              },
            ]
          : [],
      ),
    }),
    utilityBalance: async () => ({ withdrawable: '10234000000000000' }),
    withdraw: async () => ({ txHash: `0x${'99'.repeat(32)}` }),
    publishNotice: async () => ({ txHash: `0x${'33'.repeat(32)}` }),
    aggregates: async () => state.aggregates,
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname
    const method = req.method ?? 'GET'
    if (path === STREAM_PATH) {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      })
      res.write(': connected\n\n')
      streams.add(res)
      req.on('close', () => streams.delete(res))
      return
    }
    const body = method === 'GET' ? undefined : await readBody(req)
    state.requests.push({ method, path, body })
    const route = match(method, path)
    if (!route) return send(res, 404, { error: 'NotFound', message: `no such endpoint: ${method} ${path}` })
    const handler = handlers[route.key] as (request: {
      params: Record<string, string>
      query: URLSearchParams
      json(): Promise<unknown>
    }) => Promise<unknown>
    try {
      const answer = await handler({ params: route.params, query: url.searchParams, json: async () => body })
      if (ROUTES[route.key].method === 'GET' && route.key === 'exportCsv') {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' })
        res.end(String(answer))
      } else send(res, 200, answer)
    } catch (error) {
      if (!(error instanceof FixtureHttpError)) throw error
      send(res, error.status, { error: error.error, message: error.message })
    }
  }

  async function file(res: ServerResponse, pathname: string): Promise<void> {
    const rel = normalize(pathname === '/' ? '/index.html' : decodeURIComponent(pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    )
    try {
      const data = await readFile(join(options.dist, rel))
      res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream' })
      res.end(data)
    } catch {
      res.writeHead(404).end()
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const handled = url.pathname.startsWith('/api/') ? api(req, res, url) : file(res, url.pathname)
    handled.catch((error: unknown) => send(res, 500, { error: 'InternalError', message: String(error) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    emit,
    clients: () => streams.size,
    close: async () => {
      for (const res of streams) res.end()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
