/**
 * Re-opens gossipsub's stream to an admitted peer when it is gone (docs/mesh.md §2). gossipsub opens
 * its one outbound stream per peer when the connection comes up and never again: if that fails (held
 * by admission, then libp2p's protocol negotiation times out on a busy host) or the stream dies later
 * (reset, timeout), the connection stays up with no gossip from this node to that peer, for as long
 * as the connection lives. Seen in the 50-home one-process bench at load 17–21: 84 stream creations
 * timed out and 338 open streams died of timeouts in 10 minutes, and membership stopped at 35–37 of
 * 50 for minutes although every home re-announced every 5 s.
 *
 * Every `intervalMs` this asks gossipsub to open the stream again for each connected, admitted peer
 * it knows but holds no outbound stream to. gossipsub's `createOutboundStream` and `streamsOutbound`
 * are not in its typed interface (the first is what gossipsub itself calls on connect, and does
 * nothing when a stream exists); if a future version drops them, the watch logs once and does nothing.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from '../../log/logger.ts'
import type { MeshHost } from './host.ts'

type Reopen = (peerId: PeerId, connection: Connection) => Promise<void>
/** What of gossipsub's implementation (not its typed interface) the watch uses. */
interface GossipInternals {
  createOutboundStream?: Reopen
  streamsOutbound?: Map<string, unknown>
}

export function createGossipStreamWatch(deps: {
  libp2p: MeshHost
  admitted(peer: string): boolean
  intervalMs: number
  log: Logger
}) {
  const pubsub: GossipSub = deps.libp2p.services.pubsub
  let timer: ReturnType<typeof setInterval> | undefined
  let reopened = 0

  const internals = pubsub as unknown as GossipInternals
  function reopenFn(): Reopen | undefined {
    const fn = internals.createOutboundStream
    return typeof fn === 'function' && internals.streamsOutbound instanceof Map ? fn.bind(pubsub) : undefined
  }

  function check() {
    const reopen = reopenFn()
    const streams = internals.streamsOutbound
    if (reopen === undefined || streams === undefined) return
    const known = new Set(pubsub.getPeers().map(String))
    for (const connection of deps.libp2p.getConnections()) {
      const peer = connection.remotePeer.toString()
      if (connection.status !== 'open' || !known.has(peer) || !deps.admitted(peer)) continue
      if (streams.has(peer)) continue
      reopened++
      void reopen(connection.remotePeer, connection).catch(() => undefined)
    }
  }

  return {
    start() {
      if (reopenFn() === undefined) {
        deps.log.warn('gossipsub has no createOutboundStream: dead gossip streams will not be re-opened')
        return
      }
      timer = setInterval(check, deps.intervalMs)
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
    /** Streams re-opened since start (for tests and benches). */
    get reopened() {
      return reopened
    },
  }
}
