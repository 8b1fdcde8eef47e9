/**
 * The one place where access is enforced: every API route's `access` from the route contract
 * (protocol/api/routes.ts ROUTES, and STREAM_ACCESS for the live stream) against the caller. The
 * HTTP server calls this before a handler runs and before the stream attaches (server.ts
 * `authorize`). A path the contract does not know needs the resident role: closed by default.
 */
import type { IncomingMessage } from 'node:http'
import {
  type Access,
  ROUTES,
  type RouteDefinition,
  STREAM_ACCESS,
  STREAM_PATH,
} from '#protocol/api/routes.ts'
import type { Principal } from '#protocol/api/types.ts'
import { RPC_PATH } from '../tls/rpc-proxy.ts'
import { ForbiddenError, UnauthenticatedError } from './errors.ts'
import type { Auth } from './service.ts'

export type Authorize = (
  req: IncomingMessage,
  route: { method: string; path: string },
) => Promise<Principal | undefined>

export function accessTable(): Map<string, Access> {
  const table = new Map<string, Access>()
  for (const route of Object.values(ROUTES) as RouteDefinition[])
    table.set(`${route.method} ${route.path}`, route.access)
  table.set(`GET ${STREAM_PATH}`, STREAM_ACCESS)
  // The wallet's chain RPC (node/src/tls/rpc-proxy.ts): a browser wallet calls it without the
  // page's cookie, and it carries only chain reads and transactions the wallet signed.
  table.set(`POST ${RPC_PATH}`, 'public')
  return table
}

export function createAuthorizer(auth: Pick<Auth, 'identify'>): Authorize {
  const table = accessTable()
  return async (req, route) => {
    const access = table.get(`${route.method} ${route.path}`) ?? 'resident'
    const principal = auth.identify({ authorization: req.headers.authorization, cookie: req.headers.cookie })
    if (access === 'public') return principal
    if (!principal) throw new UnauthenticatedError()
    if (access === 'resident' && principal.role !== 'resident') {
      throw new ForbiddenError(
        `this device is paired read-only: ${route.method} ${route.path} needs a resident`,
        {
          role: principal.role,
        },
      )
    }
    return principal
  }
}
