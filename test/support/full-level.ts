/**
 * An injectable full disk for LevelDB (classic-level, the native store under Helia's blockstore and
 * datastore), the counterpart of full-disk.ts for the writes that do not go through
 * node/src/storage/disk.ts: while `full` is set, every put, del and batch of a database opened
 * under `under` fails as LevelDB fails on ENOSPC (its code LEVEL_IO_ERROR, strerror's text in the
 * message) and writes nothing, as a failed LevelDB write leaves its data. Everything above the
 * native binding (blockstore-level, Helia, the vault, the ingestor) runs unchanged.
 * `install()` patches ClassicLevel's prototype, so it reaches databases opened before it;
 * `uninstall()` puts the originals back.
 *
 * `sticky` is LevelDB's background error: a compaction (or memtable flush) that fails on ENOSPC
 * leaves the database refusing every later write with that error, space or not, until it is closed
 * and opened again. With it set, a database that refused a write keeps refusing until reopened.
 */
import { createRequire } from 'node:module'

export interface FullLevel {
  full: boolean
  /** A refused write leaves the database refusing until it is reopened (LevelDB's background error). */
  sticky: boolean
  /** Writes refused so far. */
  failures: number
  /** Databases opened (again) since install. */
  opens: number
  uninstall(): void
}

type Method = (this: { location?: string }, ...args: unknown[]) => Promise<unknown>

export function installFullLevel(under: string): FullLevel {
  const { ClassicLevel } = createRequire(import.meta.url)('classic-level') as {
    ClassicLevel: { prototype: Record<string, Method> }
  }
  const proto = ClassicLevel.prototype
  const originals = new Map<string, Method>()
  const poisoned = new WeakSet<object>()
  const state: FullLevel = {
    full: false,
    sticky: false,
    failures: 0,
    opens: 0,
    uninstall() {
      for (const [name, fn] of originals) proto[name] = fn
    },
  }
  const originalOpen = proto._open as Method
  originals.set('_open', originalOpen)
  proto._open = async function (this: { location?: string }, ...args: unknown[]) {
    const opened = await originalOpen.apply(this, args)
    if (String(this.location ?? '').startsWith(under)) {
      poisoned.delete(this)
      state.opens++
    }
    return opened
  }
  for (const name of ['_put', '_del', '_batch']) {
    const original = proto[name] as Method
    originals.set(name, original)
    proto[name] = async function (this: { location?: string }, ...args: unknown[]) {
      const ours = String(this.location ?? '').startsWith(under)
      if (ours && (state.full || poisoned.has(this))) {
        if (state.sticky) poisoned.add(this)
        state.failures++
        throw Object.assign(new Error(`IO error: ${this.location}/000005.log: No space left on device`), {
          code: 'LEVEL_IO_ERROR',
        })
      }
      return original.apply(this, args)
    }
  }
  return state
}
