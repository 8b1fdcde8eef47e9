/**
 * Who may fetch which block over bitswap (docs/mesh.md §8): a home's blocks go only to the neighbours
 * holding its backups, and a neighbour serves a home's backup only back to the peer that proved, by
 * the owner signature of a backup request, to be that home. Everyone else — members included — gets no
 * answer at all for a CID (no block, no HAVE, no DONT_HAVE): the want-list entry is dropped before
 * bitswap looks at its blockstore.
 *
 * Grants are per peer and per period DAG: the manifest and every block it links (dag-cbor links,
 * walked in the local blockstore without touching the network). @helia/bitswap 4 has no per-peer
 * filter option, so the service wraps the one entry point of incoming want-lists,
 * `peerWantLists.receiveMessage(peerId, message)` of its bitswap block broker.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import type { HeliaWithLibp2p } from '../ipfs/helia.ts'
import type { Logger } from '../log/logger.ts'
import { MeshError } from './errors.ts'

/** A block's key for access: its multihash (bitswap's own key, the same for CIDv0 and v1). */
const keyOf = (cid: CID) => Buffer.from(cid.multihash.bytes).toString('base64')

interface WantList {
  entries: { cid: Uint8Array }[]
}
interface BitswapMessage {
  wantlist?: WantList
}
interface PeerWantLists {
  receiveMessage(peerId: PeerId, message: BitswapMessage): void
}

/** The links of a dag-cbor value (CIDs anywhere inside it). */
function linksOf(value: unknown, out: CID[]): CID[] {
  const cid = CID.asCID(value)
  if (cid) out.push(cid)
  else if (Array.isArray(value)) for (const v of value) linksOf(v, out)
  else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array))
    for (const v of Object.values(value)) linksOf(v, out)
  return out
}

export function createBlockAccess(options: { helia: HeliaWithLibp2p; log: Logger; maxBlocks?: number }) {
  const { helia, log } = options
  const maxBlocks = options.maxBlocks ?? 100_000
  const grants = new Map<string, Set<string>>()
  let refusedWants = 0

  /** Every block of the DAG under `root` that this node holds (it walks only local blocks). */
  async function closure(root: CID): Promise<CID[]> {
    const seen = new Map<string, CID>()
    const queue = [root]
    while (queue.length > 0 && seen.size < maxBlocks) {
      const cid = queue.pop() as CID
      if (seen.has(keyOf(cid))) continue
      seen.set(keyOf(cid), cid)
      if (cid.code !== dagCbor.code) continue
      try {
        const chunks: Uint8Array[] = []
        for await (const chunk of helia.blockstore.get(cid, {
          offline: true,
          signal: AbortSignal.timeout(5000),
        }))
          chunks.push(chunk)
        queue.push(...linksOf(dagCbor.decode(Buffer.concat(chunks)), []))
      } catch {
        // Not held here (yet): it is granted by its CID alone; its own links cannot be known.
      }
    }
    return [...seen.values()]
  }

  return {
    /** Lets `peer` fetch every block of the DAGs under `roots` (the ones held locally). */
    async grant(peer: string, roots: readonly CID[]): Promise<void> {
      const set = grants.get(peer) ?? new Set<string>()
      grants.set(peer, set)
      for (const root of roots) for (const cid of await closure(root)) set.add(keyOf(cid))
    },
    allowed: (peer: string, cid: CID) => grants.get(peer)?.has(keyOf(cid)) ?? false,
    /** Want-list entries dropped so far (a stranger's or a member's without a grant). */
    get refused() {
      return refusedWants
    },
    /** Puts the filter in front of Helia's bitswap (after `helia.start()`, which adds the broker). */
    install(): void {
      const broker = (
        helia as unknown as { blockBrokers?: { name: string; bitswap?: { peerWantLists?: PeerWantLists } }[] }
      ).blockBrokers?.find((b) => b.name === 'bitswap')
      const wantLists = broker?.bitswap?.peerWantLists
      if (wantLists === undefined || typeof wantLists.receiveMessage !== 'function') {
        throw new MeshError(
          'cannot restrict bitswap: this Helia has no bitswap broker with peer want-lists (is @helia/bitswap 4 in use?)',
        )
      }
      const receive = wantLists.receiveMessage.bind(wantLists)
      wantLists.receiveMessage = (peerId, message) => {
        const peer = peerId.toString()
        const entries = message.wantlist?.entries ?? []
        const kept = entries.filter((e) => {
          try {
            return grants.get(peer)?.has(keyOf(CID.decode(e.cid))) ?? false
          } catch {
            return false
          }
        })
        if (kept.length < entries.length) {
          refusedWants += entries.length - kept.length
          log.warn('refused bitswap wants from a peer that holds no backup of those blocks', {
            peer,
            refused: entries.length - kept.length,
          })
        }
        if (message.wantlist === undefined) return receive(peerId, message)
        return receive(peerId, { ...message, wantlist: { ...message.wantlist, entries: kept } })
      }
    },
  }
}

export type BlockAccess = ReturnType<typeof createBlockAccess>
