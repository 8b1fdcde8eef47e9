/**
 * Keeps gossipsub's one outbound stream per connection alive (docs/mesh.md §2). gossipsub 17 opens it
 * once, when a connection with the protocol comes up (and when the peer opens its own stream to us); if
 * that attempt fails (its protocol negotiation times out on a busy host) or the stream dies later (a
 * timeout, a reset), nothing opens it again while the connection stays up. That link then carries no
 * gossip in one direction: announcements, alerts and shares stop reaching the neighbour. Worse, a
 * reset of the stream makes the *receiver* drop the peer from gossipsub (its read error counts as a
 * disconnect), so neither side gossips to the other. Seen at 50 homes under load: 84 failed opens and
 * 439 dead streams in 10 minutes, on connections that stayed up.
 *
 * The watch re-opens it, and only in a way that cannot give a peer two outbound streams (the receiver
 * keeps only the newest inbound one, so messages sent on the other would be lost; a first version that
 * called gossipsub's stream creation directly every 2 s likely did this on new connections):
 *
 * - it hands the attempt to gossipsub's own queue (`outboundInflightQueue`), which runs one stream
 *   creation at a time for all peers, and whose `createOutboundStream` does nothing for a peer that
 *   already has a stream. So our attempt never runs beside gossipsub's own, and never adds a second
 *   stream. For a peer gossipsub has forgotten (the receiver side of a reset) it goes through the same
 *   entry as a new connection (`onPeerConnected`: add the peer, queue the attempt);
 * - only for an admitted peer (admission.ts holds a closed protocol's streams until then) on an open
 *   connection that speaks a gossipsub protocol;
 * - only once the stream has been missing for `reopenAfterMs`, which the node derives from how long
 *   gossipsub's own attempt can last (the admission wait plus libp2p's protocol negotiation timeout),
 *   and again at most every `reopenAfterMs` per peer: one attempt at a time per peer.
 *
 * What this relies on in @libp2p/gossipsub 17.1 (gossipsub.js): `peers` and `streamsOutbound` (maps by
 * peer id string), `outboundInflightQueue` (a pushable of `{ peerId, connection }` consumed one at a
 * time by `createOutboundStream`, which returns at once for a peer not in `peers` or already in
 * `streamsOutbound`), `onPeerConnected(peerId, connection)` and `isStarted()`. `gossipInternals`
 * checks that shape; if an upgrade changes it the watch logs once and stays off rather than guess.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from '../../log/logger.ts'
import type { MeshHost } from './host.ts'

/** The parts of gossipsub's state the watch reads and the two entries it calls (see the header). */
export interface GossipInternals {
  peers: Map<string, PeerId>
  streamsOutbound: Map<string, unknown>
  outboundInflightQueue: { push(item: { peerId: PeerId; connection: Connection }): unknown }
  onPeerConnected(peerId: PeerId, connection: Connection): void
  isStarted(): boolean
  protocols: string[]
}

/** gossipsub's internals if they have the shape the watch relies on, else undefined. */
export function gossipInternals(pubsub: unknown): GossipInternals | undefined {
  const g = pubsub as Partial<Record<keyof GossipInternals, unknown>> | undefined
  const queue = g?.outboundInflightQueue as { push?: unknown } | undefined
  const ok =
    g?.peers instanceof Map &&
    g.streamsOutbound instanceof Map &&
    typeof queue?.push === 'function' &&
    typeof g.onPeerConnected === 'function' &&
    typeof g.isStarted === 'function' &&
    Array.isArray(g.protocols)
  return ok ? (pubsub as GossipInternals) : undefined
}

export interface OutboundStreamWatchStats {
  /** Re-open attempts handed to gossipsub's queue. */
  reopened: number
  /** Of those, for a peer gossipsub had dropped (the receiving side of a reset stream). */
  readded: number
}

export function createOutboundStreamWatch(deps: {
  libp2p: MeshHost
  log: Logger
  admitted(peer: string): boolean
  /** How long the stream must be missing before the watch re-opens it (and the spacing of attempts). */
  reopenAfterMs: number
  checkEveryMs?: number
  now(): number
}) {
  const { libp2p, log } = deps
  const checkEveryMs = deps.checkEveryMs ?? Math.min(5000, Math.max(50, Math.floor(deps.reopenAfterMs / 4)))
  const stats: OutboundStreamWatchStats = { reopened: 0, readded: 0 }
  /** Since when each connected peer has had no outbound stream (or since our last attempt for it). */
  const missingSince = new Map<string, number>()
  let timer: ReturnType<typeof setInterval> | undefined
  let checking = false

  async function speaksGossipsub(gossip: GossipInternals, peerId: PeerId): Promise<boolean> {
    try {
      const peer = await libp2p.peerStore.get(peerId)
      return peer.protocols.some((p) => gossip.protocols.includes(p))
    } catch {
      return false
    }
  }

  async function check(gossip: GossipInternals) {
    if (!gossip.isStarted()) return
    const t = deps.now()
    const seen = new Set<string>()
    for (const connection of libp2p.getConnections()) {
      const id = connection.remotePeer.toString()
      if (seen.has(id) || connection.status !== 'open') continue
      seen.add(id)
      if (gossip.streamsOutbound.has(id) || !deps.admitted(id)) {
        missingSince.delete(id)
        continue
      }
      const since = missingSince.get(id)
      if (since === undefined) {
        missingSince.set(id, t)
        continue
      }
      if (t - since < deps.reopenAfterMs) continue
      if (!(await speaksGossipsub(gossip, connection.remotePeer))) continue
      // Re-checked after the await: gossipsub may have opened it meanwhile (the queue would skip it anyway).
      if (gossip.streamsOutbound.has(id) || connection.status !== 'open' || !gossip.isStarted()) continue
      missingSince.set(id, deps.now())
      stats.reopened++
      const known = gossip.peers.has(id)
      if (!known) stats.readded++
      log.info('re-opening the gossip stream to a neighbour (it has been missing while connected)', {
        peer: id,
        missingMs: t - since,
        peerKnownToGossipsub: known,
      })
      if (known) gossip.outboundInflightQueue.push({ peerId: connection.remotePeer, connection })
      else gossip.onPeerConnected(connection.remotePeer, connection)
    }
    for (const id of missingSince.keys()) if (!seen.has(id)) missingSince.delete(id)
  }

  return {
    stats,
    start() {
      const gossip = gossipInternals(libp2p.services.pubsub)
      if (gossip === undefined) {
        log.warn(
          'gossipsub internals are not as expected (an upgrade?): lost gossip streams will not be re-opened',
        )
        return
      }
      timer = setInterval(() => {
        if (checking) return
        checking = true
        check(gossip)
          .catch((error) => log.warn('the gossip stream watch failed', { error }))
          .finally(() => {
            checking = false
          })
      }, checkEveryMs)
    },
    stop() {
      clearInterval(timer)
      timer = undefined
      missingSince.clear()
    },
  }
}
