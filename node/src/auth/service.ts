/**
 * Authentication of the node's API (docs/security.md "Pairing, sessions and tokens"): who a
 * request comes from (a session cookie, a bearer token, the admin token), pairing a new device
 * with a one-time code, and the resident's lists of sessions and tokens. Composition over
 * one-job modules: pairing.ts (codes), rate-limit.ts (attempts), credential-store.ts (what
 * survives a restart), admin-token.ts (the local CLI's credential), cookies.ts, secrets.ts.
 */
import type { PairingCode, Principal, Role, SessionInfo, TokenInfo } from '#protocol/api/types.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { writeAdminToken } from './admin-token.ts'
import { clearedSessionCookie, parseCookies, sessionCookie, sessionCookieName } from './cookies.ts'
import { type CredentialKind, CredentialStore, type StoredCredential } from './credential-store.ts'
import {
  CredentialNotFoundError,
  InvalidPairingCodeError,
  TooManyAttemptsError,
  UnauthenticatedError,
} from './errors.ts'
import { PairingCodes } from './pairing.ts'
import { AttemptLimiter } from './rate-limit.ts'
import { hashSecret, newId, newSecret, sameDigest } from './secrets.ts'

export const SESSION_TTL_MS = 30 * 86_400_000
export const TOKEN_PREFIX = 'zkmt_'

export interface AuthOptions {
  dataDir: string
  /** The API is served over HTTPS: the cookie is Secure (and `__Host-`). */
  secure?: boolean
  /** SHA-256 of the HTTPS certificate, carried in pairing codes and QR codes. */
  fingerprint?: string
  /**
   * The node's URL for a phone (its HTTPS URL on the LAN, with --listen), carried in pairing codes
   * so that every printer of a code (start banner, `zkmeter pair`) links where a phone can go. A
   * getter: the HTTPS listener starts (and learns its port) after the auth service is open.
   */
  phoneUrl?: () => string | undefined
  log?: Logger
  now?: () => number
  sessionTtlMs?: number
  /** Failed pairing attempts allowed per minute, per client address and in all (default 5 and 5). */
  pairingAttempts?: { perClient: number; global: number; windowMs?: number }
}

/** What a request presents: its Authorization and Cookie headers. */
export interface PresentedCredentials {
  authorization?: string | undefined
  cookie?: string | undefined
}

export interface Paired {
  principal: Principal
  /** The Set-Cookie header value that hands the browser its session. */
  setCookie: string
}

export interface Auth {
  readonly secure: boolean
  /** This run's admin token (also in `<dataDir>/auth/admin-token`). */
  readonly adminToken: string
  /**
   * The caller, or undefined when it presents nothing (or a session cookie that is no longer valid:
   * the browser then pairs again). A bearer token that is not valid throws 401.
   */
  identify(presented: PresentedCredentials): Principal | undefined
  issuePairingCode(role: Role): PairingCode
  /** `client.secure`: the request came over HTTPS (default: the service's `secure`). */
  pair(code: string, client: { address: string; name?: string; secure?: boolean }): Promise<Paired>
  /** Ends the caller's session; the Set-Cookie value that clears the browser's cookie. */
  logout(principal: Principal | undefined, secure?: boolean): Promise<string>
  sessions(current?: Principal): SessionInfo[]
  revokeSession(id: string): Promise<void>
  tokens(): TokenInfo[]
  createToken(name: string, role: Role): Promise<{ token: string; info: TokenInfo }>
  revokeToken(id: string): Promise<void>
}

const iso = (ms: number) => new Date(ms).toISOString()

function principalOf(credential: StoredCredential): Principal {
  return { kind: credential.kind, id: credential.id, name: credential.name, role: credential.role }
}

export async function openAuth(options: AuthOptions): Promise<Auth> {
  const now = options.now ?? Date.now
  const log = options.log ?? silentLogger
  const secure = options.secure ?? false
  const ttl = options.sessionTtlMs ?? SESSION_TTL_MS
  const store = await CredentialStore.open(options.dataDir, now)
  const adminToken = await writeAdminToken(options.dataDir)
  const adminDigest = hashSecret(adminToken)
  const codes = new PairingCodes({ now })
  const limits = options.pairingAttempts ?? { perClient: 5, global: 5 }
  const attempts = new AttemptLimiter({
    perKey: limits.perClient,
    global: limits.global,
    windowMs: limits.windowMs ?? 60_000,
    now,
  })
  // The node serves loopback HTTP and, with --listen, HTTPS: a session paired over HTTPS lives in
  // the Secure `__Host-` cookie, one paired on loopback in the plain one. Either names a session.
  const cookieNames = [sessionCookieName(true), sessionCookieName(false)]
  const ADMIN: Principal = { kind: 'admin', id: 'admin', name: 'node admin token', role: 'resident' }

  async function revoke(kind: CredentialKind, id: string): Promise<void> {
    if (!(await store.revoke(kind, id))) throw new CredentialNotFoundError(kind, id)
    log.info(`${kind} revoked`, { id })
  }

  return {
    secure,
    adminToken,

    identify({ authorization, cookie }) {
      if (authorization !== undefined) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
        if (!match) throw new UnauthenticatedError('the Authorization header must be `Bearer <token>`')
        const digest = hashSecret(match[1] as string)
        if (sameDigest(digest, adminDigest)) return ADMIN
        const token = store.find(digest)
        if (token?.kind !== 'token') {
          throw new UnauthenticatedError(
            'this token is not valid (revoked, or never issued): create one with `zkmeter tokens create`',
          )
        }
        return principalOf(token)
      }
      const cookies = parseCookies(cookie)
      const value = cookieNames.map((name) => cookies.get(name)).find((v) => v)
      if (!value) return undefined
      const session = store.find(hashSecret(value))
      return session?.kind === 'session' ? principalOf(session) : undefined
    },

    issuePairingCode(role) {
      const { code, expiresAt } = codes.issue(role)
      const phoneUrl = options.phoneUrl?.()
      log.info('pairing code issued', { role, expiresAt: iso(expiresAt) })
      return {
        code,
        role,
        expiresAt: iso(expiresAt),
        path: `/#pair=${code}`,
        ...(options.fingerprint ? { fingerprint: options.fingerprint } : {}),
        ...(phoneUrl ? { url: phoneUrl } : {}),
      }
    },

    async pair(code, client) {
      const wait = attempts.retryAfter(client.address)
      if (wait > 0) throw new TooManyAttemptsError(wait)
      const role = codes.redeem(code)
      if (!role) {
        attempts.failed(client.address)
        log.warn('pairing refused: wrong, used or expired code', { client: client.address })
        throw new InvalidPairingCodeError()
      }
      const secret = newSecret()
      const created = now()
      const credential: StoredCredential = {
        kind: 'session',
        id: newId(),
        digest: hashSecret(secret),
        name: (client.name ?? '').trim().slice(0, 80) || `device paired ${iso(created).slice(0, 16)}`,
        role,
        createdAt: created,
        expiresAt: created + ttl,
      }
      await store.add(credential)
      log.info('device paired', { session: credential.id, role, client: client.address })
      return {
        principal: principalOf(credential),
        setCookie: sessionCookie({
          secure: client.secure ?? secure,
          value: secret,
          maxAgeSeconds: ttl / 1000,
        }),
      }
    },

    async logout(principal, overHttps) {
      if (principal?.kind === 'session') await store.revoke('session', principal.id)
      return clearedSessionCookie(overHttps ?? secure)
    },

    sessions(current) {
      return store.list('session').map((s) => ({
        id: s.id,
        name: s.name,
        role: s.role,
        createdAt: iso(s.createdAt),
        expiresAt: iso(s.expiresAt ?? s.createdAt + ttl),
        current: current?.kind === 'session' && current.id === s.id,
      }))
    },
    revokeSession: (id) => revoke('session', id),

    tokens() {
      return store
        .list('token')
        .map((t) => ({ id: t.id, name: t.name, role: t.role, createdAt: iso(t.createdAt) }))
    },
    async createToken(name, role) {
      const token = newSecret(TOKEN_PREFIX)
      const credential: StoredCredential = {
        kind: 'token',
        id: newId(),
        digest: hashSecret(token),
        name: name.trim().slice(0, 80),
        role,
        createdAt: now(),
      }
      await store.add(credential)
      log.info('token created', { id: credential.id, role })
      return {
        token,
        info: { id: credential.id, name: credential.name, role, createdAt: iso(credential.createdAt) },
      }
    },
    revokeToken: (id) => revoke('token', id),
  }
}
