/**
 * Where a message from the meter goes: what the node subscribes to over MQTT (tele/+/SENSOR, PERIOD,
 * GONE, STATE) to the ingestor, one at a time and in order, with a bounded queue; everything else,
 * and STATE as well, to the onMessage listener (the bridge), as an MQTT subscriber would see it.
 */

import type { SerialMessage } from '#protocol/serial/message.ts'
import type { Ingestor } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import type { SerialLinkCounters } from './link-counters.ts'

/** What the node subscribes to over MQTT: the ingestor takes these. */
const INGESTED = /^tele\/[^/]+\/(SENSOR|PERIOD|GONE|STATE)$/
/** STATE also serves automation and Home Assistant, so it goes to onMessage (the bridge) as well. */
const SHARED = /^tele\/[^/]+\/STATE$/

export interface MessageRouter {
  route(message: SerialMessage): void
  /** Resolves when every message queued for the ingestor has been handled. */
  drained(): Promise<void>
}

export function createMessageRouter(options: {
  ingestor: Pick<Ingestor, 'ingest'>
  counters: SerialLinkCounters
  maxQueued: number
  log: Logger
  onMessage: ((message: SerialMessage) => void) | undefined
}): MessageRouter {
  const { ingestor, counters, maxQueued, log } = options
  let queued = 0
  let queue: Promise<void> = Promise.resolve()
  return {
    route(message) {
      const ingested = INGESTED.test(message.topic)
      if (!ingested || SHARED.test(message.topic)) {
        counters.otherMessages++
        try {
          options.onMessage?.(message)
        } catch (error) {
          log.warn('a listener failed', { error })
        }
      }
      if (!ingested) return
      if (queued >= maxQueued) {
        counters.queueFull++
        return
      }
      queued++
      // One at a time and in order: the ingestor's gap detection expects the meter's order.
      queue = queue.then(async () => {
        try {
          const outcome = await ingestor.ingest(message.topic, message.payload)
          if (outcome.status === 'rejected') counters.rejected++
          else counters.ingested++
        } catch (error) {
          counters.ingestFailed++
          log.error('ingesting a message failed', { error })
        } finally {
          queued--
        }
      })
    },
    drained: () => queue,
  }
}
