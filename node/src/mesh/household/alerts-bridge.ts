/**
 * Alarms and notices across the mesh:
 *   alarm manager ── broadcast ──► signed alert to neighbours (ack + retry by the mesh)
 *   neighbours' alerts, utility notices ──► the notice list (/api/notices) + the live stream ('notice')
 */
import type { Alarm } from '../../automation/alarms.ts'
import type { Hazard } from '../../automation/reading.ts'
import type { Logger } from '../../log/logger.ts'
import type { AlertKind, NoticeMessage } from '../codec.ts'
import { MeshNotRunningError } from '../errors.ts'
import type { MeshNode } from '../node.ts'
import type { Notice } from '../notices.ts'
import type { MeshCounters, MeshNoticeView } from './types.ts'

/** A neighbour's alert stays relevant this long (the mesh re-sends it until every member acked or it expired). */
export const ALERT_TTL_S = 900
const MAX_LISTED = 100

const HAZARD_ALERT: Record<Hazard, AlertKind> = { flame: 'fire', gas: 'gas', water: 'flood' }

export type StreamPublish = (event: string, data: unknown) => void

export interface AlertsBridge {
  /** Where new notices are published live (undefined: nowhere). */
  streamTo(publish: StreamPublish | undefined): void
  broadcastAlarm(alarm: Alarm, event: 'raised' | 'escalated' | 'closed'): Promise<void> | undefined
  publishNotice(message: NoticeMessage): Promise<void>
  /** Notices and neighbours' alerts, newest last. */
  list(): MeshNoticeView[]
}

export function createAlertsBridge(mesh: MeshNode, counters: MeshCounters, log: Logger): AlertsBridge {
  // Notices and neighbours' alerts, newest last, bounded.
  const notices: MeshNoticeView[] = []
  let publishStream: StreamPublish | undefined
  const remember = (view: MeshNoticeView) => {
    notices.push(view)
    if (notices.length > MAX_LISTED) notices.shift()
    publishStream?.('notice', view)
  }
  mesh.alerts.on('alert', (alert) => {
    counters.alertsReceived++
    remember({
      source: 'neighbour',
      via: 'mesh',
      id: alert.id,
      kind: alert.kind,
      message: `${alert.kind} alarm at a neighbour's home`,
      startsAt: alert.time,
      endsAt: alert.time + alert.ttl,
      area: alert.area,
      meter: alert.meter,
    })
    log.warn('a neighbour raised an alarm', { kind: alert.kind, id: alert.id })
  })
  mesh.notices.on('notice', (notice: Notice) => {
    counters.noticesReceived++
    remember({
      source: 'utility',
      via: 'mesh',
      id: notice.id,
      kind: notice.kind,
      message: notice.text,
      startsAt: notice.startsAt,
      endsAt: notice.endsAt,
      area: notice.area,
    })
  })
  // The mesh module logs each rejection with its reason; here it is counted for /api/mesh.
  mesh.notices.on('rejected', () => void counters.noticesRejected++)

  return {
    streamTo(publish) {
      publishStream = publish
    },

    /**
     * The alarm manager's broadcast hook: a raised hazard alarm becomes a signed alert to the area.
     * Only 'raised' is sent: an escalation is the same hazard (neighbours already have it and would see
     * a second alert), and the wire format has no all-clear message.
     */
    broadcastAlarm(alarm, event) {
      if (event !== 'raised' || mesh.meter === undefined || !mesh.running) return undefined
      counters.alertsSent++
      const kind = HAZARD_ALERT[alarm.hazard]
      return mesh.alerts.raise(kind, ALERT_TTL_S).then((delivery) => {
        const fields = {
          kind,
          id: delivery.id,
          acked: delivery.acked.length,
          unacked: delivery.unacked.length,
        }
        if (delivery.unacked.length === 0) log.info('alarm sent to the neighbours', fields)
        else log.warn('alarm sent to the neighbours', fields)
      })
    },

    /** Relays a notice the utility signed (any member may; receivers check the utility signature). */
    publishNotice(message) {
      if (!mesh.running) throw new MeshNotRunningError('the mesh is not running')
      return mesh.notices.publish(message)
    },

    list: () => [...notices],
  }
}
