/**
 * What the service worker (ui/src/sw.ts) does with each request, as a pure function so the rules
 * that keep private data off the phone are tested in Node (ui/test/pwa-policy.test.ts):
 *
 * - only GETs of the worker's own origin are ever answered from a cache;
 * - the app shell (the build's files, listed at build time) comes from the precache;
 * - a page load tries the network first and falls back to the cached shell (never the browser's
 *   error page);
 * - exactly the few API answers the dashboard needs when the node is away (OFFLINE_API) are
 *   network-first with their last good answer kept; every other API route, the CSV export and the
 *   live stream go to the network untouched.
 *
 * Imported by the page too (the cache names, for clearOfflineData), so it holds no worker globals.
 */

/** The precache of one build: its name carries the build's version, so an update replaces it. */
export const SHELL_CACHE_PREFIX = 'zkm-shell-'
/** The dashboard's last good API answers: the only private data kept on the device. */
export const DATA_CACHE = 'zkm-data'

/**
 * The API answers kept for offline use: what the dashboard shows first (status, the latest
 * reading, today's totals, the bills, the alarms). Exact paths without a query: nothing else,
 * and never the export, the history or the utility's views.
 */
export const OFFLINE_API: readonly string[] = [
  '/api/status',
  '/api/readings/latest',
  '/api/summary/today',
  '/api/bills',
  '/api/alarms',
]

/** How long a page waits for the node before it is shown the last good answer instead. */
export const NETWORK_TIMEOUT_MS = 6000

export type Strategy =
  /** Not the worker's business: the browser fetches it as if there were no worker. */
  | { kind: 'network' }
  /** A file of the build: from the precache, from the network if it is not in it. */
  | { kind: 'shell'; path: string }
  /** A page load: the network, else the cached index.html. */
  | { kind: 'navigate' }
  /** One of OFFLINE_API: the network, keeping the answer; the kept answer if the node is away. */
  | { kind: 'api'; path: string }

export interface RequestFacts {
  method: string
  url: string
  /** Request.mode: 'navigate' for a page load. */
  mode: string
}

/**
 * @param scope the worker's registration scope (an absolute URL ending in '/')
 * @param shell the precached paths relative to the scope (e.g. 'assets/index-abc.js')
 */
export function strategyFor(request: RequestFacts, scope: string, shell: ReadonlySet<string>): Strategy {
  if (request.method !== 'GET') return { kind: 'network' }
  let url: URL
  let base: URL
  try {
    url = new URL(request.url)
    base = new URL(scope)
  } catch {
    return { kind: 'network' }
  }
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return { kind: 'network' }
  const path = url.pathname.slice(base.pathname.length)
  if (path.startsWith('api/') || path === 'api') {
    const apiPath = `/${path}`
    return url.search === '' && OFFLINE_API.includes(apiPath)
      ? { kind: 'api', path: apiPath }
      : { kind: 'network' }
  }
  if (request.mode === 'navigate') return { kind: 'navigate' }
  if (url.search === '' && shell.has(path)) return { kind: 'shell', path }
  return { kind: 'network' }
}

/** An answer worth keeping offline: a complete 200 JSON answer of the node (not an error, not a redirect). */
export function keepable(response: {
  status: number
  type: string
  headers: { get(name: string): string | null }
}): boolean {
  return (
    response.status === 200 &&
    response.type === 'basic' &&
    (response.headers.get('content-type') ?? '').startsWith('application/json')
  )
}

/**
 * The node refused this client (401: no session, or it ended or was revoked): the kept answers
 * belong to a session that no longer exists, so they are deleted.
 */
export function endsSession(status: number): boolean {
  return status === 401
}

/** Messages between the page and the worker. */
export type WorkerMessage =
  /** Worker → page: an API answer came from the offline copy; the node was last reached at `since` (ms). */
  | { type: 'offline'; since: number | null }
  /** Worker → page: the node answered again. */
  | { type: 'online' }
  /** Worker → page: open a view (a notification was clicked). */
  | { type: 'open'; route: string }

export type PageMessage =
  /** Page → worker: fetch the kept answers again (the stream showed newer data). */
  | { type: 'refresh' }
  /** Page → worker: delete the kept answers (logout). */
  | { type: 'clear' }
