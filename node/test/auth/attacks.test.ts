/**
 * Attacks on the API without a credential the resident granted (issue 12): a caller on the same
 * machine or the LAN with no session or token, a revoked token, a read-only device trying a
 * resident's action, and a brute force of the pairing code. Over the fake node: the node's own
 * HTTP layer, authorizer and handlers on in-memory services (test/support/fake-node.ts); a handler
 * that never ran is one that changed nothing (`state.requests` notes every handler call).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ROUTES, STREAM_PATH } from '#protocol/api/routes.ts'
import { type FakeNode, startFakeNode } from '../../../test/support/fake-node.ts'

let dist: string
let node: FakeNode

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkmeter-auth-attacks-'))
})
afterAll(async () => {
  await rm(dist, { recursive: true, force: true })
})
beforeEach(async () => {
  await node?.close()
  node = await startFakeNode({ dist })
})
afterAll(async () => node?.close())

const json = { 'content-type': 'application/json' }

async function errorOf(answer: Response): Promise<string> {
  return ((await answer.json()) as { error: string }).error
}

describe('without a session or token', () => {
  it('reads no reading, no export and no stream (401, named, JSON)', async () => {
    for (const path of ['/api/readings/latest', '/api/export.csv', '/api/status', STREAM_PATH]) {
      const answer = await fetch(`${node.url}${path}`)
      expect(answer.status, path).toBe(401)
      expect(answer.headers.get('content-type')).toMatch(/application\/json/)
      expect(await errorOf(answer)).toBe('UnauthenticatedError')
    }
    expect(node.clients()).toBe(0)
  })

  it('switches no relay (401, the handler never runs, the relay keeps its state)', async () => {
    const before = structuredClone(node.state.relays)
    const answer = await fetch(`${node.url}/api/relays/4`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ on: false }),
    })
    expect(answer.status).toBe(401)
    expect(node.state.requests).toEqual([])
    expect(node.state.relays).toEqual(before)
  })

  it('refuses every API route of the contract except pairing', async () => {
    for (const [name, route] of Object.entries(ROUTES)) {
      const path = route.path.replace(/:[A-Za-z]+/g, '1')
      const answer = await fetch(`${node.url}${path}`, {
        method: route.method,
        headers: json,
        ...(route.method === 'GET' ? {} : { body: '{}' }),
      })
      if (name === 'pair')
        expect(answer.status).toBe(400) // no code: pairing is the one public route
      else expect(answer.status, `${route.method} ${route.path}`).toBe(401)
    }
    expect(node.state.requests.map((r) => r.path)).toEqual(['/api/pair'])
  })

  it('still serves the UI shell (static files are public)', async () => {
    const answer = await fetch(`${node.url}/`)
    expect(answer.status).not.toBe(401)
  })

  it('refuses a bearer token that was never issued, and a malformed Authorization header', async () => {
    for (const authorization of ['Bearer zkmt_not-a-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const answer = await fetch(`${node.url}/api/bills`, { headers: { authorization } })
      expect(answer.status, authorization).toBe(401)
    }
  })
})

describe('bearer tokens', () => {
  it('work until revoked, then 401', async () => {
    const { token, info } = await node.auth.createToken('home assistant', 'resident')
    const headers = { authorization: `Bearer ${token}` }
    expect((await fetch(`${node.url}/api/readings/latest`, { headers })).status).toBe(200)
    const revoke = await fetch(`${node.url}/api/tokens/${info.id}`, {
      method: 'DELETE',
      headers: node.headers,
    })
    expect(revoke.status).toBe(200)
    const after = await fetch(`${node.url}/api/readings/latest`, { headers })
    expect(after.status).toBe(401)
    expect(await errorOf(after)).toBe('UnauthenticatedError')
    const relay = await fetch(`${node.url}/api/relays/4`, {
      method: 'POST',
      headers: { ...headers, ...json },
      body: JSON.stringify({ on: false }),
    })
    expect(relay.status).toBe(401)
    expect(node.state.requests.filter((r) => r.path.startsWith('/api/relays'))).toEqual([])
  })

  it('are created once, listed without their secret, and never stored in clear', async () => {
    const create = await fetch(`${node.url}/api/tokens`, {
      method: 'POST',
      headers: { ...node.headers, ...json },
      body: JSON.stringify({ name: 'cli', role: 'read-only' }),
    })
    const created = (await create.json()) as { token: string; info: { id: string } }
    expect(created.token).toMatch(/^zkmt_[A-Za-z0-9_-]{43}$/)
    const list = await (await fetch(`${node.url}/api/tokens`, { headers: node.headers })).text()
    expect(list).toContain(created.info.id)
    expect(list).not.toContain(created.token)
  })
})

describe('a read-only device', () => {
  let cookie: string
  beforeEach(async () => {
    cookie = (await node.pair('read-only')).header
  })

  it('reads the dashboard and the stream', async () => {
    const headers = { cookie }
    expect((await fetch(`${node.url}/api/readings/latest`, { headers })).status).toBe(200)
    expect((await fetch(`${node.url}/api/bills`, { headers })).status).toBe(200)
    const session = await (await fetch(`${node.url}/api/session`, { headers })).json()
    expect(session).toMatchObject({ session: { kind: 'session', role: 'read-only' } })
    const controller = new AbortController()
    const stream = await fetch(`${node.url}${STREAM_PATH}`, { headers, signal: controller.signal })
    expect(stream.status).toBe(200)
    controller.abort()
  })

  it('cannot switch a relay, pay, change rules, acknowledge an alarm, restore, or mint credentials (403)', async () => {
    const before = structuredClone(node.state)
    const attempts: [string, string, unknown?][] = [
      ['POST', '/api/relays/4', { on: false }],
      ['POST', '/api/fan', { speed: 3 }],
      ['POST', '/api/bills/2/pay'],
      ['POST', '/api/bills/2/retry'],
      ['PUT', '/api/rules', { version: 1, revision: 0, rules: [] }],
      ['DELETE', '/api/rules/x'],
      ['POST', '/api/alarms/1/ack'],
      ['POST', '/api/mesh/restore'],
      ['POST', '/api/command', { text: 'turn off everything' }],
      ['POST', '/api/tokens', { name: 'mine', role: 'resident' }],
      ['POST', '/api/pairing-codes', { role: 'resident' }],
    ]
    for (const [method, path, body] of attempts) {
      const answer = await fetch(`${node.url}${path}`, {
        method,
        headers: { cookie, ...json },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      expect(answer.status, `${method} ${path}`).toBe(403)
      expect(await errorOf(answer)).toBe('ForbiddenError')
    }
    // Only the pairing itself reached a handler.
    expect(node.state.requests.map((r) => r.path)).toEqual(['/api/pair'])
    expect(node.state.relays).toEqual(before.relays)
    expect(node.state.bills).toEqual(before.bills)
  })
})

describe('pairing', () => {
  it('gives an HttpOnly, SameSite=Strict, Path=/ session cookie that works, and logout ends it', async () => {
    const { code } = node.auth.issuePairingCode('resident')
    const answer = await fetch(`${node.url}/api/pair`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ code: code.toLowerCase().replace('-', ' '), name: 'phone' }),
    })
    expect(answer.status).toBe(200)
    const setCookie = answer.headers.get('set-cookie') as string
    const attributes = setCookie.split(';').map((a) => a.trim())
    expect(attributes).toContain('HttpOnly')
    expect(attributes).toContain('SameSite=Strict')
    expect(attributes).toContain('Path=/')
    expect(attributes).not.toContain('Secure') // plain HTTP on loopback; HTTPS adds it (unit test)
    const cookie = attributes[0] as string
    expect(cookie).toMatch(/^zkm_session=[A-Za-z0-9_-]{43}$/)
    const headers = { cookie }
    expect((await fetch(`${node.url}/api/readings/latest`, { headers })).status).toBe(200)
    const sessions = (await (await fetch(`${node.url}/api/sessions`, { headers })).json()) as {
      sessions: { name: string; current: boolean }[]
    }
    expect(sessions.sessions).toEqual([expect.objectContaining({ name: 'phone', current: true })])
    const logout = await fetch(`${node.url}/api/session/logout`, { method: 'POST', headers })
    expect(logout.headers.get('set-cookie')).toMatch(/^zkm_session=; .*Max-Age=0/)
    expect((await fetch(`${node.url}/api/readings/latest`, { headers })).status).toBe(401)
  })

  it('uses a code once: a second pairing with it is refused', async () => {
    const { code } = node.auth.issuePairingCode('resident')
    const pair = () =>
      fetch(`${node.url}/api/pair`, { method: 'POST', headers: json, body: JSON.stringify({ code }) })
    expect((await pair()).status).toBe(200)
    const again = await pair()
    expect(again.status).toBe(401)
    expect(again.headers.get('set-cookie')).toBeNull()
    expect(await errorOf(again)).toBe('InvalidPairingCodeError')
  })

  it('answers the sixth wrong code in a minute with 429 and Retry-After, even for the right code', async () => {
    const { code } = node.auth.issuePairingCode('resident')
    const pair = (c: string) =>
      fetch(`${node.url}/api/pair`, { method: 'POST', headers: json, body: JSON.stringify({ code: c }) })
    for (let i = 0; i < 5; i++) expect((await pair(`WRONG-CODE${i}`)).status).toBe(401)
    const sixth = await pair('WRONG-CODE5')
    expect(sixth.status).toBe(429)
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await errorOf(sixth)).toBe('TooManyAttemptsError')
    const right = await pair(code)
    expect(right.status).toBe(429)
    expect(right.headers.get('set-cookie')).toBeNull()
  })

  it('lets a resident mint a code for a family member (read-only)', async () => {
    const answer = await fetch(`${node.url}/api/pairing-codes`, {
      method: 'POST',
      headers: { ...node.headers, ...json },
      body: JSON.stringify({ role: 'read-only' }),
    })
    const code = (await answer.json()) as { code: string; path: string; role: string }
    expect(code).toMatchObject({ role: 'read-only', path: `/#pair=${code.code}` })
    const pair = await fetch(`${node.url}/api/pair`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ code: code.code }),
    })
    expect(await pair.json()).toMatchObject({ session: { role: 'read-only' } })
  })
})
