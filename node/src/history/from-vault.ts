/**
 * The chart history rebuilt from the vault (the durable, encrypted copy of every record). Called
 * once ingestion has started: the journal's replay has flushed the records a crash left out of the
 * vault by then, so the history holds them too (issue 15). Intervals a billed period rebuilt from
 * signed counters are filled in (rebuilt.ts), so a period's exported sum is its billed energy.
 */
import type { Vault } from '../vault/index.ts'
import { createReadingHistory, type ReadingHistory } from './readings.ts'
import { intervalsFromCounters } from './rebuilt.ts'

export async function loadReadingHistory(
  vault: Vault,
  intervalSeconds: number,
  into: ReadingHistory = createReadingHistory({ intervalSeconds }),
): Promise<ReadingHistory> {
  const intervals: { kind: number; time: number; energyWh: number; intervalWh: number }[] = []
  for (const period of await vault.listPeriods()) {
    const records =
      period.status === 'sealed' && period.manifestCid
        ? await vault.readPeriod(period.manifestCid)
        : await vault.readOpenPeriod(period.meter, period.periodStart)
    for (const record of records) {
      into.add(record)
      if (record.kind === 1) intervals.push(record)
    }
  }
  for (const { time, intervalWh } of intervalsFromCounters(intervals, intervalSeconds))
    into.fill(time, intervalWh)
  return into
}
