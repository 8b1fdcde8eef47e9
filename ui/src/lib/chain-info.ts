/**
 * GET /api/chain, read once per page load and shared: the ledger, its chain, the home's asset and
 * the trusted setup do not change while the page is open, and three parts of the app need it (the
 * money format, the setup banner, the wallet payment). A failed read is forgotten, so the next
 * caller tries again instead of every view keeping the error.
 */
import { api } from './api.ts'
import type { ChainInfo } from './types.ts'

let once: Promise<ChainInfo> | undefined

export function chainInfo(): Promise<ChainInfo> {
  if (once === undefined) {
    const reading = api.chain()
    once = reading
    reading.catch(() => {
      if (once === reading) once = undefined
    })
  }
  return once
}
