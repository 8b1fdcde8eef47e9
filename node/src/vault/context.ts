/**
 * What every vault operation works with: the Helia node, a private copy of the root key, the fetch
 * timeout and the period index; and the guard that names the failures of a stopped node.
 */
import type { Helia } from 'helia'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { DEFAULT_FETCH_TIMEOUT_MS } from './blocks.ts'
import { StorageError } from './errors.ts'
import { KEY_BYTES } from './keys.ts'
import { createPeriodIndex, type PeriodIndex } from './period-index.ts'

export interface VaultOptions {
  helia: Helia
  rootKey: Uint8Array
  /** Per-block timeout for reads that have to fetch from peers; default DEFAULT_FETCH_TIMEOUT_MS. */
  fetchTimeoutMs?: number
}

export interface VaultContext {
  helia: Helia
  rootKey: Uint8Array
  timeoutMs: number
  index: PeriodIndex
  /** Runs `fn` on a started node; turns low-level failures of a stopped one into StorageError. */
  guard<T>(what: string, fn: () => Promise<T>): Promise<T>
}

/** Validates the options; throws InvalidInputError naming what is missing. */
export function createVaultContext(options: VaultOptions): VaultContext {
  const { helia } = options
  if (
    helia == null ||
    typeof helia.blockstore?.put !== 'function' ||
    typeof helia.datastore?.put !== 'function'
  ) {
    throw new InvalidInputError('createVault needs { helia }: a started Helia node')
  }
  if (!(options.rootKey instanceof Uint8Array) || options.rootKey.length !== KEY_BYTES) {
    throw new InvalidInputError(`createVault needs the ${KEY_BYTES}-byte root key (see openRootKeyFile)`)
  }
  // A private copy: the caller may wipe theirs.
  const rootKey = Uint8Array.from(options.rootKey)
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
    throw new InvalidInputError('fetchTimeoutMs must be > 0')

  const stopped = (what: string, cause?: unknown): StorageError =>
    new StorageError(`cannot ${what}: the storage node is ${helia.status}; start it first`, { cause })
  /** Turns low-level failures of a stopped node (closed LevelDB, stopped libp2p) into a named error. */
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (helia.status !== 'started') throw stopped(what)
    try {
      return await fn()
    } catch (err) {
      if (!(err instanceof ZkMeterError) && helia.status !== 'started') throw stopped(what, err)
      throw err
    }
  }
  return { helia, rootKey, timeoutMs, index: createPeriodIndex(helia), guard }
}
