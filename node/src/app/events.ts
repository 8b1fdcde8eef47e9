/**
 * Where the services' events go: records to the chart history, automation and the live stream;
 * verified periods to billing; bills, alarms and relay changes to the stream.
 */

import type { AssetInfo } from '../../../contracts/ts/ledger.ts'
import { toReading } from '../automation/reading.ts'
import type { Automation } from '../automation/service.ts'
import type { Biller } from '../billing/biller.ts'
import type { ReadingHistory } from '../history/readings.ts'
import type { SseHub } from '../http/server.ts'
import { alarmView, assetView, billView } from '../http/views.ts'
import type { Ingestor, PeriodResult } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'

const ALARM_EVENTS = [
  'raised',
  'blipped',
  'reactivated',
  'reacted',
  'escalated',
  'cleared',
  'acknowledged',
  'closed',
] as const

export function routeEvents(options: {
  ingestor: Ingestor
  history: ReadingHistory
  automation: Automation
  biller: Biller
  billPeriod(period: PeriodResult): void
  stream: SseHub
  /** What the bills are in (the `bill` event's asset, as GET /api/bills has it); absent: Ether. */
  asset?: AssetInfo
  log: Logger
}): void {
  const { ingestor, history, automation, stream, log } = options
  ingestor.on('record', (event) => {
    history.add(event.record)
    try {
      automation.onReading(toReading(event.record))
    } catch (error) {
      log.warn('automation refused a reading', { error })
    }
    stream.publish('reading', history.latest())
  })
  ingestor.on('anomaly', (anomaly) => stream.publish('anomaly', anomaly))
  ingestor.on('period', options.billPeriod)
  // The same Bill view as GET /api/bills: kind, credit, creditUsed and amountDue included.
  const asset = assetView(options.asset)
  options.biller.on('bill', (bill) => stream.publish('bill', billView(bill, asset)))
  for (const event of ALARM_EVENTS) {
    automation.alarms.events.on(event, (alarm) => stream.publish('alarm', alarmView(alarm)))
  }
  automation.commander.events.on('relay', (channel, on) => stream.publish('relay', { channel, on }))
  automation.commander.events.on('fanSpeed', (fanSpeed) => stream.publish('relay', { fanSpeed }))
}
