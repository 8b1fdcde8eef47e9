/**
 * bench:api — what authentication costs a request, on loopback against the node's own HTTP layer,
 * authorizer and route handlers over in-memory services (test/support/fake-node.ts):
 *   api_auth_p95_ms / p50   GET /api/relays with a bearer token, sequential keep-alive requests
 *   api_session_p95_ms      the same with a session cookie (a paired browser)
 *   authorize_us            the authorizer alone per call (header parse, SHA-256, lookup, role)
 * BENCH_REQUESTS sets the request count (default 2000, after 200 warm-up requests).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAuthorizer } from '../node/src/auth/authorize.ts'
import { startFakeNode } from '../test/support/fake-node.ts'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000)

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

async function timings(url: string, headers: Record<string, string>): Promise<number[]> {
  for (let i = 0; i < 200; i++) await (await fetch(url, { headers })).arrayBuffer()
  const times: number[] = []
  for (let i = 0; i < REQUESTS; i++) {
    const start = performance.now()
    const res = await fetch(url, { headers })
    await res.arrayBuffer()
    times.push(performance.now() - start)
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`)
  }
  return times.sort((a, b) => a - b)
}

const dist = await mkdtemp(join(tmpdir(), 'zkmeter-bench-api-'))
const node = await startFakeNode({ dist })
try {
  const url = `${node.url}/api/relays`
  const { token } = await node.auth.createToken('bench', 'resident')
  const bearer = await timings(url, { authorization: `Bearer ${token}` })
  const cookie = await node.pair('read-only')
  const session = await timings(url, { cookie: cookie.header })

  const authorize = createAuthorizer(node.auth)
  const req = { headers: { authorization: `Bearer ${token}` } } as unknown as IncomingMessage
  const route = { method: 'GET', path: '/api/relays' }
  const calls = 100_000
  const start = performance.now()
  for (let i = 0; i < calls; i++) await authorize(req, route)
  const authorizeUs = ((performance.now() - start) * 1000) / calls

  const round = (n: number) => Math.round(n * 1000) / 1000
  const figures = {
    api_auth_p50_ms: round(quantile(bearer, 0.5)),
    api_auth_p95_ms: round(quantile(bearer, 0.95)),
    api_session_p95_ms: round(quantile(session, 0.95)),
    authorize_us: round(authorizeUs),
  }
  console.log(
    `GET /api/relays with a bearer token: p50 ${figures.api_auth_p50_ms} ms, p95 ${figures.api_auth_p95_ms} ms over ${REQUESTS} requests (target ≤ 2 ms)`,
  )
  console.log(
    `with a session cookie: p95 ${figures.api_session_p95_ms} ms; the authorizer alone: ${figures.authorize_us} µs per call`,
  )
  console.log(
    JSON.stringify({
      bench: 'api',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
} finally {
  await node.close()
  await rm(dist, { recursive: true, force: true })
}
