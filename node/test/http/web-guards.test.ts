/**
 * Attacks on the node's HTTP API from a browser's position (docs/security.md, "The web API"): a
 * DNS-rebinding page (a foreign Host), another site's forms and no-cors fetches (a foreign Origin,
 * Sec-Fetch-Site, form and text bodies), CORS preflights, and input that used to give a 500
 * (a malformed percent-encoding, 30,000-level JSON). Every refused request must change nothing.
 * Over the fake node: the node's own server and route handlers on in-memory services; requests are
 * written byte for byte (raw-http.ts), so headers are exactly what an attacker sends.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ROUTES, STREAM_PATH } from '#protocol/api/routes.ts'
import { type FakeNode, startFakeNode } from '../../../test/support/fake-node.ts'
import { defaultAllowedHosts, hostNameOf, normalizeHostName } from '../../src/http/guards.ts'
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/http/json-limits.ts'
import { inlineStyleHashes } from '../../src/http/security-headers.ts'
import {
  ALARM_ID,
  attackableState,
  FAILED_BILL,
  handledChanges,
  PAYABLE_BILL,
  snapshot,
  writeDist,
} from './attack-support.ts'
import { type RawRequest, rawRequest } from './raw-http.ts'

let dist: string
let node: FakeNode
let port: number

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkm-web-guards-'))
  await writeDist(dist)
  node = await startFakeNode({ dist, state: attackableState(), relayConfirmMs: 0 })
  session = (await node.pair('resident')).header
  port = Number(new URL(node.url).port)
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

beforeEach(() => {
  node.state.requests.length = 0
})

/** Every request carries a paired resident's session: the guards must hold for a victim's browser. */
let session: string
const send = (request: RawRequest) =>
  rawRequest(port, { ...request, headers: [...(request.headers ?? []), ['Cookie', session]] })
const json = (answer: { body: string }) => JSON.parse(answer.body) as { error: string; message: string }

/** Every state-changing route, with the JSON body that would make it act. */
const STATE_CHANGES: { method: string; path: string; body?: string }[] = [
  { method: 'POST', path: `/api/bills/${PAYABLE_BILL}/pay` },
  { method: 'POST', path: `/api/bills/${FAILED_BILL}/retry` },
  { method: 'POST', path: '/api/relays/4', body: '{"on":false}' },
  { method: 'POST', path: '/api/relays/6', body: '{"on":true}' },
  { method: 'POST', path: '/api/fan', body: '{"speed":3}' },
  { method: 'POST', path: '/api/mesh/restore' },
  { method: 'POST', path: `/api/alarms/${ALARM_ID}/ack` },
  { method: 'DELETE', path: '/api/rules/night-light' },
  { method: 'POST', path: '/api/command', body: '{"text":"turn on the sprinkler"}' },
]

/** Sends each state change with `headers` and checks every one is refused with `status` and `error`. */
async function expectAllRefused(
  headers: [string, string][],
  status: number,
  error: string,
  options: { host?: string; bodyType?: string } = {},
) {
  const before = snapshot(node.state)
  for (const change of STATE_CHANGES) {
    const answer = await send({
      method: change.method,
      path: change.path,
      ...(options.host ? { host: options.host } : {}),
      headers: [
        ...headers,
        ...(change.body
          ? ([['Content-Type', options.bodyType ?? 'application/json']] as [string, string][])
          : []),
      ],
      ...(change.body ? { body: change.body } : {}),
    })
    expect(answer.status, `${change.method} ${change.path}`).toBe(status)
    expect(json(answer).error).toBe(error)
  }
  expect(snapshot(node.state)).toBe(before)
  expect(handledChanges(node.state)).toEqual([])
}

describe('Host allowlist (DNS rebinding)', () => {
  it('refuses a foreign Host on every path, the stream and static files included', async () => {
    const reads = [
      '/api/status',
      '/api/readings/latest',
      '/api/export.csv',
      '/',
      '/index.html',
      '/assets/app.js',
    ]
    for (const path of [...reads, STREAM_PATH]) {
      const answer = await send({ path, host: `evil.test:${port}`, readBody: path !== STREAM_PATH })
      expect(answer.status, path).toBe(403)
      if (path !== STREAM_PATH) {
        expect(json(answer).error).toBe('ForeignHostError')
        expect(answer.body).not.toMatch(/powerW|energyWh|zkm-app/)
      }
    }
    expect(node.clients()).toBe(0)
  })

  it('refuses every state change that arrives with a foreign Host, even same-"origin" JSON', async () => {
    // What a rebound page sends: its own origin, which is now the node's address.
    await expectAllRefused([['Origin', `http://evil.test:${port}`]], 403, 'ForeignHostError', {
      host: `evil.test:${port}`,
    })
    await expectAllRefused([], 403, 'ForeignHostError', { host: 'localhost.evil.test' })
  })

  it('refuses a request that names no host, or a malformed one', async () => {
    expect((await send({ path: '/api/status', host: '' })).status).toBe(403)
    expect((await send({ path: '/api/status', host: 'a b' })).status).toBeGreaterThanOrEqual(400)
    const http10 = await rawRequest(port, { path: '/api/status', host: null })
    expect(http10.status).toBe(400) // node:http itself refuses an HTTP/1.1 request without Host
  })

  it('answers the loopback names and the bound address, with any port', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      '127.0.0.1',
    ]) {
      expect((await send({ path: '/api/status', host })).status, host).toBe(200)
    }
  })

  it('builds the default list from the bound address', () => {
    expect(defaultAllowedHosts()).toEqual(['localhost', '127.0.0.1', '[::1]'])
    expect(defaultAllowedHosts('192.168.1.20')).toContain('192.168.1.20')
    expect(defaultAllowedHosts('fe80::1')).toContain('[fe80::1]')
    // On all interfaces: each interface's address (an IP literal cannot be rebound), loopback first.
    expect(defaultAllowedHosts('0.0.0.0')).toEqual(expect.arrayContaining(['localhost', '127.0.0.1']))
    expect(normalizeHostName('::1')).toBe('[::1]')
    expect(hostNameOf('[::1]:8787')).toBe('[::1]')
    expect(hostNameOf('Node.Local:443')).toBe('node.local')
    expect(hostNameOf('evil.test:80:80')).toBeUndefined()
    expect(hostNameOf('a/b')).toBeUndefined()
  })
})

describe('Origin and fetch metadata on state changes (CSRF from other sites)', () => {
  it('refuses a state change from another origin: another site, another port, a sandbox', async () => {
    for (const origin of [
      'http://evil.test',
      `http://localhost:${port + 1}`,
      `https://127.0.0.1:${port}`,
      'null',
    ]) {
      await expectAllRefused([['Origin', origin]], 403, 'CrossOriginRequestError')
    }
  })

  it('refuses a state change a cross-site or same-site page sent without an Origin', async () => {
    for (const site of ['cross-site', 'same-site']) {
      await expectAllRefused([['Sec-Fetch-Site', site]], 403, 'CrossOriginRequestError')
    }
  })

  it('refuses form and text bodies (what a form or a no-cors fetch can send), from anyone', async () => {
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain',
    ]) {
      await expectAllRefused([['Content-Type', type]], 415, 'UnsupportedBodyTypeError', { bodyType: type })
    }
    // A body without a type is not JSON either.
    const before = snapshot(node.state)
    const answer = await send({ method: 'POST', path: `/api/bills/${PAYABLE_BILL}/pay`, body: 'x=1' })
    expect(answer.status).toBe(415)
    expect(snapshot(node.state)).toBe(before)
  })

  it('refuses API reads by other sites, but lets them link to the node', async () => {
    const crossSite: [string, string][] = [['Sec-Fetch-Site', 'cross-site']]
    const read = await send({ path: '/api/status', headers: [...crossSite, ['Sec-Fetch-Mode', 'no-cors']] })
    expect(read.status).toBe(403)
    const cors = await send({ path: '/api/status', headers: [...crossSite, ['Sec-Fetch-Mode', 'cors']] })
    expect(cors.status).toBe(403)
    const link = await send({ path: '/', headers: [...crossSite, ['Sec-Fetch-Mode', 'navigate']] })
    expect(link.status).toBe(200)
  })

  it('lets the node’s own pages and non-browser clients change state', async () => {
    const own: [string, string][][] = [
      [
        ['Origin', `http://127.0.0.1:${port}`],
        ['Sec-Fetch-Site', 'same-origin'],
      ],
      [['Origin', `http://LOCALHOST:${port}`]],
      [['Sec-Fetch-Site', 'none']],
      [], // the CLI, Home Assistant, curl: no Origin, no fetch metadata (they carry a token instead)
    ]
    for (const headers of own) {
      const host = headers.some(([, v]) => v.includes('LOCALHOST')) ? `localhost:${port}` : undefined
      const answer = await send({
        method: 'POST',
        path: '/api/relays/6',
        ...(host ? { host } : {}),
        headers: [...headers, ['Content-Type', 'application/json; charset=utf-8']],
        body: '{"on":true}',
      })
      expect(answer.status, JSON.stringify(headers)).toBe(200)
    }
    expect(node.state.relays[5]?.on).toBe(true)
    node.state.relays[5] = { channel: 6, on: false, known: true }
  })
})

describe('no CORS', () => {
  it('refuses preflights without running a handler, and never sends Access-Control-Allow-*', async () => {
    for (const route of Object.values(ROUTES)) {
      const path = route.path.replace(/:[A-Za-z]+/g, '1')
      const preflight = await send({
        method: 'OPTIONS',
        path,
        headers: [
          ['Origin', 'http://evil.test'],
          ['Access-Control-Request-Method', route.method],
          ['Access-Control-Request-Headers', 'content-type'],
        ],
      })
      expect(preflight.status, path).toBe(403)
      expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([])
      const plain = await send({ method: 'OPTIONS', path })
      expect(plain.status).toBe(405)
      const read = await send({ path, headers: [['Origin', 'http://evil.test']] })
      expect(Object.keys(read.headers).filter((h) => h.startsWith('access-control-'))).toEqual([])
    }
    expect(handledChanges(node.state)).toEqual([])
  })
})

describe('security headers', () => {
  const COMMON = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-frame-options': 'DENY',
  }

  it('are on every answer: API, download, errors, refusals, static files, the stream, unparsable requests', async () => {
    const answers = {
      api: await send({ path: '/api/status' }),
      csv: await send({ path: '/api/export.csv' }),
      notFound: await send({ path: '/api/nope' }),
      foreignHost: await send({ path: '/api/status', host: 'evil.test' }),
      foreignOrigin: await send({
        method: 'POST',
        path: '/api/fan',
        headers: [['Origin', 'http://evil.test']],
      }),
      page: await send({ path: '/' }),
      asset: await send({ path: '/assets/app.js' }),
      stream: await send({ path: STREAM_PATH, readBody: false }),
      garbage: await send({ path: '/api/status', headers: [['Content-Length', 'abc']] }),
    }
    for (const [what, answer] of Object.entries(answers)) {
      expect(answer.headers, what).toMatchObject(COMMON)
      expect(answer.headers['permissions-policy'], what).toMatch(/^microphone=\(self\), camera=\(\)/)
      expect(answer.headers['content-security-policy'], what).toMatch(/frame-ancestors 'none'/)
      expect(answer.headers['content-security-policy'], what).not.toMatch(
        /unsafe-eval|script-src[^;]*unsafe-inline/,
      )
    }
    expect(answers.api.headers['content-security-policy']).toMatch(/^default-src 'none'/)
    expect(answers.garbage.status).toBe(400)
    // The UI's page: its own scripts only, its inline <style> by hash.
    const [hash] = inlineStyleHashes(answers.page.body)
    expect(hash).toMatch(/^sha256-/)
    expect(answers.page.headers['content-security-policy']).toContain(`style-src 'self' '${hash}'`)
    expect(answers.page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/)
    // No inline style either, attributes included (issue 14: the templates' style="" became classes).
    expect(answers.page.headers['content-security-policy']).not.toMatch(/unsafe-inline/)
    expect(answers.page.headers['content-security-policy']).toMatch(/style-src-attr 'none'(;|$)/)
  })
})

describe('bad input never gives a 500', () => {
  it('answers a malformed percent-encoding in a path with a named 400', async () => {
    for (const path of [
      '/api/bills/%E0%A4%A',
      '/api/bills/%ZZ/pay',
      '/api/rules/%C0',
      '/%E0%A4%A',
      '/assets/%',
    ]) {
      const method = path.endsWith('/pay') ? 'POST' : 'GET'
      const answer = await send({ method, path })
      expect(answer.status, path).toBe(400)
      expect(json(answer).error).toBe('MalformedPathError')
    }
  })

  it('refuses JSON nested 30,000 levels deep on PUT /api/rules with a 400, changing nothing', async () => {
    const before = snapshot(node.state)
    for (const depth of [30_000, MAX_JSON_DEPTH + 1]) {
      const body = `${'['.repeat(depth)}${']'.repeat(depth)}`
      const answer = await send({
        method: 'PUT',
        path: '/api/rules',
        headers: [['Content-Type', 'application/json']],
        body: `{"version":1,"rules":${body}}`,
      })
      expect(answer.status, String(depth)).toBe(400)
      expect(json(answer)).toMatchObject({
        error: 'InvalidJsonError',
        message: expect.stringMatching(/deeper/),
      })
    }
    expect(snapshot(node.state)).toBe(before)
  })

  it('keeps the body size limit', async () => {
    const answer = await send({
      method: 'PUT',
      path: '/api/rules',
      headers: [['Content-Type', 'application/json']],
      body: `{"x":"${'y'.repeat(70 * 1024)}"}`,
    })
    expect(answer.status).toBe(413)
  })

  it('measures JSON nesting as JSON.parse sees it (strings and escapes skipped)', () => {
    const depthOf = (value: unknown): number =>
      value !== null && typeof value === 'object'
        ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf))
        : 0
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(jsonDepth(JSON.stringify(value))).toBe(depthOf(value))
      }),
      { numRuns: 300 },
    )
    expect(jsonDepth('{"a":"[[[{{\\"[["}')).toBe(1)
  })
})
