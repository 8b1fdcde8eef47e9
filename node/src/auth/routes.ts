/**
 * The pairing, session and token routes (protocol/api/routes.ts: pair … createPairingCode): thin
 * handlers over the Auth service. Access is checked before they run (authorize.ts); `pair` is the
 * one public route of the API, and its attempts are rate-limited.
 */
import type { RouteHandlers } from '#protocol/api/routes.ts'
import { ROLES, type Role } from '#protocol/api/types.ts'
import { HttpError } from '../http/errors.ts'
import { TooManyAttemptsError, UnauthenticatedError } from './errors.ts'
import type { Auth } from './service.ts'

type AuthRouteKey =
  | 'pair'
  | 'session'
  | 'logout'
  | 'sessions'
  | 'revokeSession'
  | 'tokens'
  | 'createToken'
  | 'revokeToken'
  | 'createPairingCode'

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'send a JSON object')
  return body as Record<string, unknown>
}

function role(value: unknown, fallback: Role): Role {
  if (value === undefined) return fallback
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role
  throw new HttpError(400, `role must be one of ${ROLES.join(', ')}`, { role: value })
}

function shortText(value: unknown, field: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined
  if (typeof value !== 'string' || value.length > 200 || (required && !value.trim())) {
    throw new HttpError(400, `${field} must be a non-empty text of at most 200 characters`)
  }
  return value
}

export function authRoutes(ctx: { auth: Auth }): Pick<RouteHandlers, AuthRouteKey> {
  const { auth } = ctx
  return {
    async pair({ json, remoteAddress, secure, setHeader }) {
      const body = object(await json())
      const code = shortText(body.code, 'code', true) as string
      const name = shortText(body.name, 'name', false)
      try {
        const paired = await auth.pair(code, {
          address: remoteAddress ?? 'unknown',
          ...(secure === undefined ? {} : { secure }),
          ...(name ? { name } : {}),
        })
        setHeader?.('set-cookie', paired.setCookie)
        return { session: paired.principal }
      } catch (error) {
        if (error instanceof TooManyAttemptsError) setHeader?.('retry-after', String(error.retryAfterSeconds))
        throw error
      }
    },
    session({ principal }) {
      if (!principal) throw new UnauthenticatedError()
      return { session: principal }
    },
    async logout({ principal, secure, setHeader }) {
      setHeader?.('set-cookie', await auth.logout(principal, secure))
      return { ok: true as const }
    },
    sessions: ({ principal }) => ({ sessions: auth.sessions(principal) }),
    async revokeSession({ params }) {
      await auth.revokeSession(params.id)
      return { ok: true as const }
    },
    tokens: () => ({ tokens: auth.tokens() }),
    async createToken({ json }) {
      const body = object(await json())
      const name = shortText(body.name, 'name', true) as string
      return auth.createToken(name, role(body.role, 'resident'))
    },
    async revokeToken({ params }) {
      await auth.revokeToken(params.id)
      return { ok: true as const }
    },
    async createPairingCode({ json }) {
      const body = object(await json())
      return auth.issuePairingCode(role(body.role, 'resident'))
    },
  }
}
