/**
 * The grants the resident gave: which sealed period (by manifest CID) was opened to which
 * recipient's key, and when. The grant itself is the vault's (vault.grant); this is the household's
 * own list of them, `<data-dir>/grants.json`, appended to and shown on the privacy page.
 */
import { join } from 'node:path'
import type { GrantRecord } from '#protocol/api/types.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'

/** One grant as GET /api/privacy lists it. */
export type GrantEntry = GrantRecord

export interface GrantStore {
  /** Every grant recorded, oldest first (entries written by older versions as they are). */
  list(): Promise<GrantEntry[]>
  append(entry: GrantEntry): Promise<void>
}

export function openGrantStore(dataDir: string): GrantStore {
  const file = join(dataDir, 'grants.json')
  // The node's own file, written only by append below.
  const list = async () => ((await readJsonFile(file)) as { grants?: GrantEntry[] } | undefined)?.grants ?? []
  return {
    list,
    async append(entry) {
      await writeJsonAtomic(file, { grants: [...(await list()), entry] })
    },
  }
}
