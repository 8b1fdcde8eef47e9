/**
 * The chart history rebuilt at start from the vault (the durable, encrypted copy of every record).
 * Called once ingestion has started: the journal's replay has flushed the records a crash left out
 * of the vault by then, so the history holds them too (issue 15). Open periods are read before the
 * node answers: they hold the latest reading and today. Sealed periods (a year of them takes seconds
 * to read and decrypt, docs/reliability.md) are read after, into a history of their own merged in at
 * the end; history reads wait for them (whenLoaded), so no view or export is ever answered from part
 * of the vault. Intervals a billed period rebuilt from signed counters are filled in once every
 * record is read (rebuilt.ts), so a period's exported sum is its billed energy.
 */
import type { Vault } from '../vault/index.ts'
import { createReadingHistory, type ReadingHistory } from './readings.ts'
import { intervalsFromCounters } from './rebuilt.ts'

type IntervalRecord = {
  kind: number
  time: number
  energyWh: number
  intervalWh: number
  exportedWh: number
  intervalExportedWh: number
}

export async function loadReadingHistory(
  vault: Pick<Vault, 'listPeriods' | 'readPeriod' | 'readOpenPeriod'>,
  intervalSeconds: number,
  options: { into?: ReadingHistory; onError?: (error: unknown) => void } = {},
): Promise<ReadingHistory> {
  const history = options.into ?? createReadingHistory({ intervalSeconds })
  const intervals: IntervalRecord[] = []
  const fillRebuilt = (target: ReadingHistory) => {
    for (const { time, intervalWh, exportedWh } of intervalsFromCounters(intervals, intervalSeconds))
      target.fill(time, intervalWh, exportedWh)
  }
  const sealed: string[] = []
  for (const period of await vault.listPeriods()) {
    if (period.status === 'sealed' && period.manifestCid) {
      sealed.push(period.manifestCid.toString())
      continue
    }
    for (const record of await vault.readOpenPeriod(period.meter, period.periodStart)) {
      history.add(record)
      if (record.kind === 1) intervals.push(record)
    }
  }
  if (sealed.length === 0) {
    fillRebuilt(history)
    return history
  }
  const older = (async () => {
    // Let the node finish starting first: this is the slow part of a start.
    await new Promise((resolve) => setImmediate(resolve))
    const apart = createReadingHistory({ intervalSeconds })
    for (const cid of sealed) {
      for (const record of await vault.readPeriod(cid)) {
        apart.add(record)
        if (record.kind === 1) intervals.push(record)
      }
    }
    history.absorb(apart)
    fillRebuilt(history)
  })()
  // Readers see the error through whenLoaded(); this only keeps it from going unhandled.
  older.catch((error) => options.onError?.(error))
  history.loading(older)
  return history
}
