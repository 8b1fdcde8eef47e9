/**
 * Crash-safe JSON documents: write to a temp file, fsync it, rename over the target, fsync the
 * directory. A reader after a crash at any instant sees either the old or the new document,
 * never a torn one — what "never lose stored data" needs for small state files.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'
import { type DiskOps, nodeDisk } from './disk.ts'

export class CorruptStateFileError extends ZkMeterError {
  override name = 'CorruptStateFileError'
  override readonly category = 'internal'
}

/**
 * Replaces `path` with `text` atomically and durably: a unique temp file beside it, fsync, rename
 * over, fsync the directory (so the rename itself survives a power cut). The temp file is removed
 * if anything fails (a full disk mid-write included: the target keeps its old content, and no
 * half-written temp file is left to fill the disk further). The one mechanism every small state
 * file of the node uses.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  mode = 0o600,
  disk: DiskOps = nodeDisk,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await disk.open(tmp, 'w', mode)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
  const dir = await disk.open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** JSON documents (bigints as decimal strings) through writeFileAtomic. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`
  await writeFileAtomic(path, text)
}

/** A file's text, or `undefined` if it does not exist (any other failure is thrown). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Reads a JSON document; `undefined` if it does not exist; a named error if it is not JSON. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readTextIfExists(path)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new CorruptStateFileError(`state file ${path} is not valid JSON; restore it from a backup`, {
      cause,
    })
  }
}
