/** The chart history rebuilt at start from the vault (the durable, encrypted copy of every record). */
import type { Vault } from '../vault/index.ts'
import { createReadingHistory, type ReadingHistory } from './readings.ts'

export async function loadReadingHistory(vault: Vault, intervalSeconds: number): Promise<ReadingHistory> {
  const history = createReadingHistory({ intervalSeconds })
  for (const period of await vault.listPeriods()) {
    const records =
      period.status === 'sealed' && period.manifestCid
        ? await vault.readPeriod(period.manifestCid)
        : await vault.readOpenPeriod(period.meter, period.periodStart)
    for (const record of records) history.add(record)
  }
  return history
}
