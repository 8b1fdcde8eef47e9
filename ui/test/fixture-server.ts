/**
 * Test scaffolding for the UI's own tests and its benchmark: a small HTTP server implementing the
 * docs/api.md endpoints the UI calls, over in-memory fixture data, plus the built UI as static
 * files and the SSE stream. The real end-to-end run against the node is ui/test/e2e.test.ts.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize } from 'node:path'

export const DAY = 86_400
/** The fixture meter's clock: a fixed UTC noon so charts and periods are reproducible. */
export const NOW = 1_764_072_000

export function reading(seq: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
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

export function bill(
  n: number,
  status: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const periodStart = NOW - (3 - n) * 30 * DAY
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
    chainBillId: `0x${'00'.repeat(31)}0${n}`,
    submitTx: status === 'proving' ? null : `0x${'cd'.repeat(31)}0${n}`,
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
  latest: Record<string, unknown> | undefined
  bills: Record<string, unknown>[]
  relays: { channel: number; name: string; on: boolean; pending: boolean }[]
  fanSpeed: number
  alarms: Record<string, unknown>[]
  notices: Record<string, unknown>[]
  rules: Record<string, unknown>
  aggregates: Record<string, unknown>
  /** GET /api/mesh (`{ enabled: false }` for a node started with --mesh false). */
  mesh: Record<string, unknown>
  /** What POST /api/mesh/restore answers. */
  restore: Record<string, unknown>
  devWallet: boolean
  /** Relay channels whose command the "meter" never confirms (→ 504). */
  unresponsive: Set<number>
  /** Requests received, "METHOD path" plus JSON body, for assertions. */
  requests: { method: string; path: string; body: unknown }[]
  tariffs: Record<string, unknown>[]
}

export function initialState(): FixtureState {
  return {
    latest: reading(1),
    bills: [bill(1, 'paid'), bill(2, 'verified'), bill(3, 'proving')],
    relays: RELAY_NAMES.map((name, i) => ({
      channel: i + 1,
      name,
      on: [0, 3, 7].includes(i),
      pending: false,
    })),
    fanSpeed: 2,
    alarms: [],
    notices: [
      {
        source: 'utility',
        kind: 'maintenance',
        message: 'Grid maintenance on Elm Street, short interruptions possible.',
        startsAt: '2026-11-25T08:00:00Z',
        endsAt: '2026-11-25T12:00:00Z',
        area: 1,
      },
      {
        source: 'neighbour',
        kind: 'fire',
        message: 'Fire alarm at a neighbouring home.',
        startsAt: '2026-11-24T10:00:00Z',
        endsAt: null,
        area: 1,
      },
    ],
    rules: {
      version: 1,
      revision: 3,
      utcOffsetMinutes: 0,
      overrideS: 3600,
      rules: [
        {
          id: 'ceiling-fan',
          kind: 'fanSteps',
          enabled: true,
          steps: [
            { atCenti: 2600, speed: 1 },
            { atCenti: 2800, speed: 2 },
            { atCenti: 3000, speed: 3 },
          ],
          hysteresisCenti: 50,
          minOnS: 60,
          minOffS: 60,
        },
        {
          id: 'air-conditioner',
          kind: 'thermostat',
          enabled: true,
          relay: 2,
          onAtCenti: 3100,
          offAtCenti: 2800,
          minOnS: 300,
          minOffS: 180,
        },
        {
          id: 'night-light',
          kind: 'nightLight',
          enabled: true,
          relay: 4,
          onBelow: 50,
          offAbove: 120,
          window: { from: '18:00', to: '07:00' },
          minOnS: 60,
          minOffS: 60,
        },
      ],
    },
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
    tariffs: [{ tariffId: '1', effectiveFrom: 0, prices: Array.from({ length: 96 }, () => '1000000000000') }],
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
  emit(event: string, data: unknown): void
  clients(): number
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function fail(res: ServerResponse, status: number, error: string, message: string): void {
  send(res, status, { error, message })
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : undefined
}

export async function startFixtureServer(options: {
  dist: string
  state?: FixtureState
  relayConfirmMs?: number
}): Promise<FixtureServer> {
  const state = options.state ?? initialState()
  const streams = new Set<ServerResponse>()
  const emit = (event: string, data: unknown) => {
    for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname
    const method = req.method ?? 'GET'
    const input = method === 'GET' ? undefined : await body(req)
    state.requests.push({ method, path, body: input })
    const payMatch = /^\/api\/bills\/([^/]+)\/pay$/.exec(path)
    const retryMatch = /^\/api\/bills\/([^/]+)\/retry$/.exec(path)
    const relayMatch = /^\/api\/relays\/(\d+)$/.exec(path)
    const ackMatch = /^\/api\/alarms\/([^/]+)\/ack$/.exec(path)
    if (path === '/api/stream') {
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
    if (path === '/api/status')
      return send(res, 200, {
        ready: true,
        version: '0.1.0',
        dev: true,
        uptimeSeconds: 12,
        meter: {
          address: '0x1111111111111111111111111111111111111111',
          topic: 'zkm_1111111111111111111111111111111111111111',
          online: true,
          lastSeenAt: '2026-11-24T12:00:00Z',
          simulated: true,
        },
        chain: {
          chainId: '31337',
          rpcUrl: CHAIN.rpcUrl,
          ledger: CHAIN.ledger,
          household: '0x2222222222222222222222222222222222222222',
          devWallet: state.devWallet,
        },
        mqtt: { url: 'mqtt://127.0.0.1:1883' },
        circuit: { profile: 'test', n: 192, slots: 96 },
      })
    if (path === '/api/chain') return send(res, 200, CHAIN)
    if (path === '/api/readings/latest')
      return state.latest
        ? send(res, 200, { reading: state.latest })
        : fail(res, 404, 'NotFoundError', 'no reading yet')
    if (path === '/api/summary/today')
      return send(res, 200, {
        day: NOW - (NOW % DAY),
        energyWh: 8_421,
        costWei: '8421000000000000',
        powerW: 1500,
      })
    if (path === '/api/readings') {
      const from = Number(url.searchParams.get('from'))
      const to = Number(url.searchParams.get('to'))
      const step = url.searchParams.get('resolution') === 'day' ? DAY : 3600
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
      return send(res, 200, { from, to, resolution: url.searchParams.get('resolution'), points })
    }
    if (path === '/api/bills') return send(res, 200, { bills: state.bills })
    if (payMatch && method === 'POST') {
      const b = state.bills.find((x) => x.id === decodeURIComponent(payMatch[1]!))
      if (!b) return fail(res, 404, 'NotFoundError', 'no such bill')
      if (!state.devWallet)
        return fail(res, 403, 'ForbiddenError', 'the dev wallet exists only on the embedded dev chain')
      if (b.status !== 'verified')
        return fail(res, 409, 'BillNotPayableError', `the bill is ${b.status}, not verified`)
      b.status = 'paid'
      b.paidTx = `0x${'77'.repeat(32)}`
      setTimeout(() => emit('bill', b), 20)
      return send(res, 200, { txHash: b.paidTx, bill: b })
    }
    if (retryMatch && method === 'POST') {
      const b = state.bills.find((x) => x.id === decodeURIComponent(retryMatch[1]!))
      if (!b) return fail(res, 404, 'NotFoundError', `no bill with id ${retryMatch[1]}`)
      if (b.status !== 'failed')
        return fail(
          res,
          409,
          'HttpError',
          `bill ${b.id} is ${b.status}, not failed: the node is working on it`,
        )
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
      return send(res, 200, { bill: b })
    }
    if (path === '/api/relays') return send(res, 200, { relays: state.relays, fanSpeed: state.fanSpeed })
    if (relayMatch && method === 'POST') {
      const channel = Number(relayMatch[1])
      const relay = state.relays.find((r) => r.channel === channel)
      if (!relay) return fail(res, 404, 'NotFoundError', 'no such relay')
      const on = (input as { on: boolean }).on
      await new Promise((r) => setTimeout(r, options.relayConfirmMs ?? 150))
      if (state.unresponsive.has(channel))
        return fail(res, 504, 'DeviceTimeoutError', `the meter did not confirm POWER${channel} within 5 s`)
      relay.on = on
      emit('relay', { channel, on })
      return send(res, 200, { channel, on, confirmed: true })
    }
    if (path === '/api/fan' && method === 'POST') {
      state.fanSpeed = (input as { speed: number }).speed
      emit('relay', { fanSpeed: state.fanSpeed })
      return send(res, 200, { speed: state.fanSpeed, confirmed: true })
    }
    if (path === '/api/rules' && method === 'GET') return send(res, 200, state.rules)
    if (path === '/api/rules' && method === 'PUT') {
      const doc = input as {
        revision: number
        rules: { kind: string; onAtCenti?: number; offAtCenti?: number }[]
      }
      const ac = doc.rules.find((r) => r.kind === 'thermostat')
      if (ac && (ac.offAtCenti ?? 0) >= (ac.onAtCenti ?? 0))
        return fail(
          res,
          400,
          'RuleValidationError',
          'ruleSet.rules[1].offAtCenti: must be below onAtCenti (the gap is the hysteresis)',
        )
      state.rules = { ...doc, revision: doc.revision + 1 }
      return send(res, 200, state.rules)
    }
    if (path === '/api/command' && method === 'POST') {
      const text = (input as { text: string }).text
      if (/main lights/.test(text)) {
        state.relays[2]!.on = /on/.test(text)
        emit('relay', { channel: 3, on: state.relays[2]!.on })
        return send(res, 200, {
          intent: { kind: 'relay', channel: 3 },
          answer: `Main lights are ${state.relays[2]!.on ? 'on' : 'off'}.`,
        })
      }
      return send(res, 200, { intent: { kind: 'unknown' }, answer: "Sorry, I don't know that command." })
    }
    if (path === '/api/alarms') return send(res, 200, { alarms: state.alarms })
    if (ackMatch && method === 'POST') {
      const alarm = state.alarms.find((a) => a.id === decodeURIComponent(ackMatch[1]!))
      if (!alarm) return fail(res, 404, 'NotFoundError', 'no such alarm')
      alarm.state = 'acknowledged'
      emit('alarm', alarm)
      return send(res, 200, { alarm })
    }
    if (path === '/api/mesh' && method === 'GET') return send(res, 200, state.mesh)
    if (path === '/api/mesh/restore' && method === 'POST')
      return state.mesh.enabled
        ? send(res, 200, state.restore)
        : fail(res, 409, 'HttpError', 'the mesh is disabled (--mesh false): no neighbour holds backups')
    if (path === '/api/notices') return send(res, 200, { notices: state.notices })
    if (path === '/api/privacy')
      return send(res, 200, {
        published: state.bills
          .filter((b) => b.submitTx)
          .map((b) => ({
            billId: b.id,
            periodStart: b.periodStart,
            periodEnd: b.periodEnd,
            commitment: b.commitment,
            cidDigest: b.cidDigest,
            manifestCid: b.manifestCid,
            total: b.total,
            energyWh: b.energyWh,
            submitTx: b.submitTx,
          })),
        private: [
          'interval readings (every 15 minutes)',
          'live power, voltage and current',
          'the commitment salts',
          'the vault root key',
        ],
        grants: [],
      })
    if (path === '/api/grants' && method === 'POST') {
      const { billId, recipientPublicKey } = input as { billId: string; recipientPublicKey: string }
      const b = state.bills.find((x) => x.id === billId)
      if (!b) return fail(res, 404, 'NotFoundError', 'no such bill')
      return send(res, 200, {
        grant: {
          manifestCid: b.manifestCid,
          recipient: recipientPublicKey,
          createdAt: '2026-11-24T12:00:00Z',
        },
      })
    }
    if (path === '/api/utility/meters' && method === 'GET')
      return send(res, 200, {
        meters: [
          {
            meter: '0x1111111111111111111111111111111111111111',
            household: '0x2222222222222222222222222222222222222222',
            areaId: 1,
            active: true,
          },
        ],
      })
    if (path === '/api/utility/meters' && method === 'POST') return send(res, 200, { ok: true })
    if (path === '/api/utility/tariffs' && method === 'GET') return send(res, 200, { tariffs: state.tariffs })
    if (path === '/api/utility/tariffs' && method === 'POST') {
      const t = input as { effectiveFrom: number; prices: string[] }
      if (t.prices.length !== 96) return fail(res, 400, 'WrongPriceCount', 'expected 96 prices')
      state.tariffs.push({ tariffId: String(state.tariffs.length + 1), ...t })
      return send(res, 200, { tariffId: String(state.tariffs.length) })
    }
    if (path === '/api/utility/bills')
      return send(res, 200, {
        bills: state.bills
          .filter((b) => b.total)
          .map((b) => ({
            billId: b.chainBillId,
            meter: '0x1111111111111111111111111111111111111111',
            periodStart: b.periodStart,
            periodEnd: b.periodEnd,
            energyWh: b.energyWh,
            total: b.total,
            paid: b.status === 'paid',
          })),
      })
    if (path === '/api/utility/balance') return send(res, 200, { balance: '10234000000000000' })
    if (path === '/api/utility/withdraw' && method === 'POST')
      return send(res, 200, { txHash: `0x${'99'.repeat(32)}` })
    if (path === '/api/utility/notices' && method === 'POST') return send(res, 200, { ok: true })
    if (path === '/api/utility/aggregates') return send(res, 200, state.aggregates)
    return fail(res, 404, 'NotFoundError', `no route ${method} ${path}`)
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
    handled.catch((error: unknown) => fail(res, 500, 'InternalError', String(error)))
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
