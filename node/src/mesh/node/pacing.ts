/**
 * The sender's side of the per-author rate limit (docs/mesh.md §2). Every home ignores messages from
 * an author beyond `burst`, then `perSecond` (node.ts, the gossip validator and direct reveals), and
 * an ignored message is gone: gossipsub never repairs it, and a share ignored at the aggregator makes
 * that home missing from the round. So a node never sends faster than its peers accept: each message
 * it publishes first takes a token here. A node that falls behind (a backlog of intervals ingested at
 * once, many rounds contributed together) is delayed instead of silently dropped by its neighbours.
 *
 * The budget here is below the receivers': half their burst and 80 % of their rate. Receivers count
 * arrivals, not sends, and gossip can bunch messages sent evenly (a relay or a stalled event loop
 * releases them together); with half the burst in reserve, arrivals delayed unevenly by up to
 * burst / (2 · 0.8 · perSecond) (1.25 s at the defaults) still fit, and the 20 % margin absorbs
 * longer stretches.
 */
import { MeshNotRunningError } from '../errors.ts'

export interface Pacer {
  /**
   * Resolves when one more message may be sent. `urgent` (safety alerts and their acks) goes ahead of
   * every message already waiting. Rejects with MeshNotRunningError once the pacer is stopped.
   */
  take(urgent?: boolean): Promise<void>
  /** Messages waiting for a token (for tests and health pages). */
  readonly waiting: number
  /** Rejects every waiting take() and every later one. */
  stop(): void
}

/** The share of the receivers' limit a sender allows itself (see the module comment). */
export const SEND_BURST_FRACTION = 0.5
export const SEND_RATE_FRACTION = 0.8

export function createPacer(
  limit: { burst: number; perSecond: number },
  now: () => number = Date.now,
): Pacer {
  const burst = Math.max(1, Math.floor(limit.burst * SEND_BURST_FRACTION))
  const perMs = (limit.perSecond * SEND_RATE_FRACTION) / 1000
  if (!(perMs > 0)) throw new RangeError('the rate limit needs perSecond > 0')
  let tokens = burst
  let at = now()
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const queue: { resolve(): void; reject(error: Error): void }[] = []

  const refill = () => {
    const t = now()
    tokens = Math.min(burst, tokens + (t - at) * perMs)
    at = t
  }

  /** Hands tokens to the waiting messages in order; re-arms the timer for the next token. */
  const drain = () => {
    timer = undefined
    refill()
    while (queue.length > 0 && tokens >= 1) {
      tokens -= 1
      queue.shift()?.resolve()
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, Math.ceil((1 - tokens) / perMs)))
  }

  return {
    take(urgent = false) {
      if (stopped) return Promise.reject(new MeshNotRunningError('the mesh node is stopped'))
      refill()
      if (queue.length === 0 && tokens >= 1) {
        tokens -= 1
        return Promise.resolve()
      }
      return new Promise<void>((resolve, reject) => {
        if (urgent) queue.unshift({ resolve, reject })
        else queue.push({ resolve, reject })
        if (timer === undefined) drain()
      })
    },
    get waiting() {
      return queue.length
    },
    stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      for (const waiter of queue.splice(0)) waiter.reject(new MeshNotRunningError('the mesh node is stopped'))
    },
  }
}
