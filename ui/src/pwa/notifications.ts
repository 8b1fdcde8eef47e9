/**
 * Alarm notifications (docs/app.md): each new alarm on the live stream becomes a system
 * notification shown through the service worker's registration (so it lives in the phone's
 * notification shade, and a click reaches the worker, which opens the Safety view). One tag per
 * alarm: a repeat replaces its notification instead of stacking; an escalation alerts again; an
 * acknowledged or cleared alarm's notification is closed.
 *
 * Permission is asked only from a button (<zkm-notification-toggle>), never on load.
 */
import { ADVICE, KIND_TEXT } from '../components/alarm-banner.ts'
import { stream } from '../lib/stream.ts'
import type { Alarm } from '../lib/types.ts'

/** What was last shown per alarm id: its severity, so only a change alerts again. */
const shown = new Map<string, Alarm['severity']>()

export function notificationsSupported(): boolean {
  return 'Notification' in globalThis && 'serviceWorker' in navigator && globalThis.isSecureContext
}

export function alarmTag(alarm: Pick<Alarm, 'id'>): string {
  return `zkm-alarm-${alarm.id}`
}

export function alarmTitle(alarm: Pick<Alarm, 'kind' | 'severity'>): string {
  return `${KIND_TEXT[alarm.kind] ?? alarm.kind}${alarm.severity === 'escalated' ? ' — escalated' : ''}`
}

/** Shows, replaces or closes the alarm's notification. */
export async function notifyAlarm(alarm: Alarm): Promise<void> {
  if (!notificationsSupported() || Notification.permission !== 'granted') return
  const registration = await navigator.serviceWorker.getRegistration()
  if (!registration) return
  const tag = alarmTag(alarm)
  if (alarm.state !== 'active') {
    shown.delete(alarm.id)
    for (const n of await registration.getNotifications({ tag })) n.close()
    return
  }
  if (shown.get(alarm.id) === alarm.severity) return
  shown.set(alarm.id, alarm.severity)
  // `renotify` (not in every DOM typing): a replaced notification alerts again (an escalation).
  const options: NotificationOptions & { renotify: boolean } = {
    tag,
    renotify: true,
    requireInteraction: true,
    body: ADVICE[alarm.kind] ?? '',
    icon: 'icons/icon-192.png',
    data: { route: '/safety' },
  }
  await registration.showNotification(alarmTitle(alarm), options)
}

/** Raises notifications for the stream's alarm events for as long as the page runs. */
export function watchAlarms(): void {
  stream.on('alarm', (alarm) => {
    notifyAlarm(alarm).catch((error: unknown) => console.warn('zkmeter: alarm notification failed', error))
  })
}
