/**
 * The auth pieces on their own: cookie parsing (any header a client can send), pairing codes
 * (single use, expiry, typed as people type them), the attempt limiter, and the credentials file
 * (hashed, 0600 in a 0700 directory, surviving a restart; revocation persists too).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { adminTokenFile, readAdminToken } from '../../src/auth/admin-token.ts'
import { parseCookies, sessionCookie } from '../../src/auth/cookies.ts'
import { PairingCodes } from '../../src/auth/pairing.ts'
import { AttemptLimiter } from '../../src/auth/rate-limit.ts'
import { normalizePairingCode } from '../../src/auth/secrets.ts'
import { openAuth } from '../../src/auth/service.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-auth-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('cookies', () => {
  it('parses any Cookie header without throwing, and finds a pair it was given', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        parseCookies(header)
      }),
    )
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/),
        fc.string(),
        (name, value, junk) => {
          const cookies = parseCookies(`${name}=${value}; ${junk.replace(/[;]/g, '')}`)
          expect(cookies.get(name)).toBe(value)
        },
      ),
    )
  })

  it('is Secure with the __Host- prefix over HTTPS', () => {
    const cookie = sessionCookie({ secure: true, value: 'x', maxAgeSeconds: 60 })
    expect(cookie).toMatch(/^__Host-zkm_session=x; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60; Secure$/)
  })
})

describe('pairing codes', () => {
  it('are single use, expire, and accept what a person types', () => {
    let now = 1_000
    const codes = new PairingCodes({ now: () => now, ttlMs: 600_000 })
    const { code } = codes.issue('read-only')
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
    expect(codes.redeem(` ${code.toLowerCase().replace('-', '')} `)).toBe('read-only')
    expect(codes.redeem(code)).toBeUndefined()
    const late = codes.issue('resident')
    now += 600_000
    expect(codes.redeem(late.code)).toBeUndefined()
  })

  it('normalizes look-alike letters', () => {
    expect(normalizePairingCode('ab0o1-il234')).toBe('AB001-11234')
  })
})

describe('attempt limiter', () => {
  it('limits per key and over all keys, and forgets after the window', () => {
    let now = 0
    const limiter = new AttemptLimiter({ perKey: 2, global: 3, windowMs: 60_000, now: () => now })
    limiter.failed('a')
    limiter.failed('a')
    expect(limiter.retryAfter('a')).toBe(60)
    expect(limiter.retryAfter('b')).toBe(0)
    limiter.failed('b')
    expect(limiter.retryAfter('c')).toBe(60) // global: three failures in the window
    now = 60_001
    expect(limiter.retryAfter('a')).toBe(0)
    expect(limiter.retryAfter('c')).toBe(0)
  })
})

describe('credentials at rest', () => {
  it('keeps sessions and tokens hashed, 0600 in 0700, across a restart; revocation too', async () => {
    const auth = await openAuth({ dataDir: dir })
    const { code } = auth.issuePairingCode('resident')
    const paired = await auth.pair(code, { address: '127.0.0.1', name: 'phone' })
    const secret = (/=([^;]+)/.exec(paired.setCookie) as RegExpExecArray)[1] as string
    const { token, info } = await auth.createToken('ha', 'read-only')
    const file = join(dir, 'auth', 'credentials.json')
    const text = await readFile(file, 'utf8')
    expect(text).not.toContain(secret)
    expect(text).not.toContain(token)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'auth'))).mode & 0o777).toBe(0o700)
    expect((await stat(adminTokenFile(dir))).mode & 0o777).toBe(0o600)

    const again = await openAuth({ dataDir: dir })
    expect(again.identify({ cookie: `zkm_session=${secret}` })).toMatchObject({
      kind: 'session',
      name: 'phone',
    })
    expect(again.identify({ authorization: `Bearer ${token}` })).toMatchObject({
      kind: 'token',
      role: 'read-only',
    })
    // The admin token is new at every start: the old one no longer opens anything.
    expect(() => again.identify({ authorization: `Bearer ${auth.adminToken}` })).toThrow(/not valid/)
    expect(await readAdminToken(dir)).toBe(again.adminToken)
    await again.revokeToken(info.id)
    const third = await openAuth({ dataDir: dir })
    expect(() => third.identify({ authorization: `Bearer ${token}` })).toThrow(/not valid/)
  })

  it('lets a session expire', async () => {
    let now = Date.now()
    const auth = await openAuth({ dataDir: dir, now: () => now, sessionTtlMs: 1000 })
    const paired = await auth.pair(auth.issuePairingCode('resident').code, { address: 'x' })
    const cookie = paired.setCookie.split(';')[0]
    expect(auth.identify({ cookie })).toBeDefined()
    now += 1001
    expect(auth.identify({ cookie })).toBeUndefined()
  })
})
