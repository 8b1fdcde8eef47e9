/**
 * The data directory is the resident's alone: every directory 0700, every file 0600
 * (docs/security.md, "Nothing plaintext at rest"). Two mechanisms, because neither suffices alone:
 * - the process umask drops group and other bits from everything the node and its libraries
 *   create from now on (LevelDB files, Helia's blocks, the chain's journal, child processes' files:
 *   a umask is inherited across fork and exec);
 * - a walk at start takes those bits off what an older version (or a copy from a backup) left.
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'

const PRIVATE_BITS = 0o077

/** From now on the process creates files 0600 and directories 0700 at most. */
export function restrictUmask(): void {
  // A worker thread may not change the process umask (Node throws); the node's main thread does.
  if (isMainThread) process.umask(process.umask() | PRIVATE_BITS)
}

/**
 * Creates `dir` (0700) if needed and takes group/other permissions off it and everything under it.
 * Symbolic links are not followed (a link could point outside). Returns how many entries changed.
 */
export async function makePrivateTree(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  let changed = 0
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path)
    if (info.isSymbolicLink()) return
    if ((info.mode & PRIVATE_BITS) !== 0) {
      await chmod(path, info.mode & 0o700)
      changed++
    }
    if (!info.isDirectory()) return
    for (const entry of await readdir(path)) await visit(join(path, entry))
  }
  await visit(dir)
  return changed
}
