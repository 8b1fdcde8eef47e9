/**
 * The mesh's taps on the household node:
 *   ingestor 'record' (interval) ──► masked share of this interval's Wh; the observer collects the round
 *   ingestor 'period' (sealed) ──► k neighbours pin the encrypted manifest
 *   notices ──► the live stream ('notice')
 */
import type { SseHub } from '../../http/server.ts'
import type { Ingestor, PeriodResult, RecordEvent } from '../../ingest/ingestor.ts'
import type { Address } from '../signing.ts'
import type { AlertsBridge } from './alerts-bridge.ts'
import type { BackupQueue } from './backups.ts'
import type { Contribute } from './contribution.ts'
import type { AggregationObserver } from './observer.ts'

export interface IngestWiring {
  attach(ingestor: Ingestor, stream: SseHub): void
  detach(): void
}

export function createIngestWiring(deps: {
  meterAddress: Address
  observer: boolean
  contribute: Contribute
  aggregation: AggregationObserver
  backups: BackupQueue
  alerts: AlertsBridge
}): IngestWiring {
  const onRecord = (event: RecordEvent) => {
    if (event.record.kind !== 1 || event.meter !== deps.meterAddress) return
    const round = event.record.time
    deps.contribute(round, event.record.intervalWh)
    if (deps.observer) void deps.aggregation.collect(round)
  }
  const onPeriod = (period: PeriodResult) => {
    if (period.meter !== deps.meterAddress || period.manifestCid === undefined) return
    deps.backups.enqueue(period.period.periodStart, period.period.periodEnd, period.manifestCid)
  }
  let detach: (() => void) | undefined
  return {
    attach(ingestor, stream) {
      ingestor.on('record', onRecord)
      ingestor.on('period', onPeriod)
      deps.alerts.streamTo((event, data) => stream.publish(event, data))
      detach = () => {
        ingestor.off('record', onRecord)
        ingestor.off('period', onPeriod)
        deps.alerts.streamTo(undefined)
      }
    },
    detach: () => detach?.(),
  }
}
