/**
 * The resident's chart history and CSV export, kept equal to the vault (issue 15). Two steps around
 * the ingestor's start: openHistory before it (assembled periods fill in the intervals their proof
 * rebuilt from signed counters), completeHistory after it — the start replays the journal, and its
 * catch-up flushes into the vault what a crash left only in the journal; those replayed records
 * raise no 'record' event, so the vault is read only once the catch-up is over.
 */
import { loadReadingHistory } from '../history/from-vault.ts'
import { createReadingHistory, type ReadingHistory } from '../history/readings.ts'
import { periodIntervals } from '../history/rebuilt.ts'
import type { Ingestor, PeriodResult } from '../ingest/ingestor.ts'
import type { Vault } from '../vault/index.ts'

interface HistoryOptions {
  ingestor: Ingestor
  vault: Vault
  intervalSeconds: number
  /** Reading the sealed periods back failed (they are read after the node answers: from-vault.ts). */
  onError?: (error: unknown) => void
}

function fillPeriod(history: ReadingHistory, result: PeriodResult, intervalSeconds: number): void {
  const intervals = periodIntervals(result.period, result.readings, intervalSeconds, result.exportReadings)
  for (const { time, intervalWh, exportedWh } of intervals) history.fill(time, intervalWh, exportedWh)
}

/** An empty history that takes assembled periods' readings; records are the caller's to add. */
export function openHistory(options: HistoryOptions): ReadingHistory {
  const history = createReadingHistory({ intervalSeconds: options.intervalSeconds })
  options.ingestor.on('period', (result) => fillPeriod(history, result, options.intervalSeconds))
  return history
}

/**
 * After ingestor.start(), without waiting: everything the vault holds, and the periods assembled
 * before a crash, read once the start's catch-up has flushed the journal's backlog into the vault
 * (ingestor.whenCaughtUp) and merged into the history (ReadingHistory.absorb: the live records that
 * arrived meanwhile win). Every history read waits for it (whenLoaded), so no view or export is
 * answered from part of the vault, while the rest of the API answers at once. Before, the node's
 * start waited for the flush and for the open periods' read (72 s and 12 s after a long outage).
 */
export function completeHistory(history: ReadingHistory, options: HistoryOptions): void {
  const loading = (async () => {
    await options.ingestor.whenCaughtUp()
    const fromVault = await loadReadingHistory(options.vault, options.intervalSeconds)
    await fromVault.whenLoaded()
    history.absorb(fromVault)
    for (const result of options.ingestor.periods()) fillPeriod(history, result, options.intervalSeconds)
  })()
  // Readers see the error through whenLoaded(); this only keeps it from going unhandled.
  loading.catch((error) => options.onError?.(error))
  history.loading(loading)
}
