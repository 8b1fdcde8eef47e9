/**
 * A small HTTP JSON layer over node:http: routing by method and path pattern, bounded and
 * validated JSON bodies, errors answered by their category (errors.ts: 400/404/409/503/500, every
 * 5xx logged, internals never sent), and Server-Sent Events for the live stream. No framework: the
 * node's API is small, and every byte that crosses this boundary is ours to check.
 *
 * Before any of that, every request passes the web guards (guards.ts: Host allowlist, no CORS,
 * fetch metadata, Origin, body type) and every answer carries the security headers
 * (security-headers.ts), so a page on another site can neither read nor change anything.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Principal } from '#protocol/api/types.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { type Categorize, errorAnswer, HttpError } from './errors.ts'
import {
  defaultAllowedHosts,
  guardRequest,
  mediaType,
  normalizeHostName,
  UnsupportedBodyTypeError,
} from './guards.ts'
import { parseJsonBody } from './json-limits.ts'
import { decodePath } from './params.ts'
import { setSecurityHeaders } from './security-headers.ts'
import { answerUnroutedRequests } from './socket-answers.ts'

export { HttpError, NotFoundError } from './errors.ts'
export { defaultAllowedHosts } from './guards.ts'

export interface RequestContext {
  params: Record<string, string>
  query: URLSearchParams
  /** Parses the JSON body (bounded); throws HttpError 400/413/415 on bad input. */
  json(): Promise<unknown>
  req: IncomingMessage
  res: ServerResponse
  /** The caller, as `authorize` resolved it (undefined without it). */
  principal?: Principal | undefined
}

export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown

interface Route {
  method: string
  path: string
  pattern: RegExp
  keys: string[]
  handler: Handler
}

export interface HttpApiOptions {
  host?: string
  port?: number
  /** Largest accepted request body in bytes. */
  maxBodyBytes?: number
  /** Serves anything no route matched (the UI's static files). */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>
  log?: Logger
  /** Names failures of the node's dependencies in foreign errors (e.g. the chain down → 503). */
  categorize?: Categorize
  /**
   * Host names (no port) the Host header may name; any other is refused with 403 (DNS rebinding).
   * Default: defaultAllowedHosts(host): the loopback names and the bound address.
   */
  allowedHosts?: readonly string[]
  /** Paths other origins may POST to (guards.ts: the wallet's chain RPC). Default: none. */
  crossOriginPaths?: readonly string[]
  /** Serve HTTPS with this key and certificate (PEM; node/src/tls) instead of plain HTTP. */
  tls?: { key: string; cert: string }
  /**
   * Resolves the caller before a route's handler runs and before the stream attaches
   * (node/src/auth/authorize.ts); throws an HttpError (401/403) to refuse. `path` is the route's
   * own pattern (`/api/bills/:id/pay`). Unset: no authentication (a test of this layer alone).
   */
  authorize?: (
    req: IncomingMessage,
    route: { method: string; path: string },
  ) => Promise<Principal | undefined>
}

export interface HttpApi {
  route(method: string, path: string, handler: Handler): void
  sse(path: string, hub: SseHub): void
  start(): Promise<{ url: string; port: number }>
  stop(): Promise<void>
  readonly server: Server
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = []
  const source = path
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        keys.push(segment.slice(1))
        return '([^/]+)'
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('/')
  return { pattern: new RegExp(`^${source}/?$`), keys }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new HttpError(413, `request body is larger than ${limit} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, `request body is larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** JSON with bigints as decimal strings: wei amounts and field elements exceed 2^53. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = toJson(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

export function createHttpApi(options: HttpApiOptions = {}): HttpApi {
  const routes: Route[] = []
  const hubs = new Map<string, SseHub>()
  const maxBody = options.maxBodyBytes ?? 64 * 1024
  const log = options.log ?? silentLogger
  const crossOriginPaths = new Set(options.crossOriginPaths ?? [])
  const allowedHosts = new Set(
    (options.allowedHosts ?? defaultAllowedHosts(options.host ?? '127.0.0.1')).map(normalizeHostName),
  )

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res, { https: options.tls !== undefined, host: req.headers.host })
    handle(req, res).catch((error: unknown) => {
      log.error('unhandled HTTP error', { error })
      if (!res.headersSent) send(res, 500, { error: 'InternalError', message: 'internal error' })
      else res.destroy()
    })
  }
  // An https.Server is an http.Server to everything below (requests, timeouts, close).
  const server: Server = options.tls
    ? (createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) as unknown as Server)
    : createServer(listener)
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  answerUnroutedRequests(server)

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      send(res, 400, { error: 'BadRequest', message: 'malformed request URL' })
      return
    }
    const method = req.method ?? 'GET'
    try {
      guardRequest(req, { allowedHosts, crossOriginPaths })
      decodePath(url.pathname) // a path that does not decode is a 400 here, for routes and files alike
    } catch (error) {
      const answer = errorAnswer(error)
      send(res, answer.status, answer.body)
      return
    }
    if (method === 'OPTIONS') {
      // No CORS: nothing answers OPTIONS, so no Access-Control-Allow-* ever goes out.
      send(res, 405, {
        error: 'MethodNotAllowed',
        message: 'OPTIONS is not answered: this node does no CORS',
      })
      return
    }
    const hub = method === 'GET' ? hubs.get(url.pathname) : undefined
    if (hub) {
      try {
        await options.authorize?.(req, { method, path: url.pathname })
      } catch (error) {
        const answer = errorAnswer(error, options.categorize)
        send(res, answer.status, answer.body)
        return
      }
      hub.attach(req, res)
      return
    }
    const candidates = routes.filter((r) => r.pattern.test(url.pathname))
    const route = candidates.find((r) => r.method === method)
    if (!route) {
      if (candidates.length > 0) {
        res.setHeader('allow', candidates.map((r) => r.method).join(', '))
        send(res, 405, { error: 'MethodNotAllowed', message: `${method} is not allowed on ${url.pathname}` })
        return
      }
      if (options.fallback && (await options.fallback(req, res))) return
      send(res, 404, { error: 'NotFound', message: `no such endpoint: ${method} ${url.pathname}` })
      return
    }
    const match = route.pattern.exec(url.pathname) as RegExpExecArray
    const params: Record<string, string> = {}
    route.keys.forEach((key, i) => {
      params[key] = decodeURIComponent(match[i + 1] as string) // decodes: the whole path did above
    })
    const ctx: RequestContext = {
      params,
      query: url.searchParams,
      req,
      res,
      async json() {
        if (mediaType(req.headers['content-type']) !== 'application/json') {
          throw new UnsupportedBodyTypeError('send the request body as application/json')
        }
        const body = await readBody(req, maxBody)
        return parseJsonBody(body.toString('utf8'))
      },
    }
    try {
      if (options.authorize) ctx.principal = await options.authorize(req, { method, path: route.path })
      const result = await route.handler(ctx)
      if (!res.headersSent) send(res, 200, result ?? { ok: true })
    } catch (error) {
      const answer = errorAnswer(error, options.categorize)
      if (answer.status >= 500) {
        log.error('request failed', {
          route: `${method} ${url.pathname}`,
          status: answer.status,
          error,
          ...(error instanceof Error && error.cause !== undefined ? { cause: String(error.cause) } : {}),
        })
      }
      if (res.headersSent) res.destroy()
      else send(res, answer.status, answer.body)
    }
  }

  return {
    server,
    route(method, path, handler) {
      routes.push({ method: method.toUpperCase(), path, ...compile(path), handler })
    },
    sse(path, hub) {
      hubs.set(path, hub)
    },
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject)
          resolve()
        })
      })
      const { port, address } = server.address() as AddressInfo
      const host = address.includes(':') ? `[${address}]` : address
      return { url: `${options.tls ? 'https' : 'http'}://${host}:${port}`, port }
    },
    async stop() {
      for (const hub of hubs.values()) hub.close()
      if (!server.listening) return
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Fan-out of named events to Server-Sent-Event clients. A slow client whose socket buffer fills
 * up is dropped rather than buffered without bound: the stream is live data, and the REST API
 * has the history.
 *
 * Events that describe current state rather than news (`keepLatest`, e.g. the latest reading) are
 * remembered: a client that connects gets the last one at once, so a dashboard shows a value
 * without waiting for the meter's next record or a REST round trip.
 */
export class SseHub {
  readonly #clients = new Set<ServerResponse>()
  readonly #maxBuffered: number
  #nextId = 1
  /** Event name → its last frame, for the events named by keepLatest. */
  readonly #latest = new Map<string, string | undefined>()

  constructor(options: { maxBufferedBytes?: number } = {}) {
    this.#maxBuffered = options.maxBufferedBytes ?? 1 << 20
  }

  get size(): number {
    return this.#clients.size
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    res.write(': zkmeter live stream\n\n')
    for (const frame of this.#latest.values()) if (frame) res.write(frame)
    this.#clients.add(res)
    const drop = () => this.#clients.delete(res)
    req.on('close', drop)
    res.on('error', drop)
  }

  /** From now on, each client that connects first gets the last `event` published (if any). */
  keepLatest(event: string): void {
    if (!this.#latest.has(event)) this.#latest.set(event, undefined)
  }

  publish(event: string, data: unknown): void {
    const frame = `id: ${this.#nextId++}\nevent: ${event}\ndata: ${toJson(data)}\n\n`
    if (this.#latest.has(event)) this.#latest.set(event, frame)
    for (const client of this.#clients) {
      if (client.writableLength > this.#maxBuffered) {
        this.#clients.delete(client)
        client.destroy()
        continue
      }
      client.write(frame)
    }
  }

  close(): void {
    for (const client of this.#clients) client.end()
    this.#clients.clear()
  }
}
