/**
 * Bad input never gives a 500, and a refused request changes nothing: fast-check sends any method,
 * any path (every route of ROUTES with random parameter values and query strings, and garbage
 * paths), any headers (foreign and own hosts and origins, fetch metadata, body types, random ones)
 * and any body a client can write on a socket, to the node's own server and route handlers over
 * in-memory services (test/support/fake-node.ts). And no GET changes anything: ROUTES walked.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES, STREAM_PATH } from '#protocol/api/routes.ts'
import { type FakeNode, reading, startFakeNode } from '../../../test/support/fake-node.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitFor } from '../../../test/support/wait.ts'
import {
  ALARM_ID,
  attackableState,
  FAILED_BILL,
  PAYABLE_BILL,
  snapshot,
  writeDist,
} from './attack-support.ts'
import { type RawRequest, rawRequest } from './raw-http.ts'

let dist: string
let node: FakeNode
let port: number
/** The resident's paired browser: every fuzzed request carries its session, as a victim's would. */
let sessionCookie: string

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkm-fuzz-routes-'))
  await writeDist(dist)
  node = await startFakeNode({ dist, state: attackableState(), relayConfirmMs: 0 })
  port = Number(new URL(node.url).port)
  sessionCookie = (await node.pair('resident')).header
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

// ── what a client can send ─────────────────────────────────────────────────────────────────

const URL_CHARS = [...'abcXYZ019-._~!$&\'()*+,;=:@/?#[]%"<>\\^`{|}', 'é', '\u00ff']
const garbage = (max: number) => fc.string({ unit: fc.constantFrom(...URL_CHARS), maxLength: max })
const percent = fc.constantFrom('%E0%A4%A', '%', '%zz', '%C0%80', '%ED%A0%80', '%FF', '%00', '%2F', '%25')

/** A path param: a real id, a number, a percent-encoded string, or raw garbage. */
const param = fc.oneof(
  fc.constantFrom(PAYABLE_BILL, FAILED_BILL, ALARM_ID, '4', '6', '0', '9', '-1', '1e3', 'night-light'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.tuple(garbage(6), percent, garbage(6)).map((parts) => parts.join('').replace(/[/?#]/g, '')),
)
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?from=0&to=99999999999', '?resolution=day', '?all=true', '?since=-1', '?from=%E0%A4%A'),
  garbage(30).map((q) => `?${q}`),
)

const ROUTE_PATHS = [...Object.values(ROUTES).map((r) => r.path), STREAM_PATH]
const path = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(...ROUTE_PATHS), fc.array(param, { minLength: 2, maxLength: 2 }), query)
      .map(
        ([p, [a, b], q]) => `${p.replace(/:[A-Za-z]+/, a as string).replace(/:[A-Za-z]+/, b as string)}${q}`,
      ),
  },
  { weight: 1, arbitrary: garbage(40).map((p) => `/${p}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      '/api/',
      '/api//status',
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      'http://evil.test/api/status',
      '//evil.test/api/status',
    ),
  },
)

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
)

/** null: no Host header. */
const host = fc.oneof(
  { weight: 4, arbitrary: fc.constant<string | null>('own') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<string | null>(
      'localhost',
      '[::1]',
      'evil.test',
      'evil.test:80',
      'localhost.evil.test',
      '127.0.0.1.evil.test',
      '',
      null,
      '[::1',
      'a@b',
      '127.0.0.1:99999',
    ),
  },
)
/** Mostly what the node's own page or the CLI sends (so handlers run), often something hostile. */
const mostly = <T>(usual: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: usual }, { weight: 1, arbitrary: hostile })
const origin = mostly(
  fc.constantFrom<string | null>(null, 'own'),
  fc.constantFrom('http://evil.test', 'null', 'https://127.0.0.1', 'file://', 'garbage', 'http://localhost'),
)
const site = mostly(
  fc.constantFrom<string | null>(null, 'same-origin', 'none'),
  fc.constantFrom('same-site', 'cross-site', 'weird'),
)
const contentType = mostly(
  fc.constantFrom<string | null>(
    null,
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
  ),
  fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    ';;',
    '',
  ),
)
const RESERVED =
  /^(host|content-length|transfer-encoding|expect|connection|upgrade|origin|content-type|sec-fetch-site)$/i
/** Header bytes: printable, tab, latin-1 (obs-text), and control bytes the parser must refuse (no CR/LF: framing). */
const headerValue = fc.string({
  unit: fc
    .oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
      { weight: 1, arbitrary: fc.constantFrom(0x00, 0x01, 0x09, 0x0b, 0x7f) },
    )
    .map((c) => String.fromCharCode(c)),
  maxLength: 40,
})
const extraHeaders = fc.array(
  fc.tuple(
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => !RESERVED.test(n)),
    headerValue,
  ),
  { maxLength: 4 },
)

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
const body = fc.option(
  fc.oneof(
    fc.constantFrom(
      '{"on":true}',
      '{"on":false}',
      '{"speed":3}',
      '{"text":"turn on the sprinkler"}',
      '{"text":"status"}',
      '{}',
      '[]',
      'null',
      '{"on":',
      deep(30_000),
      `{"rules":${deep(40)}}`,
      '{"__proto__":{"on":true}}',
      'on=true',
      '\u0000\u00ff',
    ),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.string({ maxLength: 200 }),
  ),
  { freq: 2 },
)

/** Requests a route acts on (with the right body), so the headers decide between a change and none. */
const ACTING: { method: string; path: string; body: string | null }[] = [
  { method: 'POST', path: '/api/relays/4', body: '{"on":false}' },
  { method: 'POST', path: '/api/relays/6', body: '{"on":true}' },
  { method: 'POST', path: '/api/fan', body: '{"speed":1}' },
  { method: 'POST', path: `/api/bills/${PAYABLE_BILL}/pay`, body: null },
  { method: 'POST', path: `/api/bills/${FAILED_BILL}/retry`, body: null },
  { method: 'POST', path: `/api/alarms/${ALARM_ID}/ack`, body: null },
  { method: 'POST', path: '/api/mesh/restore', body: null },
  { method: 'POST', path: '/api/command', body: '{"text":"turn off the night light"}' },
  { method: 'DELETE', path: '/api/rules/night-light', body: null },
]
const request = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      method,
      path,
      host,
      origin,
      site,
      contentType,
      extraHeaders,
      body,
      withSession: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        acting: fc.constantFrom(...ACTING),
        host,
        origin,
        site,
        contentType,
        extraHeaders,
        withSession: fc.boolean(),
      })
      .map(({ acting, ...rest }) => ({ ...rest, ...acting })),
  },
)
type Generated = typeof request extends fc.Arbitrary<infer T> ? T : never

const OWN_HOSTS = new Set(['own', 'localhost', '[::1]'])

function toRaw(r: Generated): RawRequest {
  const headers: [string, string][] = []
  if (r.origin !== null) headers.push(['Origin', r.origin === 'own' ? `http://127.0.0.1:${port}` : r.origin])
  if (r.site !== null) headers.push(['Sec-Fetch-Site', r.site])
  if (r.contentType !== null) headers.push(['Content-Type', r.contentType])
  headers.push(...r.extraHeaders)
  if (r.withSession) headers.push(['Cookie', sessionCookie])
  return {
    method: r.method,
    path: r.path,
    host: r.host === 'own' ? `127.0.0.1:${port}` : r.host,
    headers,
    ...(r.body === null ? {} : { body: r.body }),
    // The answer's head is written when the handler is done (the stream's at once): enough to judge.
    readBody: false,
  }
}

/** A bill retried by a request is restarted by timers after the answer: let it settle first. */
async function settled(): Promise<void> {
  const retried = () => node.state.bills.find((b) => b.id === FAILED_BILL)?.status
  await waitFor(
    'the retried bill to settle',
    () => !['waiting-tariff', 'proving'].includes(retried() ?? ''),
    5_000,
  )
}

describe('fuzzing every route', () => {
  it(
    'answers anything a client can send below 500, and a refused request changes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          await settled()
          const before = snapshot(node.state)
          const answer = await rawRequest(port, toRaw(r))
          expect(answer.status, `${r.method} ${r.path}`).toBeLessThan(500)
          if (answer.status >= 300) expect(snapshot(node.state)).toBe(before)
          // A foreign Host is refused before anything else: no read, no change.
          if (!OWN_HOSTS.has(r.host ?? '')) expect(answer.status).toBeGreaterThanOrEqual(400)
          // A state change from a foreign origin never succeeds.
          const foreignOrigin = r.origin !== null && r.origin !== 'own'
          if (foreignOrigin && !['GET', 'HEAD'].includes(r.method))
            expect(answer.status).toBeGreaterThanOrEqual(400)
        }),
        { numRuns: 400 },
      )
    },
    scaledBudget(60_000),
  )
})

describe('GET changes nothing', () => {
  it('walks every GET route of ROUTES: no state changed, no event on the live stream', async () => {
    await settled()
    const controller = new AbortController()
    const stream = await fetch(`${node.url}${STREAM_PATH}`, {
      signal: controller.signal,
      headers: node.headers,
    })
    expect(stream.status).toBe(200)
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader()
    // The opening comment (a busy machine may deliver it in pieces: everything read is kept).
    let text = new TextDecoder().decode((await reader.read()).value)
    const before = snapshot(node.state)
    const gets = Object.entries(ROUTES).filter(([, r]) => r.method === 'GET')
    expect(gets.length).toBeGreaterThan(15)
    const params: Record<string, string> = { id: PAYABLE_BILL, channel: '4' }
    for (const [name, route] of gets) {
      const target = route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => params[key] ?? '1')
      for (const suffix of ['', '?all=true&from=0&to=99999999999']) {
        const answer = await fetch(`${node.url}${target}${suffix}`, { headers: node.headers })
        expect(answer.status, name).toBeLessThan(500)
        await answer.arrayBuffer()
      }
      expect(snapshot(node.state), name).toBe(before)
    }
    // The first event the stream carries is this one: the GETs published none.
    node.emit('reading', reading(99))
    // The first complete frame that is not a comment.
    const firstEvent = () =>
      text
        .split('\n\n')
        .slice(0, -1)
        .find((frame) => !frame.startsWith(':'))
    while (firstEvent() === undefined) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the live stream ended before the event')
      text += new TextDecoder().decode(value)
    }
    expect(firstEvent()).toMatch(/^id: \d+\nevent: reading\n/)
    controller.abort()
  })
})
