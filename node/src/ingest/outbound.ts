/**
 * Outbound to the meters: the retained `zkmeter/<meter>/ack` high-water marks, Resend requests for
 * sequence gaps and ResendPeriod requests for closes the node knows are missing, over MQTT and any
 * attached transport (a serial link), plus the timer that repeats outstanding requests. Its one job
 * is what the node asks of its meters and when; the ingest path only says "this meter's ack moved"
 * or "this range is missing".
 */

import type { MqttClient } from 'mqtt'
import { ackTopic, resendPeriodTopic, resendTopic } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import type { Anomaly } from './anomalies.ts'
import type { IngestorConfig } from './config.ts'
import { missingClose } from './period-tracker.ts'
import type { MeterRuntime, OutboundMessage } from './types.ts'

export interface OutboundDeps {
  meters: ReadonlyMap<string, MeterRuntime>
  cfg: Pick<IngestorConfig, 'interval' | 'n' | 'resendIntervalMs'>
  log: Logger
  anomaly(entry: Omit<Anomaly, 'id' | 'at'>): Anomaly
  /** Nothing goes out before start() or after stop(). */
  isRunning(): boolean
  client(): MqttClient | undefined
}

export type Outbound = ReturnType<typeof createOutbound>

export function createOutbound({
  meters,
  cfg,
  log,
  anomaly,
  isRunning,
  client: currentClient,
}: OutboundDeps) {
  let ackScheduled = new Set<MeterRuntime>()
  let resendTimer: NodeJS.Timeout | undefined
  const outbounds = new Set<(message: OutboundMessage) => void>()
  const publish = (topic: string, payload: string, retain: boolean): void => {
    if (!isRunning()) return
    for (const send of outbounds) {
      try {
        send({ topic, payload, retain })
      } catch (error) {
        log.warn('a publish failed', { topic, error })
      }
    }
    const client = currentClient()
    if (client === undefined) return
    client.publish(topic, payload, { qos: 1, retain }, (error) => {
      if (error) log.warn('a publish failed', { topic, error })
    })
  }
  const scheduleAck = (m: MeterRuntime): void => {
    if (ackScheduled.size === 0) {
      setImmediate(() => {
        const due = ackScheduled
        ackScheduled = new Set()
        for (const meter of due) {
          if (meter.durable.base !== null && meter.durable.mark >= meter.durable.base) {
            publish(ackTopic(meter.address), JSON.stringify({ seq: meter.durable.mark }), true)
          }
        }
      })
    }
    ackScheduled.add(m)
  }
  const requestResend = (m: MeterRuntime, from: number, to: number): void => {
    const key = `${from}-${to}`
    m.resendAttempts.set(key, (m.resendAttempts.get(key) ?? 0) + 1)
    log.info('asked the meter to resend records', { meter: m.address, from, to })
    publish(resendTopic(m.address), JSON.stringify({ from, to }), false)
  }
  const requestPeriod = (m: MeterRuntime, periodStart: number): void => {
    const requests = (m.periodRequests.get(periodStart) ?? 0) + 1
    m.periodRequests.set(periodStart, requests)
    if (requests === 1) {
      anomaly({
        kind: 'period-missing',
        rejected: false,
        meter: m.address,
        reason: `the signed close of the period starting ${periodStart} never arrived; asked the meter to resend it`,
        details: { periodStart },
      })
    }
    log.info('asked the meter to resend a period close', { meter: m.address, periodStart })
    publish(resendPeriodTopic(m.address), JSON.stringify({ periodStart }), false)
  }
  /** Asks for a missing close once when it is first noticed; the timer repeats the request. */
  const checkMissingClose = (m: MeterRuntime, latestIntervalStart?: number): void => {
    const start = missingClose(m, cfg, latestIntervalStart)
    if (start !== undefined && !m.periodRequests.has(start)) requestPeriod(m, start)
  }
  const resendOutstanding = (): void => {
    for (const m of meters.values()) {
      const gaps = m.durable.gaps()
      for (const key of m.resendAttempts.keys()) {
        if (!gaps.some((g) => `${g.from}-${g.to}` === key)) m.resendAttempts.delete(key)
      }
      for (const gap of gaps) requestResend(m, gap.from, gap.to)
      for (const start of m.periodRequests.keys()) if (m.periods.has(start)) m.periodRequests.delete(start)
      const start = missingClose(m, cfg)
      if (start !== undefined) requestPeriod(m, start)
    }
  }

  /** Repeats outstanding Resend and ResendPeriod requests; one timer serves every transport. */
  const repeat = (): void => {
    if (resendTimer !== undefined) return
    resendTimer = setInterval(resendOutstanding, cfg.resendIntervalMs)
    resendTimer.unref()
  }

  return {
    scheduleAck,
    requestResend,
    checkMissingClose,
    /** How many transports besides MQTT are attached. */
    get attached(): number {
      return outbounds.size
    },
    /** At start: the current acks (what a retained message gives an MQTT meter), then Resends, repeating. */
    begin(): void {
      for (const m of meters.values()) scheduleAck(m)
      resendOutstanding()
      repeat()
    },
    end(): void {
      if (resendTimer !== undefined) clearInterval(resendTimer)
    },
    add(send: (message: OutboundMessage) => void): () => void {
      outbounds.add(send)
      if (isRunning()) {
        for (const m of meters.values()) {
          if (m.durable.base !== null && m.durable.mark >= m.durable.base) {
            send({
              topic: ackTopic(m.address),
              payload: JSON.stringify({ seq: m.durable.mark }),
              retain: true,
            })
          }
        }
        // Without MQTT nothing repeats the Resend requests yet; the timer serves every transport.
        repeat()
      }
      return () => {
        outbounds.delete(send)
      }
    },
  }
}
