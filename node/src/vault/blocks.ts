/** Block I/O for the vault: reading a block locally or from peers, pinning, bounded parallel fetches. */
import type { Helia } from 'helia'
import type { CID } from 'multiformats/cid'
import { BlockUnavailableError } from './errors.ts'

/** How long one block may take to arrive from peers before a read gives up. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000
/** How many blocks of one period are fetched at once. */
export const FETCH_CONCURRENCY = 16

/** Reads a whole block, locally or from connected peers (bitswap), within a timeout. */
export async function getBlock(
  helia: Helia,
  cid: CID,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal])
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of helia.blockstore.get(cid, { signal: combined })) chunks.push(chunk)
  } catch (err) {
    signal?.throwIfAborted()
    throw new BlockUnavailableError(
      `block ${cid} is not stored here and no connected peer sent it within ${timeoutMs} ms: connect to a peer that holds it`,
      { details: { cid: cid.toString() }, cause: err },
    )
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) {
    // only the side effect matters
  }
}

/** Pins a single block (depth 0) so Helia's garbage collector never drops vault data. */
export async function pinBlock(helia: Helia, cid: CID): Promise<void> {
  if (await helia.pins.isPinned(cid)) return
  // The block was just stored, so the walk is local; the timeout only guards against a surprise fetch.
  await drain(
    helia.pins.add(cid, { depth: 0, metadata: { zkmeter: 'vault' }, signal: AbortSignal.timeout(10_000) }),
  )
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping the order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
