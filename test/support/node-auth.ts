/**
 * A test talks to a household node as a real local client does: with the admin token the node
 * writes to its data directory at every start (node/src/auth/admin-token.ts), read again for every
 * request, since a restarted node has written a new one. In-process tests take the token from
 * `startHouseholdNode(...).adminToken` instead.
 */
import { readAdminToken } from '../../node/src/auth/admin-token.ts'

/** `Authorization` header with the node's current admin token ({} before its first start). */
export async function adminHeaders(dataDir: string): Promise<Record<string, string>> {
  const token = await readAdminToken(dataDir)
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** fetch with the node's admin token (from `dataDir`) added to the request's headers. */
export async function fetchAsAdmin(dataDir: string, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  for (const [name, value] of Object.entries(await adminHeaders(dataDir))) headers.set(name, value)
  return fetch(url, { ...init, headers })
}

/** `init` with `Authorization: Bearer <token>` added (an in-process node's `adminToken`). */
export function withToken(token: string | undefined, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers)
  if (token) headers.set('authorization', `Bearer ${token}`)
  return { ...init, headers }
}
