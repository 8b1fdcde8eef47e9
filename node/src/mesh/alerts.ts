/**
 * Safety alerts (docs/mesh.md §6). Gossip is best-effort, so an alert is acknowledged: every member
 * that surfaces it answers with an ack signed for its own meter (by the meter key or the household
 * account the registry binds to it, as alerts are), and the sender re-publishes the
 * same signed alert with exponential backoff until every current member has acknowledged or the
 * alert expired. Receivers dedupe by id (surface once, but re-ack every copy: the first ack may be
 * the one that was lost) and drop expired or future-dated alerts.
 *
 * This module is the composition: createAlerts wires the pieces in alerts/, one job each:
 * messages.ts (signed alerts and acks), delivery.ts (the sender's retry until acked), receive.ts
 * (incoming alerts and acks), seen.ts (the dedupe window), types.ts (shared shapes).
 */

import { createAlertDelivery } from './alerts/delivery.ts'
import { signAlert } from './alerts/messages.ts'
import { createAlertReceivers } from './alerts/receive.ts'
import { createSeenAlerts } from './alerts/seen.ts'
import type { AlertDelivery, AlertRetryOptions, AlertsEvents } from './alerts/types.ts'
import type { AckMessage, AlertKind } from './codec.ts'
import { type MeshContext, nowS } from './context.ts'
import { NotAMemberError } from './errors.ts'
import { createEmitter } from './events.ts'
import type { MembershipService } from './membership.ts'
import type { Address } from './signing.ts'

export type { Alert, AlertDelivery, AlertRetryOptions, AlertsEvents } from './alerts/types.ts'

export function createAlerts(
  ctx: MeshContext,
  membership: MembershipService,
  retry: AlertRetryOptions = {},
  /** Delivers an ack straight to its alert's sender (node/direct-acks.ts); false: gossip it. */
  sendAckDirect?: (ack: AckMessage) => Promise<boolean>,
) {
  const events = createEmitter<AlertsEvents>((e) => ctx.log.warn('alert listener threw', { error: e }))
  const seen = createSeenAlerts(() => nowS(ctx))
  const others = (): Address[] => {
    const self = ctx.signer?.address.toLowerCase()
    return membership
      .list()
      .map((m) => m.meter)
      .filter((m) => m !== self)
  }
  const delivery = createAlertDelivery(ctx, others, retry)
  const receivers = createAlertReceivers({
    ctx,
    membership,
    seen,
    delivery,
    events,
    ...(sendAckDirect ? { sendAckDirect } : {}),
  })

  return {
    on: events.on,
    /**
     * Signs and publishes an alert from this home's meter. Resolves once every current member has
     * acknowledged (or the alert expired, or the node stopped).
     */
    async raise(kind: AlertKind, ttlS = 300): Promise<AlertDelivery> {
      if (ctx.signer === undefined)
        throw new NotAMemberError('an observer node has no meter key to sign alerts with')
      const message = await signAlert(ctx, ctx.signer, kind, ttlS)
      seen.remember(message.body.id, message.body.time + message.body.ttl)
      return delivery.deliver(message)
    },
    receiveAlert: receivers.receiveAlert,
    receiveAck: receivers.receiveAck,
    stop() {
      delivery.stop()
      events.clear()
    },
  }
}

export type AlertsService = ReturnType<typeof createAlerts>
