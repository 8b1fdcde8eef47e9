/**
 * Persistence for the embedded development chain. EDR cannot dump and restore its state, but its
 * state is a pure function of the signed transactions it mined, in order. So every
 * `eth_sendRawTransaction` is appended to a journal (fsync'd) BEFORE it reaches the chain, and on
 * start the journal is replayed into a fresh chain: same transactions, same nonces, same contract
 * addresses, same receipts and events. A transaction the chain refused is replayed, refused again
 * and skipped. A torn last line (a crash mid-append) is ignored: its transaction never got an
 * answer, so nobody relied on it.
 *
 * Writes that bypass raw transactions (unlocked-account eth_sendTransaction, evm_* tweaks) are
 * refused here, because they could not be replayed deterministically.
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'
import type { Eip1193Provider } from '../../../contracts/ts/chain.ts'

export class UnjournaledWriteError extends ZkMeterError {
  override name = 'UnjournaledWriteError'
  readonly code = 4200
}

const UNREPLAYABLE = /^(eth_sendTransaction|hardhat_|evm_(?!snapshot$|revert$))/

interface JournalEntry {
  raw: `0x${string}`
}

export interface JournaledProvider extends Eip1193Provider {
  /** Transactions replayed at open, and how many of them the chain refused again. */
  readonly replayed: { total: number; refused: number }
  close(): Promise<void>
}

async function readJournal(path: string): Promise<JournalEntry[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const entries: JournalEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      const entry = JSON.parse(line) as JournalEntry
      if (typeof entry.raw === 'string' && /^0x[0-9a-f]*$/i.test(entry.raw)) entries.push(entry)
    } catch {
      // torn tail from a crash mid-append: never acknowledged, safe to drop
    }
  }
  return entries
}

export async function openJournaledProvider(
  inner: Eip1193Provider,
  journalPath: string,
): Promise<JournaledProvider> {
  await mkdir(dirname(journalPath), { recursive: true, mode: 0o700 })
  const entries = await readJournal(journalPath)
  let refused = 0
  for (const entry of entries) {
    try {
      await inner.request({ method: 'eth_sendRawTransaction', params: [entry.raw] })
    } catch {
      refused++
    }
  }
  const file = await open(journalPath, 'a', 0o600)
  // One append at a time: the journal's order must be the order the chain saw.
  let queue: Promise<unknown> = Promise.resolve()

  return {
    replayed: { total: entries.length, refused },
    async request(args) {
      if (UNREPLAYABLE.test(args.method)) {
        throw new UnjournaledWriteError(
          `${args.method} is refused by the persistent dev chain: sign transactions and send them with eth_sendRawTransaction`,
        )
      }
      if (args.method !== 'eth_sendRawTransaction') return inner.request(args)
      const params = Array.isArray(args.params) ? args.params : []
      const raw = params[0]
      if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]+$/.test(raw)) return inner.request(args)
      const result = queue.then(async () => {
        await file.appendFile(`${JSON.stringify({ raw })}\n`)
        await file.sync()
        return inner.request(args)
      })
      queue = result.catch(() => {})
      return result
    },
    async close() {
      await queue
      await file.close()
    },
  }
}
