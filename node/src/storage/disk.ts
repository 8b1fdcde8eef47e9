/**
 * The node's writes to its own disk go through these few calls (the ingest journal, atomic state
 * files): one place where a full disk is recognised, and where a test injects one (ENOSPC mid-write)
 * without a small filesystem of its own. Production uses node:fs/promises as is. Helia's stores
 * (LevelDB, native) write on their own; isDiskFull recognises their full disk too, and the ingestor
 * handles it the same way (the alarm, a retry) since every vault write goes through it.
 */
import { open, statfs } from 'node:fs/promises'

export interface DiskOps {
  open: typeof open
  statfs: typeof statfs
}

export const nodeDisk: DiskOps = { open, statfs }

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT'])
/**
 * The same two errors as LevelDB (Helia's block and data stores) reports them: its code is only
 * LEVEL_IO_ERROR, the errno survives as strerror's text in the message ("IO error: …/000123.log:
 * No space left on device"), and blockstore-level rethrows it as a PutFailedError of that text.
 */
const FULL_TEXT = /No space left on device|Disk quota exceeded/

/** Whether an error (or one of its causes) says the disk or the user's quota is full. */
export function isDiskFull(error: unknown): boolean {
  let current = error
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && FULL_CODES.has(code)) return true
    const message = (current as { message?: unknown }).message
    if (typeof message === 'string' && FULL_TEXT.test(message)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/** Bytes an unprivileged writer can still use on the filesystem holding `path`. */
export async function freeBytes(path: string, disk: DiskOps = nodeDisk): Promise<number> {
  const s = await disk.statfs(path)
  return Number(s.bavail) * Number(s.bsize)
}
