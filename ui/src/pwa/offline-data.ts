/**
 * Forgetting what the app keeps on this device (docs/app.md, docs/security.md "The app on the
 * phone"): the service worker's copies of the dashboard's API answers and any alarm notifications
 * still shown. For logout (the pairing/session code calls it) and for a resident who lends the phone.
 * The app shell (code, icons) holds no private data and stays.
 */
import { DATA_CACHE, type PageMessage } from './policy.ts'

export async function clearOfflineData(): Promise<void> {
  if (!('caches' in globalThis)) return
  // The worker too, so a refresh it has in flight does not write the copies back.
  const clear: PageMessage = { type: 'clear' }
  navigator.serviceWorker?.controller?.postMessage(clear)
  await caches.delete(DATA_CACHE)
  const registration = await navigator.serviceWorker?.getRegistration()
  for (const n of (await registration?.getNotifications()) ?? []) n.close()
}
