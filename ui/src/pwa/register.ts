/**
 * Starts the installable app's page side (docs/app.md): registers the service worker (ui/src/sw.ts,
 * built to sw.js beside index.html), turns its messages into the page's offline state, asks it to
 * refresh the offline copies when the stream shows newer data or the app goes to the background,
 * and raises alarm notifications. Does nothing where service workers are unavailable (the dev
 * server, a non-secure origin, an old browser): the app works as before, only not offline.
 */
import { stream } from '../lib/stream.ts'
import { appState } from './app-state.ts'
import { watchAlarms } from './notifications.ts'
import type { PageMessage, WorkerMessage } from './policy.ts'

/**
 * The worker's URL, written in by the build (ui/scripts/service-worker.ts); absent under Vite's dev
 * server, which has no worker. (Not `import.meta.env.PROD`: a build run with NODE_ENV=test, as the
 * UI tests do, is not "PROD" but does have its worker.)
 */
declare const __ZKM_SERVICE_WORKER__: string | undefined
const WORKER_URL = typeof __ZKM_SERVICE_WORKER__ === 'string' ? __ZKM_SERVICE_WORKER__ : undefined

/** The page asks for fresh offline copies at most this often (the worker throttles too). */
const REFRESH_EVERY_MS = 60_000

function tellWorker(message: PageMessage): void {
  navigator.serviceWorker.controller?.postMessage(message)
}

function onWorkerMessage(message: WorkerMessage): void {
  switch (message.type) {
    case 'offline':
      appState.offlineSince(message.since)
      return
    case 'online':
      appState.online()
      return
    case 'open':
      // A notification was clicked: show its view in this window.
      location.hash = `#${message.route}`
      return
  }
}

export function startInstalledApp(): void {
  // Vite's dev server has no sw.js; an insecure origin (plain HTTP on the LAN) has no workers.
  const url = WORKER_URL
  if (!url || !('serviceWorker' in navigator)) return
  const worker = navigator.serviceWorker
  worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => onWorkerMessage(event.data))
  // A controller replaced while the page runs is a new build (skipWaiting): offer a reload. The
  // first install (no controller before) is not an update.
  let controlled = Boolean(worker.controller)
  worker.addEventListener('controllerchange', () => {
    if (controlled) appState.updateReady()
    controlled = true
  })
  // After the page has loaded: installing (fetching the shell) must not slow the first render.
  const register = () =>
    worker.register(url).catch((error: unknown) => {
      console.warn(
        'zkmeter: the service worker could not be registered; the app will not work offline.',
        error,
      )
    })
  if (document.readyState === 'complete') void register()
  else addEventListener('load', () => void register(), { once: true })

  let lastRefresh = Date.now()
  const refresh = () => {
    lastRefresh = Date.now()
    tellWorker({ type: 'refresh' })
  }
  stream.on('reading', () => {
    if (Date.now() - lastRefresh > REFRESH_EVERY_MS) refresh()
  })
  for (const name of ['bill', 'alarm'] as const) stream.on(name, refresh)
  // Leaving the app (switching away on the phone) is when the newest values are worth keeping.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') refresh()
  })
  watchAlarms()
}
