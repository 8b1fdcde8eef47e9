/**
 * A private Helia node for the household vault.
 *
 * Built from the light composition (`createHeliaLight` + `withLibp2pLight` + `withBitswap`) rather than
 * `createHelia()`, which listens on every interface, bootstraps to public peers and sends lookups to
 * public delegated routers (leaking the CIDs we store). Here: no bootstrap, no peer discovery, no
 * delegated or DHT routing; blocks move only by bitswap between peers we dial on purpose (neighbours,
 * a pinning service). Stores are blockstore-level + datastore-level under `dir`: Helia neither opens
 * nor closes them, so this module does, including when start fails.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight, type Helia } from 'helia'
import type { Libp2pOptions } from 'libp2p'
import { InvalidInputError } from '#protocol/errors.ts'
import { StorageError } from '../vault/errors.ts'

/** TCP and WebSockets on loopback, OS-chosen ports. */
export const DEFAULT_LISTEN: readonly string[] = Object.freeze([
  '/ip4/127.0.0.1/tcp/0',
  '/ip4/127.0.0.1/tcp/0/ws',
])

/** A Helia node with a libp2p instance (owned by it, or shared with the mesh). */
export type HeliaWithLibp2p = Helia & { libp2p: Libp2p }

export interface HeliaNodeOptions {
  /** Data directory: `blocks/` and `datastore/` (LevelDB) are created under it. */
  dir: string
  /**
   * An existing libp2p node to run bitswap on (e.g. the mesh's, with gossipsub). It must have identify,
   * a transport and an encrypter/muxer the peers share. It is neither started nor stopped here.
   */
  libp2p?: Libp2p
  /** Listen addresses when this module creates libp2p; default DEFAULT_LISTEN. */
  listen?: readonly string[]
}

export interface HeliaNode {
  readonly helia: HeliaWithLibp2p
  readonly libp2p: Libp2p
  /** Whether stop() also stops libp2p (true when this module created it). */
  readonly ownsLibp2p: boolean
  /** Stops Helia (and libp2p if owned) and closes the stores. Safe to call more than once. */
  stop(): Promise<void>
  /**
   * Closes and opens the LevelDB stores again, Helia running. LevelDB keeps the error of a
   * background write that failed (a compaction on a full disk) and refuses every later write with
   * it until the database is reopened: this is how the node gets its vault back once space is.
   */
  reopenStores(): Promise<void>
}

/**
 * libp2p options for a private node: explicit transports, noise, yamux, identify, no discovery, no
 * bootstrap, no DHT. The mesh can start from these (adding gossipsub, mDNS…) and pass the node in.
 */
export function privateLibp2pOptions(listen: readonly string[] = DEFAULT_LISTEN): Libp2pOptions<{
  identify: ReturnType<ReturnType<typeof identify>>
}> {
  return {
    addresses: { listen: [...listen] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    services: { identify: identify() },
  }
}

function checkOptions(options: HeliaNodeOptions): void {
  if (typeof options?.dir !== 'string' || options.dir.length === 0) {
    throw new InvalidInputError(
      'createHeliaNode needs { dir }: the directory that holds the block and data stores',
    )
  }
  if (
    options.listen !== undefined &&
    (!Array.isArray(options.listen) || options.listen.some((a) => typeof a !== 'string'))
  ) {
    throw new InvalidInputError('listen must be an array of multiaddr strings')
  }
  if (options.libp2p !== undefined && options.listen !== undefined) {
    throw new InvalidInputError('pass either an existing libp2p node or listen addresses, not both')
  }
}

/** Attaches an existing libp2p node to Helia without taking over its lifecycle. */
function withSharedLibp2p(helia: Helia, libp2p: Libp2p): HeliaWithLibp2p {
  Object.defineProperty(helia, 'libp2p', { configurable: true, enumerable: true, value: libp2p })
  return helia as HeliaWithLibp2p
}

export async function createHeliaNode(options: HeliaNodeOptions): Promise<HeliaNode> {
  checkOptions(options)
  const blocksDir = join(options.dir, 'blocks')
  const dataDir = join(options.dir, 'datastore')
  await mkdir(blocksDir, { recursive: true, mode: 0o700 })
  await mkdir(dataDir, { recursive: true, mode: 0o700 })

  const blockstore = new LevelBlockstore(blocksDir)
  const datastore = new LevelDatastore(dataDir)
  const closeStores = async (): Promise<void> => {
    await Promise.allSettled([blockstore.close(), datastore.close()])
  }
  try {
    await blockstore.open()
    await datastore.open()
  } catch (err) {
    await closeStores()
    throw new StorageError(
      `cannot open the stores under ${options.dir}: is another zkmeter node using this data directory?`,
      { details: { dir: options.dir }, cause: err },
    )
  }

  const ownsLibp2p = options.libp2p === undefined
  let helia: HeliaWithLibp2p
  try {
    const light = createHeliaLight({ blockstore, datastore, codecs: [dagCbor] })
    const withNet =
      options.libp2p === undefined
        ? withLibp2pLight(light, privateLibp2pOptions(options.listen ?? DEFAULT_LISTEN))
        : withSharedLibp2p(light, options.libp2p)
    helia = withBitswap(withNet) as HeliaWithLibp2p
  } catch (err) {
    await closeStores()
    throw err
  }

  try {
    await helia.start()
  } catch (err) {
    // Helia may be half started (libp2p listening, bitswap registered): undo what it did, then the stores.
    await helia.stop().catch(() => {})
    await closeStores()
    throw new StorageError(`the IPFS node failed to start: ${(err as Error).message}`, {
      details: { dir: options.dir },
      cause: err,
    })
  }

  let stopping: Promise<void> | undefined
  let reopening: Promise<void> | undefined
  return {
    helia,
    libp2p: helia.libp2p,
    ownsLibp2p,
    reopenStores() {
      if (stopping !== undefined) return Promise.resolve()
      reopening ??= (async () => {
        try {
          await closeStores()
          await blockstore.open()
          await datastore.open()
        } finally {
          reopening = undefined
        }
      })()
      return reopening
    },
    stop() {
      stopping ??= (async () => {
        try {
          await helia.stop()
        } finally {
          await closeStores()
        }
      })()
      return stopping
    },
  }
}
