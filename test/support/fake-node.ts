/**
 * The household node's HTTP API for the UI's tests, its screenshots and its benchmark: the node's
 * own server, route handlers and live stream (node/src/http) over in-memory services holding
 * fixture data (fake-node/): only the services are fake, so every answer, status and error body
 * is the node's. Plus the built UI as static files, as the node serves it. The real end-to-end run
 * against a whole node is ui/test/e2e.test.ts.
 *
 *   const node = await startFakeNode({ dist })   // node.state: the fixture, changeable between requests
 *   node.emit('reading', reading(2))             // a live event, as the node would send it
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import type { StreamEventName, StreamEvents } from '#protocol/api/routes.ts'
import type { Role } from '#protocol/api/types.ts'
import { createAuthorizer } from '../../node/src/auth/authorize.ts'
import { type Auth, openAuth } from '../../node/src/auth/service.ts'
import type { RoutesContext } from '../../node/src/http/context.ts'
import { registerHandlers, routeHandlers } from '../../node/src/http/routes.ts'
import { createHttpApi, type HttpApi, SseHub } from '../../node/src/http/server.ts'
import { serveStatic } from '../../node/src/http/static.ts'
import { createDeviceRegistry } from '../../node/src/voice/devices.ts'
import { fakeBills } from './fake-node/bills.ts'
import { CHAIN, DAY, type FakeNodeState, HOUSEHOLD, initialState, METER, NOW } from './fake-node/fixtures.ts'
import { fakeAutomation } from './fake-node/home.ts'
import { fakeLedger } from './fake-node/ledger.ts'
import { fakeMesh } from './fake-node/mesh.ts'
import { fakePrivacy } from './fake-node/privacy.ts'
import { fakeReadings } from './fake-node/readings.ts'
import { fakeRules } from './fake-node/rules.ts'

export { bill, DAY, type FakeNodeState, initialState, METER, NOW, reading } from './fake-node/fixtures.ts'

export interface FakeNode {
  url: string
  state: FakeNodeState
  /** Sends one live event to every connected client. */
  emit<N extends StreamEventName>(event: N, data: StreamEvents[N]): void
  /** Clients connected to the live stream. */
  clients(): number
  /** The node's HTTP server (attack tests watch every request it answers, refused ones included). */
  server: HttpApi['server']
  /** The node's auth, as on a real node: every API call needs a session or a token. */
  auth: Auth
  /** A resident bearer token (the node's admin token) for a test's own requests. */
  token: string
  /** `Authorization` headers with `token`, for fetch. */
  headers: { authorization: string }
  /** Pairs like a browser (a fresh code, POST /api/pair); the session cookie `name=value`. */
  pair(role?: Role): Promise<{ name: string; value: string; header: string }>
  close(): Promise<void>
}

/** The dev chain's utility account: the node holds it only on the embedded dev chain. */
const DEV_UTILITY = new Wallet(`0x${'5a'.repeat(32)}`)

/** The node's services over the fixture (getters: a test may switch the mesh or the dev wallet off). */
async function inMemoryContext(
  state: FakeNodeState,
  stream: SseHub,
  options: { relayConfirmMs: number; auth: Auth },
): Promise<{ context: RoutesContext; close(): Promise<void> }> {
  const publish = <N extends StreamEventName>(event: N, data: StreamEvents[N]) => stream.publish(event, data)
  const rules = await fakeRules(state)
  const context: RoutesContext = {
    config: { dev: true, timeZone: 'UTC' },
    identity: { meter: { address: METER } },
    ledger: fakeLedger(state),
    wallet: { address: HOUSEHOLD },
    get utility() {
      return state.devWallet ? DEV_UTILITY : undefined
    },
    chainId: BigInt(CHAIN.chainId),
    rpcUrl: CHAIN.rpcUrl,
    mqttUrl: 'mqtt://127.0.0.1:1883',
    circuit: { profile: 'test', n: 192, slots: 96, intervalSeconds: 900 },
    ...fakeReadings(state),
    ...fakeBills(state, (bill) => publish('bill', bill)),
    ...fakePrivacy(state),
    automation: fakeAutomation(state, publish, { confirmMs: options.relayConfirmMs }),
    rules: rules.store,
    devices: createDeviceRegistry(),
    meter: { clock: { now: () => NOW } },
    get mesh() {
      return fakeMesh(state)
    },
    // The tariff in force, as the node's priceAt reads it (96 slots of the UTC day).
    priceAt: (time) => {
      const prices = state.tariffs.at(-1)?.prices ?? []
      return BigInt(prices[Math.floor((time % DAY) / 900) % Math.max(1, prices.length)] ?? '0')
    },
    startedAt: Date.now() - 12_000,
    auth: options.auth,
  }
  return { context, close: rules.close }
}

/** Wraps `api` so every API request is noted in `requests` (method, path, and the body once read). */
function recordingRequests(api: HttpApi, requests: FakeNodeState['requests']): HttpApi {
  return {
    ...api,
    route(method, path, handler) {
      api.route(method, path, (request) => {
        const entry: FakeNodeState['requests'][number] = {
          method,
          path: new URL(request.req.url ?? '/', 'http://localhost').pathname,
          body: undefined,
        }
        requests.push(entry)
        return handler({
          ...request,
          async json() {
            entry.body = await request.json()
            return entry.body
          },
        })
      })
    },
  }
}

export async function startFakeNode(options: {
  /** The built UI to serve. */
  dist: string
  state?: FakeNodeState
  /** How long the "meter" takes to confirm a relay or fan command. */
  relayConfirmMs?: number
  /** Serve over HTTPS with this key and certificate (as the node does with --listen). */
  tls?: { key: string; cert: string }
}): Promise<FakeNode> {
  const state = options.state ?? initialState()
  const stream = new SseHub()
  const authDir = await mkdtemp(join(tmpdir(), 'zkm-fake-node-auth-'))
  const auth = await openAuth({ dataDir: authDir })
  const services = await inMemoryContext(state, stream, {
    relayConfirmMs: options.relayConfirmMs ?? 150,
    auth,
  })
  const api = createHttpApi({
    fallback: serveStatic(options.dist),
    authorize: createAuthorizer(auth),
    ...(options.tls ? { tls: options.tls } : {}),
  })
  registerHandlers(recordingRequests(api, state.requests), routeHandlers(services.context), stream)
  const { url } = await api.start()
  return {
    url,
    state,
    auth,
    token: auth.adminToken,
    headers: { authorization: `Bearer ${auth.adminToken}` },
    emit: (event, data) => stream.publish(event, data),
    clients: () => stream.size,
    server: api.server,
    async pair(role = 'resident') {
      const { code } = auth.issuePairingCode(role)
      const answer = await fetch(`${url}/api/pair`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      })
      const cookie = answer.headers.get('set-cookie')
      if (answer.status !== 200 || !cookie) throw new Error(`pairing failed: ${answer.status}`)
      const [pair] = cookie.split(';')
      const [name, value] = (pair as string).split('=') as [string, string]
      return { name, value, header: `${name}=${value}` }
    },
    async close() {
      await api.stop()
      await services.close()
      await rm(authDir, { recursive: true, force: true })
    },
  }
}
