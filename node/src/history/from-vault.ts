/**
 * The chart history rebuilt at start from the vault (the durable, encrypted copy of every record).
 * Open periods are read before the node answers: they hold the latest reading and today. Sealed
 * periods (a year of them takes seconds to read and decrypt, docs/reliability.md) are read after,
 * into a history of their own merged in at the end; history reads wait for them (whenLoaded), so no
 * view or export is ever answered from part of the vault.
 */
import type { Vault } from '../vault/index.ts'
import { createReadingHistory, type ReadingHistory } from './readings.ts'

export async function loadReadingHistory(
  vault: Pick<Vault, 'listPeriods' | 'readPeriod' | 'readOpenPeriod'>,
  intervalSeconds: number,
  options: { onError?: (error: unknown) => void } = {},
): Promise<ReadingHistory> {
  const history = createReadingHistory({ intervalSeconds })
  const periods = await vault.listPeriods()
  const sealed: string[] = []
  for (const period of periods) {
    if (period.status === 'sealed' && period.manifestCid) sealed.push(period.manifestCid.toString())
    else
      for (const record of await vault.readOpenPeriod(period.meter, period.periodStart)) history.add(record)
  }
  if (sealed.length === 0) return history
  const older = (async () => {
    // Let the node finish starting first: this is the slow part of a start.
    await new Promise((resolve) => setImmediate(resolve))
    const apart = createReadingHistory({ intervalSeconds })
    for (const cid of sealed) for (const record of await vault.readPeriod(cid)) apart.add(record)
    history.absorb(apart)
  })()
  // Readers see the error through whenLoaded(); this only keeps it from going unhandled.
  older.catch((error) => options.onError?.(error))
  history.loading(older)
  return history
}
