/**
 * Peers refused for a while (docs/mesh.md §5a): strangers that failed admission. The libp2p host is
 * built before the admission that fills the list, so the list is its own module, shared by both.
 */
import type { PeerId } from '@libp2p/interface'

/** The gater's view of who is banned (shared with the libp2p host, which is built first). */
export function createBanList(now: () => number = Date.now) {
  const bans = new Map<string, number>()
  return {
    ban(peer: string, ms: number) {
      bans.set(peer, now() + ms)
    },
    banned(peer: PeerId | string): boolean {
      const id = peer.toString()
      const until = bans.get(id)
      if (until === undefined) return false
      if (until > now()) return true
      bans.delete(id)
      return false
    },
  }
}
export type BanList = ReturnType<typeof createBanList>

/** The libp2p connection gater of a mesh host: banned strangers are refused at dial and at encryption. */
export function banGater(bans: BanList) {
  return {
    denyDialPeer: (peer: PeerId) => bans.banned(peer),
    denyInboundEncryptedConnection: (peer: PeerId) => bans.banned(peer),
    denyOutboundEncryptedConnection: (peer: PeerId) => bans.banned(peer),
  }
}
