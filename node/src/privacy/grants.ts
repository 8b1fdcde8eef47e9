/**
 * The grants the resident gave: which sealed period (by manifest CID) was opened to which
 * recipient's key, and when. The grant itself is the vault's (vault.grant); this is the household's
 * own list of them, `<data-dir>/grants.json`, appended to and shown on the privacy page.
 */
import { join } from 'node:path'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'

export interface GrantEntry {
  manifestCid: string
  billId: string
  /** The recipient's public key as the resident gave it. */
  recipient: unknown
  createdAt: string
}

export interface GrantStore {
  /** Every grant recorded, oldest first (entries written by older versions as they are). */
  list(): Promise<unknown[]>
  append(entry: GrantEntry): Promise<void>
}

export function openGrantStore(dataDir: string): GrantStore {
  const file = join(dataDir, 'grants.json')
  const list = async () => ((await readJsonFile(file)) as { grants?: unknown[] } | undefined)?.grants ?? []
  return {
    list,
    async append(entry) {
      await writeJsonAtomic(file, { grants: [...(await list()), entry] })
    },
  }
}
