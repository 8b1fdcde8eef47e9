/**
 * Message routing: the boundary every meter message crosses. By the topic's last level it picks the
 * message kind (SENSOR, PERIOD, GONE, STATE), parses it against the exact schema, finds the meter,
 * checks the signature of signed kinds and only then hands it to that kind's handler; every refusal
 * on the way is a rejection with a named reason. Kept apart so no handler ever sees an unchecked
 * message.
 */
import { maxPeriodDays } from '#protocol/meter/period.ts'
import {
  parseGonePayload,
  parsePeriodPayload,
  parseSensorPayload,
  parseStatePayload,
} from '#protocol/records.ts'
import { type Anomaly, type AnomalyKind, kindOfError } from './anomalies.ts'
import type { IngestorConfig } from './config.ts'
import type { IngestOutcome, MeterRuntime } from './types.ts'

type Handler<P> = (m: MeterRuntime, parsed: P) => Promise<IngestOutcome> | IngestOutcome

export interface RouterDeps {
  meters: ReadonlyMap<string, MeterRuntime>
  cfg: Pick<IngestorConfig, 'interval' | 'n'>
  counters: { received: number; processed: number }
  reject(kind: AnomalyKind, reason: string, extra?: Partial<Anomaly>): IngestOutcome
  handlers: {
    SENSOR: Handler<ReturnType<typeof parseSensorPayload>>
    PERIOD: Handler<ReturnType<typeof parsePeriodPayload>>
    GONE: Handler<ReturnType<typeof parseGonePayload>>
    STATE: Handler<ReturnType<typeof parseStatePayload>>
  }
}

/** Returns `ingest(topic, payload)`: resolves once the message is taken in or refused. */
export function createRouter({ meters, cfg, counters, reject, handlers }: RouterDeps) {
  /**
   * The boundary check every meter message goes through: parse (schema), find the meter, check the
   * signature of signed messages (`verify`), and only then hand the message to `handle`; every
   * refusal on the way is an anomaly with the reason.
   */
  const admit = async <P extends { meter: `0x${string}` }>(
    topic: string,
    parse: () => P,
    verify: ((m: MeterRuntime, parsed: P) => void) | undefined,
    handle: (m: MeterRuntime, parsed: P) => Promise<IngestOutcome> | IngestOutcome,
    seqOf?: (parsed: P) => number,
  ): Promise<IngestOutcome> => {
    let parsed: P
    try {
      parsed = parse()
    } catch (error) {
      return reject(kindOfError(error), (error as Error).message, { topic: topic.slice(0, 120) })
    }
    const { meter } = parsed
    const m = meters.get(meter)
    if (m === undefined)
      return reject('unknown-meter', `meter ${meter} is not registered with this node`, { meter })
    try {
      verify?.(m, parsed)
    } catch (error) {
      const at = seqOf === undefined ? {} : { seq: seqOf(parsed) }
      return reject(kindOfError(error), (error as Error).message, { meter, ...at })
    }
    return handle(m, parsed)
  }

  /** One message kind: how to parse it, check its signature (signed kinds) and take it in. */
  interface Route<P extends { meter: `0x${string}` }> {
    parse(topic: string, payload: Uint8Array | string): P
    verify?(m: MeterRuntime, parsed: P): void
    handle(m: MeterRuntime, parsed: P): Promise<IngestOutcome> | IngestOutcome
    seqOf?(parsed: P): number
  }
  const route =
    <P extends { meter: `0x${string}` }>(r: Route<P>) =>
    (topic: string, payload: Uint8Array | string): Promise<IngestOutcome> =>
      admit(topic, () => r.parse(topic, payload), r.verify, r.handle, r.seqOf)
  const parseOptions = {
    intervalSeconds: cfg.interval,
    maxPeriodDays: maxPeriodDays({ intervalSeconds: cfg.interval, n: cfg.n }),
  }
  /** By the last topic level; anything else is parsed as a SENSOR, whose parser names the topic error. */
  const routes: Record<string, (topic: string, payload: Uint8Array | string) => Promise<IngestOutcome>> = {
    SENSOR: route({
      parse: (t, p) => parseSensorPayload(t, p, parseOptions),
      verify: (m, { record, signature }) => m.verifier.verifyRecord(record, signature),
      handle: handlers.SENSOR,
      seqOf: ({ record }) => record.seq,
    }),
    PERIOD: route({
      parse: (t, p) => parsePeriodPayload(t, p, parseOptions),
      // Both halves of the close: the import signature (BillingPeriod) and the export one (ExportPeriod).
      verify: (m, { period, signature, export: exportClose }) => {
        m.verifier.verifyPeriod(period, signature)
        m.verifier.verifyExport(period, exportClose)
      },
      handle: handlers.PERIOD,
    }),
    GONE: route({
      parse: parseGonePayload,
      verify: (m, { gone, signature }) => m.verifier.verifyGone(gone, signature),
      handle: handlers.GONE,
      seqOf: ({ gone }) => gone.fromSeq,
    }),
    STATE: route({ parse: (t, p) => parseStatePayload(t, p, parseOptions), handle: handlers.STATE }),
  }

  const ingest = async (topic: string, payload: Uint8Array | string): Promise<IngestOutcome> => {
    counters.received++
    try {
      if (typeof topic !== 'string') return reject('bad-topic', 'topic must be a string')
      const handler =
        routes[topic.slice(topic.lastIndexOf('/') + 1)] ?? (routes.SENSOR as (typeof routes)[string])
      return await handler(topic, payload)
    } finally {
      counters.processed++
    }
  }
  return ingest
}
