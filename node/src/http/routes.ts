/**
 * The household node's HTTP API (docs/api.md), registered through the contract
 * (protocol/api/routes.ts): each routes/<area>.ts implements its slice of `RouteHandlers` (thin
 * handlers that validate input, call the services they are given and shape the answer; no business
 * rules here), `routeHandlers` joins the slices (a route missing or answering the wrong shape is a
 * type error), and `registerHandlers` walks `ROUTES`, so the node serves exactly the methods and
 * paths the contract names.
 */
import {
  ROUTES,
  type RouteDefinition,
  type RouteHandler,
  type RouteHandlers,
  type RouteKey,
  type RouteParams,
  STREAM_PATH,
} from '#protocol/api/routes.ts'
import { authRoutes } from '../auth/routes.ts'
import type { HouseholdContext, RoutesContext } from './context.ts'
import { billRoutes } from './routes/bills.ts'
import { homeRoutes } from './routes/home.ts'
import { meshRoutes } from './routes/mesh.ts'
import { paymentRoutes } from './routes/payments.ts'
import { privacyRoutes } from './routes/privacy.ts'
import { readingRoutes } from './routes/readings.ts'
import { safetyRoutes } from './routes/safety.ts'
import { statusRoutes } from './routes/status.ts'
import { utilityRoutes } from './routes/utility.ts'
import type { HttpApi, SseHub } from './server.ts'

/** Every route's handler over the node's services (or in-memory ones: test/support/fake-node.ts). */
export function routeHandlers(ctx: RoutesContext): RouteHandlers {
  return {
    ...statusRoutes(ctx),
    ...readingRoutes(ctx),
    ...billRoutes(ctx),
    ...paymentRoutes(ctx),
    ...homeRoutes(ctx),
    ...safetyRoutes(ctx),
    ...meshRoutes(ctx),
    ...privacyRoutes(ctx),
    ...utilityRoutes(ctx),
    ...authRoutes(ctx),
  }
}

/** The node's API on `api`: every route of the contract, and the live stream (GET /api/stream). */
export function registerRoutes(api: HttpApi, ctx: HouseholdContext): void {
  registerHandlers(api, routeHandlers(ctx), ctx.stream)
}

/**
 * Registers each handler at its route's method and path from ROUTES, in ROUTES's order, and the
 * live stream, which opens with the latest reading (docs/api.md, "Live stream"): a dashboard
 * shows a value one round trip after connecting, not after the meter's next record.
 */
export function registerHandlers(api: HttpApi, handlers: RouteHandlers, stream: SseHub): void {
  for (const key of Object.keys(ROUTES) as RouteKey[]) register(api, key, handlers[key])
  stream.keepLatest('reading')
  api.sse(STREAM_PATH, stream)
}

function register<K extends RouteKey>(api: HttpApi, key: K, handler: RouteHandler<K>): void {
  const route: RouteDefinition = ROUTES[key]
  api.route(route.method, route.path, async ({ params, query, json, req, res, principal }) => {
    // The server matched the route's own path, so the params are exactly the ones it names.
    const answer = await handler({
      params: params as RouteParams<K>,
      query,
      json,
      principal,
      remoteAddress: req.socket.remoteAddress,
      secure: (req.socket as { encrypted?: boolean }).encrypted === true,
      setHeader: (name, value) => res.setHeader(name, value),
    })
    if (!route.text) return answer
    // A download (the CSV export): text with its media type and file name, not JSON.
    res.writeHead(200, {
      'content-type': route.text.type,
      'content-disposition': `attachment; filename="${route.text.filename}"`,
      'cache-control': 'no-store',
    })
    res.end(String(answer))
    return undefined
  })
}
