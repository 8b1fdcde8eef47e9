/// <reference lib="webworker" />
/**
 * The app's service worker (docs/app.md), built by ui/scripts/service-worker.ts into dist/sw.js as
 * one classic script (every browser that installs web apps runs it, iOS Safari included) with the
 * build's file list and version written in. What it answers from where is decided by
 * pwa/policy.ts; this file only carries it out:
 *
 * - install: precache the shell of this build; activate: drop older builds' shells, take control
 *   of open pages at once (skipWaiting + clients.claim: a new build runs from the next load on)
 *   and fetch the dashboard's offline copies;
 * - fetch: shell files from the precache, page loads network-first with the shell as fallback,
 *   the OFFLINE_API answers network-first keeping the last good one; everything else untouched;
 * - the page's `refresh` / `clear` messages; a click on an alarm notification opens its view.
 */
import {
  DATA_CACHE,
  endsSession,
  keepable,
  NETWORK_TIMEOUT_MS,
  OFFLINE_API,
  type PageMessage,
  SHELL_CACHE_PREFIX,
  strategyFor,
  type WorkerMessage,
} from './pwa/policy.ts'

declare const self: ServiceWorkerGlobalScope
/** Written in at build time: the build's files relative to the scope, and a hash of them. */
declare const __ZKM_PRECACHE__: readonly string[]
declare const __ZKM_VERSION__: string

const PRECACHE = __ZKM_PRECACHE__
const SHELL = new Set(PRECACHE)
const SHELL_CACHE = `${SHELL_CACHE_PREFIX}${__ZKM_VERSION__}`
/** When a kept answer was received: the newest of them is when the node was last reached. */
const STORED_AT = 'x-zkm-stored-at'
/** The page's refreshes are throttled here too: several open pages share one worker. */
const REFRESH_MIN_MS = 5_000
let lastRefresh = 0

const scoped = (path: string) => new URL(path, self.registration.scope).href
/** An OFFLINE_API path ('/api/status') as a URL of this origin. */
const apiUrl = (path: string) => scoped(path.slice(1))

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE)
      // `reload`: past the HTTP cache, so the shell is this build's files and not older copies.
      await cache.addAll(PRECACHE.map((path) => new Request(scoped(path), { cache: 'reload' })))
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys())
        if (name.startsWith(SHELL_CACHE_PREFIX) && name !== SHELL_CACHE) await caches.delete(name)
      await self.clients.claim()
      // A page load then asks the node at once, while the worker is still starting, instead of
      // only once the worker runs its fetch handler (navigate() takes the preloaded answer).
      await self.registration.navigationPreload?.enable()
      await refreshOfflineCopies()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const strategy = strategyFor(event.request, self.registration.scope, SHELL)
  switch (strategy.kind) {
    case 'shell':
      event.respondWith(fromShell(event.request, strategy.path))
      return
    case 'navigate':
      event.respondWith(navigate(event))
      return
    case 'api':
      event.respondWith(networkFirst(event, strategy.path))
      return
    default:
    // Not answered: the browser fetches it itself (other origins, non-GET, export, stream).
  }
})

self.addEventListener('message', (event) => {
  const message = event.data as PageMessage | undefined
  if (message?.type === 'refresh') {
    if (Date.now() - lastRefresh < REFRESH_MIN_MS) return
    event.waitUntil(refreshOfflineCopies())
  } else if (message?.type === 'clear') event.waitUntil(caches.delete(DATA_CACHE))
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const data = event.notification.data as { route?: unknown } | null
  const route = typeof data?.route === 'string' ? data.route : '/'
  const opened = openView(route)
  try {
    event.waitUntil(opened)
  } catch {
    // Only an event the browser dispatched can extend the worker's life (a test dispatches its own).
  }
})

/** Shows `route` in an open window of the app (focused), or opens one. */
async function openView(route: string): Promise<void> {
  const [open] = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  if (open) {
    post(open, { type: 'open', route })
    await open.focus().catch(() => undefined)
  } else await self.clients.openWindow(scoped(`./#${route}`))
}

async function fromShell(request: Request, path: string): Promise<Response> {
  return (await caches.match(scoped(path), { cacheName: SHELL_CACHE })) ?? fetch(request)
}

/** A page load: the node's page when it answers, else this build's shell (the app then shows what it kept). */
async function navigate(event: FetchEvent): Promise<Response> {
  try {
    const preloaded = (await event.preloadResponse) as Response | undefined
    return await withTimeout(preloaded ? Promise.resolve(preloaded) : fetch(event.request))
  } catch {
    const shell = await caches.match(scoped('index.html'), { cacheName: SHELL_CACHE })
    return shell ?? Response.error()
  }
}

/**
 * One of the dashboard's API answers: the network's when it comes in time (kept if it is a good
 * one), else the last kept one, and the page is told it is seeing the offline copy.
 */
async function networkFirst(event: FetchEvent, path: string): Promise<Response> {
  const network = fetch(event.request)
  // The page gets the answer as soon as it comes; keeping a copy (reading the body, writing the
  // cache) happens meanwhile, not in front of it. The copy is taken before the page reads the body.
  const kept = network.then((response) => keep(path, response.clone()))
  event.waitUntil(kept.then(() => tell(event.clientId, { type: 'online' })).catch(() => undefined))
  try {
    return await withTimeout(network)
  } catch (error) {
    const kept = await caches.match(apiUrl(path), { cacheName: DATA_CACHE })
    if (!kept) {
      if (error instanceof TimeoutError) return network
      throw error
    }
    await tell(event.clientId, { type: 'offline', since: await lastReached() })
    return kept
  }
}

/** Keeps a good answer (with the time it came; reads its body), forgets everything on a 401. */
async function keep(path: string, response: Response): Promise<void> {
  if (endsSession(response.status)) {
    await caches.delete(DATA_CACHE)
    return
  }
  if (!keepable(response)) return
  const body = await response.arrayBuffer()
  const headers = {
    'content-type': response.headers.get('content-type') ?? 'application/json',
    [STORED_AT]: String(Date.now()),
  }
  await (await caches.open(DATA_CACHE)).put(apiUrl(path), new Response(body, { status: 200, headers }))
}

/** Fetches every kept answer again (on activation, and when the page saw newer data on the stream). */
async function refreshOfflineCopies(): Promise<void> {
  lastRefresh = Date.now()
  await Promise.all(
    OFFLINE_API.map(async (path) => {
      try {
        await keep(path, await fetch(apiUrl(path), { credentials: 'same-origin', cache: 'no-store' }))
      } catch {
        // The node is away: the kept copy stays as it is.
      }
    }),
  )
}

/** When the node was last reached: the newest kept answer's time. */
async function lastReached(): Promise<number | null> {
  const cache = await caches.open(DATA_CACHE)
  let newest: number | null = null
  for (const response of await cache.matchAll()) {
    const at = Number(response.headers.get(STORED_AT))
    if (Number.isFinite(at) && at > (newest ?? 0)) newest = at
  }
  return newest
}

async function tell(clientId: string, message: WorkerMessage): Promise<void> {
  const client = clientId ? await self.clients.get(clientId) : undefined
  if (client) post(client, message)
}

function post(client: Client, message: WorkerMessage): void {
  client.postMessage(message)
}

class TimeoutError extends Error {
  override name = 'TimeoutError'
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('the node did not answer in time')), NETWORK_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
