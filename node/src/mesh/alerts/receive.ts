/**
 * Incoming alerts and acks (the gossip validators' verdicts). An alert counts only if signed for its
 * meter and that meter is registered in this area; it is surfaced once (dedupe by id) but acked on
 * every copy, since the first ack may be the one that was lost. Acks for other senders are forwarded
 * unverified (their target verifies); acks for our pending alerts are checked and counted.
 */
import type { AckMessage, AlertMessage } from '../codec.ts'
import { type MeshContext, nowS, type Verdict } from '../context.ts'
import type { Emitter } from '../events.ts'
import type { MembershipService } from '../membership.ts'
import { signsFor } from '../registry.ts'
import { recoverMesh } from '../signing.ts'
import type { AlertDeliveryService } from './delivery.ts'
import { signAck } from './messages.ts'
import type { SeenAlerts } from './seen.ts'
import type { AlertsEvents } from './types.ts'

export interface AlertReceiveDeps {
  ctx: MeshContext
  membership: Pick<MembershipService, 'get'>
  seen: SeenAlerts
  delivery: Pick<AlertDeliveryService, 'isPending' | 'pendingAlert'>
  events: Pick<Emitter<AlertsEvents>, 'emit'>
  /** Delivers an ack straight to its alert's sender; false when it could not (then it is gossiped). */
  sendAckDirect?: (ack: AckMessage) => Promise<boolean>
}

export function createAlertReceivers(deps: AlertReceiveDeps) {
  const { ctx, membership, seen, delivery, events } = deps

  async function sendAck(alert: AlertMessage['body']) {
    if (ctx.signer === undefined) return
    const ack = await signAck(ctx, ctx.signer, alert)
    // Only the sender needs it: straight to it where connected, on the topic otherwise.
    if (deps.sendAckDirect !== undefined && (await deps.sendAckDirect(ack))) return
    await ctx.publish('alerts', ack)
  }

  return {
    async receiveAlert(message: AlertMessage): Promise<Verdict> {
      const b = message.body
      const t = nowS(ctx)
      if (b.area !== ctx.area) return 'reject'
      if (b.time > t + ctx.skewS) return 'reject'
      if (b.time + b.ttl <= t) {
        ctx.log.warn('dropped an expired alert', { id: b.id })
        return 'ignore'
      }
      const duplicate = seen.has(b.id)
      if (duplicate && delivery.isPending(b.id)) return 'ignore' // our own alert echoed back
      if (!(await signsFor(ctx.registry, b.meter, recoverMesh(ctx.domain, 'alert', b, message.sig)))) {
        ctx.log.warn('rejected an alert with a bad signature', { id: b.id, meter: b.meter })
        return 'reject'
      }
      if (!(await ctx.registry.isMember(b.meter, ctx.area))) {
        ctx.log.warn('rejected an alert from a meter not registered in this area', {
          id: b.id,
          meter: b.meter,
        })
        return 'reject'
      }
      if (!duplicate) {
        seen.remember(b.id, b.time + b.ttl)
        events.emit('alert', { ...b })
      }
      await sendAck(b).catch((e) => ctx.log.warn('could not send an alert ack', { error: e }))
      return duplicate ? 'ignore' : 'accept'
    },

    async receiveAck(message: AckMessage): Promise<Verdict> {
      const b = message.body
      if (b.area !== ctx.area) return 'reject'
      const self = ctx.signer?.address.toLowerCase()
      // Acks for other senders are forwarded unverified (their target verifies); ours are checked.
      if (b.to !== self) return 'accept'
      const pending = delivery.pendingAlert(b.id)
      if (pending === undefined) return 'ignore'
      if (!(await signsFor(ctx.registry, b.meter, recoverMesh(ctx.domain, 'ack', b, message.sig)))) {
        ctx.log.warn('rejected an alert ack with a bad signature', { id: b.id, meter: b.meter })
        return 'reject'
      }
      if (membership.get(b.meter) === undefined && !(await ctx.registry.isMember(b.meter, ctx.area)))
        return 'reject'
      if (pending.recordAck(b.meter)) events.emit('ack', { id: b.id, meter: b.meter })
      return 'accept'
    },
  }
}
