/**
 * `zkmeter pair` and `zkmeter tokens …`: the resident's pairing codes and bearer tokens, asked of
 * the running node with the admin token it wrote to the data directory (admin-token.ts).
 *
 *   zkmeter pair [--role resident|read-only]       a one-time code, its link and QR code
 *   zkmeter tokens list                            tokens (no secrets) and paired sessions
 *   zkmeter tokens create --name N [--role R]      prints the token once
 *   zkmeter tokens revoke <id>                     a token's or a session's id
 */
import { type ApiClient, ApiError } from '#protocol/api/client.ts'
import { ROLES, type Role } from '#protocol/api/types.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { CredentialNotFoundError } from './errors.ts'
import { pairingText } from './terminal.ts'

export class AuthCliError extends ZkMeterError {
  override name = 'AuthCliError'
}

export const AUTH_USAGE = `  pair [--role R]          a one-time pairing code (link + QR) for a phone or browser; R = resident | read-only
  tokens list              bearer tokens and paired sessions
  tokens create --name N [--role R]   a bearer token (Home Assistant, scripts), printed once
  tokens revoke <id>       revoke a token or a paired session`

function roleOf(value: string | undefined): Role {
  if (value === undefined) return 'resident'
  if ((ROLES as readonly string[]).includes(value)) return value as Role
  throw new AuthCliError(`--role must be one of ${ROLES.join(', ')}`)
}

/** Runs one command; returns what to print (text, or a value printed as JSON). */
export async function runAuthCommand(options: {
  command: 'pair' | 'tokens'
  args: string[]
  flags: Map<string, string>
  api: ApiClient
  apiUrl: string
  /** Runs one API call; `raw`: its ApiError is thrown as it is (to tell a 404 apart). */
  call: <T>(request: (signal: AbortSignal) => Promise<T>, options?: { raw?: boolean }) => Promise<T>
}): Promise<unknown> {
  const { api, call, flags, args } = options
  const role = roleOf(flags.get('role'))
  if (options.command === 'pair') {
    const code = await call((signal) => api.createPairingCode({ body: { role }, signal }))
    return pairingText(options.apiUrl, code, { qr: flags.get('qr') !== 'false' })
  }
  const [sub, id] = args
  switch (sub) {
    case 'list': {
      const { tokens } = await call((signal) => api.tokens({ signal }))
      const { sessions } = await call((signal) => api.sessions({ signal }))
      return { tokens, sessions }
    }
    case 'create': {
      const name = flags.get('name')
      if (!name)
        throw new AuthCliError('usage: zkmeter tokens create --name NAME [--role resident|read-only]')
      const created = await call((signal) => api.createToken({ body: { name, role }, signal }))
      return `${created.token}\n(token ${created.info.id}, ${created.info.role}: shown this once, store it now; revoke with \`zkmeter tokens revoke ${created.info.id}\`)`
    }
    case 'revoke': {
      if (!id) throw new AuthCliError('usage: zkmeter tokens revoke <id> (see `zkmeter tokens list`)')
      // An id is a token's or a session's: try the token first, a 404 says it is not one.
      const notFound = (error: unknown) => error instanceof ApiError && error.status === 404
      try {
        await call((signal) => api.revokeToken({ params: { id }, signal }), { raw: true })
        return `token ${id} revoked`
      } catch (error) {
        if (!notFound(error)) throw error
      }
      try {
        await call((signal) => api.revokeSession({ params: { id }, signal }), { raw: true })
        return `session ${id} revoked`
      } catch (error) {
        if (notFound(error)) throw new CredentialNotFoundError('token', id)
        throw error
      }
    }
    default:
      throw new AuthCliError(`usage:\n${AUTH_USAGE}`)
  }
}
