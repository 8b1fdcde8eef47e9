/**
 * An injectable full disk for LevelDB (classic-level, the native store under Helia's blockstore and
 * datastore), the counterpart of full-disk.ts for the writes that do not go through
 * node/src/storage/disk.ts: while `full` is set, every put, del and batch of a database opened
 * under `under` fails as LevelDB fails on ENOSPC (its code LEVEL_IO_ERROR, strerror's text in the
 * message) and writes nothing, as a failed LevelDB write leaves its data. Everything above the
 * native binding (blockstore-level, Helia, the vault, the ingestor) runs unchanged.
 * `install()` patches ClassicLevel's prototype, so it reaches databases opened before it;
 * `uninstall()` puts the originals back.
 */
import { createRequire } from 'node:module'

export interface FullLevel {
  full: boolean
  /** Writes refused so far. */
  failures: number
  uninstall(): void
}

type Method = (this: { location?: string }, ...args: unknown[]) => Promise<unknown>

export function installFullLevel(under: string): FullLevel {
  const { ClassicLevel } = createRequire(import.meta.url)('classic-level') as {
    ClassicLevel: { prototype: Record<string, Method> }
  }
  const proto = ClassicLevel.prototype
  const originals = new Map<string, Method>()
  const state: FullLevel = {
    full: false,
    failures: 0,
    uninstall() {
      for (const [name, fn] of originals) proto[name] = fn
    },
  }
  for (const name of ['_put', '_del', '_batch']) {
    const original = proto[name] as Method
    originals.set(name, original)
    proto[name] = async function (this: { location?: string }, ...args: unknown[]) {
      if (state.full && String(this.location ?? '').startsWith(under)) {
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
