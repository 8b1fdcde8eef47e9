/**
 * Safety alerts (docs/mesh.md §6). Gossip is best-effort, so an alert is acknowledged: every member
 * that surfaces it answers with an ack signed for its own meter (by the meter key or the household
 * account the registry binds to it, as alerts are), and the sender re-publishes the
 * same signed alert with exponential backoff until every current member has acknowledged or the
 * alert expired. Receivers dedupe by id (surface once, but re-ack every copy: the first ack may be
 * the one that was lost) and drop expired or future-dated alerts.
 */
import { randomBytes } from 'node:crypto'
import type { AckBody, AckMessage, AlertBody, AlertKind, AlertMessage } from './codec.ts'
import { ALERT_KINDS, MAX_ALERT_TTL_S } from './codec.ts'
import { type MeshContext, nowS, type Verdict } from './context.ts'
import { InvalidMeshMessageError, NotAMemberError } from './errors.ts'
import { createEmitter } from './events.ts'
import type { MembershipService } from './membership.ts'
import { signsFor } from './registry.ts'
import { type Address, type Hex, recoverMesh, signMesh } from './signing.ts'

export interface Alert {
  id: Hex
  area: number
  kind: AlertKind
  meter: Address
  time: number
  ttl: number
}

export interface AlertDelivery {
  id: Hex
  /** Members that acknowledged, sorted. */
  acked: Address[]
  /** Members (at the end) that never acknowledged: non-empty only when the alert expired or was cancelled. */
  unacked: Address[]
  expired: boolean
}

export interface AlertsEvents extends Record<string, unknown> {
  alert: Alert
  ack: { id: Hex; meter: Address }
}

export interface AlertRetryOptions {
  /** First retry after this long; doubles each time up to maxRetryMs. */
  firstRetryMs?: number
  maxRetryMs?: number
}

const MAX_SEEN = 10_000

export function createAlerts(ctx: MeshContext, membership: MembershipService, retry: AlertRetryOptions = {}) {
  const firstRetryMs = retry.firstRetryMs ?? 250
  const maxRetryMs = retry.maxRetryMs ?? 4000
  const events = createEmitter<AlertsEvents>((e) =>
    ctx.log.warn('alert listener threw', { error: String(e) }),
  )
  /** id → expiry (unix s): dedupe window. */
  const seen = new Map<string, number>()
  const pending = new Map<string, { message: AlertMessage; acked: Set<Address>; wake: () => void }>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let stopped = false

  function remember(id: string, expiry: number) {
    if (seen.size >= MAX_SEEN) {
      const t = nowS(ctx)
      for (const [k, exp] of seen) if (exp < t) seen.delete(k)
      // Still full of live ids: drop the oldest, a flood cannot grow memory.
      while (seen.size >= MAX_SEEN) seen.delete(seen.keys().next().value as string)
    }
    seen.set(id, expiry)
  }

  function sleep(ms: number, pendingEntry: { wake: () => void }) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
      pendingEntry.wake = () => {
        clearTimeout(timer)
        timers.delete(timer)
        resolve()
      }
    })
  }

  function others(): Address[] {
    const self = ctx.signer?.address.toLowerCase()
    return membership
      .list()
      .map((m) => m.meter)
      .filter((m) => m !== self)
  }

  async function sendAck(alert: AlertBody) {
    if (ctx.signer === undefined) return
    const body: AckBody = {
      id: alert.id,
      area: ctx.area,
      meter: ctx.signer.address.toLowerCase() as Address,
      to: alert.meter,
      time: nowS(ctx),
    }
    const ack: AckMessage = {
      v: 1,
      type: 'ack',
      body,
      sig: await signMesh(ctx.signer, ctx.domain, 'ack', body),
    }
    await ctx.publish('alerts', ack)
  }

  async function deliver(message: AlertMessage): Promise<AlertDelivery> {
    const { id, time, ttl } = message.body
    const entry = { message, acked: new Set<Address>(), wake: () => {} }
    pending.set(id, entry)
    let delay = firstRetryMs
    try {
      for (;;) {
        if (!stopped) await ctx.publish('alerts', message).catch(() => undefined)
        await sleep(delay, entry)
        const waiting = others().filter((m) => !entry.acked.has(m))
        const expired = nowS(ctx) >= time + ttl
        if (waiting.length === 0 || expired || stopped) {
          return {
            id,
            acked: [...entry.acked].sort(),
            unacked: waiting,
            expired: expired && waiting.length > 0,
          }
        }
        // Woken by an ack: check again without lengthening the backoff; otherwise back off.
        delay = Math.min(maxRetryMs, delay * 2)
      }
    } finally {
      pending.delete(id)
    }
  }

  return {
    on: events.on,
    /**
     * Signs and publishes an alert from this home's meter. Resolves once every current member has
     * acknowledged (or the alert expired, or the node stopped).
     */
    async raise(kind: AlertKind, ttlS = 300): Promise<AlertDelivery> {
      if (ctx.signer === undefined)
        throw new NotAMemberError('an observer node has no meter key to sign alerts with')
      if (!ALERT_KINDS.includes(kind)) {
        throw new InvalidMeshMessageError(
          `alert kind must be one of ${ALERT_KINDS.join(', ')}, got ${String(kind)}`,
        )
      }
      if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_ALERT_TTL_S) {
        throw new InvalidMeshMessageError(`alert ttl must be 1..${MAX_ALERT_TTL_S} seconds, got ${ttlS}`)
      }
      const body: AlertBody = {
        id: `0x${randomBytes(16).toString('hex')}`,
        area: ctx.area,
        kind,
        meter: ctx.signer.address.toLowerCase() as Address,
        time: nowS(ctx),
        ttl: ttlS,
      }
      const message: AlertMessage = {
        v: 1,
        type: 'alert',
        body,
        sig: await signMesh(ctx.signer, ctx.domain, 'alert', body),
      }
      remember(body.id, body.time + body.ttl)
      return deliver(message)
    },
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
      if (duplicate && pending.has(b.id)) return 'ignore' // our own alert echoed back
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
        remember(b.id, b.time + b.ttl)
        events.emit('alert', { ...b })
      }
      await sendAck(b).catch((e) => ctx.log.warn('could not send an alert ack', { error: String(e) }))
      return duplicate ? 'ignore' : 'accept'
    },
    async receiveAck(message: AckMessage): Promise<Verdict> {
      const b = message.body
      if (b.area !== ctx.area) return 'reject'
      const self = ctx.signer?.address.toLowerCase()
      // Acks for other senders are forwarded unverified (their target verifies); ours are checked.
      if (b.to !== self) return 'accept'
      const entry = pending.get(b.id)
      if (entry === undefined) return 'ignore'
      if (!(await signsFor(ctx.registry, b.meter, recoverMesh(ctx.domain, 'ack', b, message.sig)))) {
        ctx.log.warn('rejected an alert ack with a bad signature', { id: b.id, meter: b.meter })
        return 'reject'
      }
      if (membership.get(b.meter) === undefined && !(await ctx.registry.isMember(b.meter, ctx.area)))
        return 'reject'
      if (!entry.acked.has(b.meter)) {
        entry.acked.add(b.meter)
        events.emit('ack', { id: b.id, meter: b.meter })
        if (others().every((m) => entry.acked.has(m))) entry.wake()
      }
      return 'accept'
    },
    stop() {
      stopped = true
      for (const entry of pending.values()) entry.wake()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      events.clear()
    },
  }
}

export type AlertsService = ReturnType<typeof createAlerts>
