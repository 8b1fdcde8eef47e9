/**
 * The sender's side of an alert: re-publish the same signed alert with exponential backoff until every
 * current member (but this one) has acknowledged, the alert expired, or the node stopped. An ack that
 * completes the set wakes the wait at once.
 */
import type { AlertMessage } from '../codec.ts'
import { type MeshContext, nowS } from '../context.ts'
import type { Address } from '../signing.ts'
import type { AlertDelivery, AlertRetryOptions } from './types.ts'

interface PendingAlert {
  message: AlertMessage
  acked: Set<Address>
  wake: () => void
}

export function createAlertDelivery(
  ctx: Pick<MeshContext, 'publish' | 'now'>,
  /** The current members other than this node. */
  others: () => Address[],
  retry: AlertRetryOptions,
) {
  const firstRetryMs = retry.firstRetryMs ?? 250
  const maxRetryMs = retry.maxRetryMs ?? 4000
  const pending = new Map<string, PendingAlert>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let stopped = false

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

  return {
    /** Whether this alert is ours and still being delivered. */
    isPending: (id: string) => pending.has(id),

    /**
     * The pending delivery of this alert of ours, or undefined (delivered, expired or not ours). Its
     * `recordAck` is true for a member's first ack, and wakes the delivery once every member acked.
     */
    pendingAlert(id: string) {
      const entry = pending.get(id)
      if (entry === undefined) return undefined
      return {
        recordAck(meter: Address): boolean {
          if (entry.acked.has(meter)) return false
          entry.acked.add(meter)
          if (others().every((m) => entry.acked.has(m))) entry.wake()
          return true
        },
      }
    },

    async deliver(message: AlertMessage): Promise<AlertDelivery> {
      const { id, time, ttl } = message.body
      const entry: PendingAlert = { message, acked: new Set<Address>(), wake: () => {} }
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
    },

    /** Ends every delivery at its next check: pending raise() calls resolve with who acked so far. */
    stop() {
      stopped = true
      for (const entry of pending.values()) entry.wake()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  }
}

export type AlertDeliveryService = ReturnType<typeof createAlertDelivery>
