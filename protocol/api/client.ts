/**
 * The one HTTP client of the node's API (routes.ts), for the web UI and the CLI alike: one typed
 * function per route, built from the route table, over `fetch` (browser and Node).
 *
 *   const api = createApiClient({ baseUrl: 'http://127.0.0.1:8787', token })
 *   const { bills } = await api.bills()
 *   await api.setRelay({ params: { channel: 3 }, body: { on: true } })
 *
 * A non-2xx answer throws ApiError with the node's error body; an unreachable node throws
 * ApiError with status 0 (`NetworkError`).
 */
import {
  type ApiErrorBody,
  ROUTES,
  type RouteAnswer,
  type RouteBody,
  type RouteDefinition,
  type RouteKey,
  type RouteParams,
  type RouteQuery,
} from './routes.ts'

export class ApiError extends Error {
  override name = 'ApiError'
  /** The HTTP status; 0 when the node could not be reached. */
  readonly status: number
  /** The node's error class name (`error` of the body), or `HTTP <status>` / `NetworkError`. */
  readonly error: string
  readonly details: Record<string, unknown> | undefined
  /** The node's error body when it sent one. */
  readonly body: ApiErrorBody | undefined
  /** The answer's raw text (for a body that is not the documented JSON). */
  readonly text: string
  /** The request: its method and path (with the query). */
  readonly method: string
  readonly path: string
  constructor(
    status: number,
    message: string,
    options: {
      body?: ApiErrorBody | undefined
      text?: string
      method?: string
      path?: string
      cause?: unknown
    } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.status = status
    this.method = options.method ?? ''
    this.path = options.path ?? ''
    this.body = options.body
    this.error = options.body?.error ?? (status === 0 ? 'NetworkError' : `HTTP ${status}`)
    this.details = options.body?.details
    this.text = options.text ?? ''
  }
}

type Query = Record<string, string | number | boolean | undefined>

/** The arguments of one route's function: path params, query, body, and an abort signal. */
export type RouteArgs<K extends RouteKey> = ([keyof RouteParams<K>] extends [never]
  ? unknown
  : { params: { [P in keyof RouteParams<K>]: string | number } }) &
  // A query value may also be given as the user typed it (the CLI's flags): the node validates it.
  ([RouteQuery<K>] extends [never]
    ? unknown
    : { query?: { [Q in keyof RouteQuery<K>]?: RouteQuery<K>[Q] | string } }) &
  ([RouteBody<K>] extends [never] ? unknown : { body: RouteBody<K> }) & { signal?: AbortSignal }

/** Optional arguments when the route has neither path params nor a body. */
type Call<K extends RouteKey> = [keyof RouteParams<K>] extends [never]
  ? [RouteBody<K>] extends [never]
    ? (args?: RouteArgs<K>) => Promise<RouteAnswer<K>>
    : (args: RouteArgs<K>) => Promise<RouteAnswer<K>>
  : (args: RouteArgs<K>) => Promise<RouteAnswer<K>>

export type ApiClient = { [K in RouteKey]: Call<K> }

export interface ApiClientOptions {
  /** The node's origin, e.g. `http://127.0.0.1:8787`; '' (the default) is the page's own origin. */
  baseUrl?: string
  fetch?: typeof fetch
  headers?: Record<string, string>
  /**
   * A bearer token (`zkmeter tokens create`, or the node's admin token file for the local CLI),
   * sent as `Authorization: Bearer …`. A browser leaves it unset: its session cookie goes along.
   */
  token?: string
}

interface RawArgs {
  params?: Record<string, string | number>
  query?: Query
  body?: unknown
  signal?: AbortSignal
}

/** What JSON.parse returns: the one untyped point, typed per route by ApiClient's signatures. */
type Untyped = ReturnType<typeof JSON.parse>

function pathOf(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${template}`)
    return encodeURIComponent(String(value))
  })
}

function queryOf(query: Query | undefined): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

function errorBody(text: string): ApiErrorBody | undefined {
  try {
    const body: unknown = JSON.parse(text)
    if (body && typeof body === 'object' && typeof (body as ApiErrorBody).message === 'string') {
      return body as ApiErrorBody
    }
  } catch {}
  return undefined
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const baseUrl = options.baseUrl ?? ''
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init))

  async function call(key: RouteKey, args: RawArgs = {}): Promise<Untyped> {
    const route: RouteDefinition = ROUTES[key]
    const path = `${pathOf(route.path, args.params)}${queryOf(args.query)}`
    const url = `${baseUrl}${path}`
    const request = { method: route.method, path }
    const hasBody = args.body !== undefined
    let response: Response
    try {
      response = await fetchImpl(url, {
        method: route.method,
        headers: {
          accept: route.text ? 'text/csv, application/json' : 'application/json',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
        body: hasBody ? JSON.stringify(args.body) : null,
        signal: args.signal ?? null,
      })
    } catch (cause) {
      if ((cause as Error)?.name === 'AbortError') throw cause
      throw new ApiError(0, 'Cannot reach the household node. Check that it is running, then retry.', {
        ...request,
        cause,
      })
    }
    const text = await response.text()
    if (!response.ok) {
      const body = errorBody(text)
      throw new ApiError(
        response.status,
        body?.message ??
          `The node answered ${response.status} ${response.statusText}. Check that it is running and try again.`,
        { ...request, body, text },
      )
    }
    if (route.text) return text
    return text ? JSON.parse(text) : undefined
  }

  const client = {} as ApiClient
  for (const key of Object.keys(ROUTES) as RouteKey[]) client[key] = (args?: RawArgs) => call(key, args)
  return client
}
