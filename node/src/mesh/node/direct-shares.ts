/**
 * Shares go straight to the homes that need them (docs/aggregation.md §6, docs/mesh.md §2). Over
 * gossipsub every home received every share from ~D peers, checked its signature and forwarded it: a
 * 50-home round was ~15,000 message copies, and their handling — not the masking — was the round's
 * cost. A home with a connection to each masking-graph neighbour of its share (the audience the
 * protocol names) writes the share once to each of them, to each peer that asked for shares (an
 * aggregator, COLLECT_PROTOCOL) and to each utility ticket observer it is connected to, on a
 * `/zkmeter/agg-share/2.0.0` stream, and does not gossip it; a home missing such a connection (a
 * sparse street topology, a neighbour it never reached) gossips it as before, and so does one whose
 * direct write failed. The share's bytes are the v2 share of the gossip topic (codec.ts); only the
 * carrier is new.
 *
 * One stream per peer and direction, opened on the first share and kept: every later share is one
 * length-prefixed frame on it, no protocol negotiation per message. A stream that fails is dropped and
 * re-opened on the next share.
 *
 * The receiving side applies what the gossip validator would: the per-peer rate limit, the size cap,
 * the strict parser (only a `share` may come on this stream), and the aggregation service's own check
 * that the peer — authenticated by the connection's noise handshake, as a gossip author is by its
 * signature — is the member the share names (receive.ts). A frame that does not parse, or a share
 * refused as not that member's, ends the stream. Streams from peers that are not admitted never reach
 * the handler (admission.ts gates every protocol but its own).
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Logger } from '../../log/logger.ts'
import { encodeMeshMessage, type ShareMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import { InvalidMeshMessageError } from '../errors.ts'
import type { Address } from '../signing.ts'
import { createFrameChannels } from './frame-channels.ts'
import type { MeshHost } from './host.ts'
import { messageStreamHandler } from './message-streams.ts'
import type { Pacer } from './pacing.ts'

export const SHARE_PROTOCOL = '/zkmeter/agg-share/2.0.0'
/**
 * An aggregator's standing request for shares: a node that collects rounds (`collector: true`) keeps
 * one such stream open to every member it is connected to, carrying nothing; while it is open the
 * member sends that node its shares. Without it a member sends a share only to its masking-graph
 * neighbours (aggregation.md §2a) and the utility's ticket observers, and in an area of more than 49
 * homes an aggregating member is not every home's neighbour.
 */
export const COLLECT_PROTOCOL = '/zkmeter/agg-collect/2.0.0'

/** Counts of what came in on share streams (tests, benches, health pages). */
export interface DirectShareStats {
  received: number
  refused: number
  /** Own shares sent on direct streams only. */
  sent: number
  /** Own shares gossiped because this node had no admitted connection to one of their neighbours. */
  gossipedUnconnected: number
  /** Own shares gossiped because a direct write failed or timed out. */
  gossipedWriteFailed: number
}

export function createDirectShares(deps: {
  libp2p: MeshHost
  log: Logger
  maxMessageBytes: number
  /** Per-peer rate limit shared with the gossip validator: false when over budget. */
  limit(from: string): boolean
  /** This node's send budget: a share counts once against each receiver's limit, however it travels. */
  pacer: Pick<Pacer, 'take'>
  receive(message: ShareMessage, from: string): Verdict
  /** Whether a peer is admitted (a member, or the utility's observer): shares go to no one else. */
  admitted(peerId: string): boolean
  /** The peer id of a member, by meter; undefined for a meter this node does not know. */
  peerOfMeter(meter: Address): string | undefined
  /** Observers admitted by the utility's ticket (admission.ts): aggregators by definition. */
  observers(): string[]
  /** Whether this node collects rounds and asks connected members for their shares (COLLECT_PROTOCOL). */
  collector: boolean
  /** The longest one write may take before the share is gossiped instead. */
  timeoutMs: number
}) {
  const { libp2p, log, maxMessageBytes } = deps
  const stats: DirectShareStats = {
    received: 0,
    refused: 0,
    sent: 0,
    gossipedUnconnected: 0,
    gossipedWriteFailed: 0,
  }
  /** Open outbound streams, one per peer (frame-channels.ts). */
  const outbound = createFrameChannels({ libp2p, protocol: SHARE_PROTOCOL, maxMessageBytes })
  /** Peers that asked for this node's shares: their open COLLECT_PROTOCOL stream. */
  const collectors = new Map<string, Stream>()
  /** This node's own requests, one per peer (when it is a collector). */
  const asking = new Map<string, Stream | 'opening'>()
  let askTimer: ReturnType<typeof setInterval> | undefined

  /** A peer asks for our shares for as long as its stream stays open; it may send nothing on it. */
  function handleCollect(stream: Stream, connection: Connection) {
    const from = connection.remotePeer.toString()
    collectors.get(from)?.abort(new Error('replaced by a newer collect stream'))
    collectors.set(from, stream)
    stream.addEventListener('close', () => {
      if (collectors.get(from) === stream) collectors.delete(from)
    })
    stream.addEventListener('message', () => {
      collectors.delete(from)
      refuse(stream, from, 'data on a collect stream')
    })
  }

  /** Opens a collect stream on every connection to a member that has none (collectors only). */
  function ask() {
    if (!deps.collector) return
    for (const c of libp2p.getConnections()) {
      const key = c.remotePeer.toString()
      const open = asking.get(key)
      if (c.status !== 'open' || open === 'opening' || (open !== undefined && open.status === 'open'))
        continue
      asking.set(key, 'opening')
      // The admission gate holds the stream until the peer is admitted, or refuses it.
      libp2p
        .dialProtocol(c.remotePeer, COLLECT_PROTOCOL, { signal: AbortSignal.timeout(deps.timeoutMs * 2) })
        .then(
          (stream) => {
            asking.set(key, stream)
            stream.addEventListener('close', () => {
              if (asking.get(key) === stream) asking.delete(key)
            })
          },
          () => asking.delete(key),
        )
    }
  }

  function refuse(stream: Stream, from: string, why: string, error?: unknown) {
    stats.refused++
    log.warn('rejected a direct share; closing the stream', { peer: from, reason: why, error })
    stream.abort(error instanceof Error ? error : new InvalidMeshMessageError(why))
  }

  const handle = messageStreamHandler({
    log,
    maxMessageBytes,
    type: 'share',
    noun: 'a direct share',
    limit: deps.limit, // over budget: counted and reported by the limiter; a flood is not parsed
    accept(message, from) {
      stats.received++
      return deps.receive(message, from) === 'reject' ? 'not that member’s share' : undefined
    },
    onRefused: () => stats.refused++,
  })

  /** Writes one frame to `peer`; false when that failed (the caller gossips the share). */
  async function write(peer: PeerId, bytes: Uint8Array): Promise<boolean> {
    try {
      await outbound.write(peer, bytes, deps.timeoutMs)
      return true
    } catch (error) {
      log.warn('could not send a share directly; gossiping it', { peer: peer.toString(), error })
      return false
    }
  }

  return {
    stats,
    async install() {
      await libp2p.handle(SHARE_PROTOCOL, handle, { maxInboundStreams: 4 })
      await libp2p.handle(COLLECT_PROTOCOL, handleCollect, { maxInboundStreams: 2 })
    },
    /** A collector asks every member it connects to for its shares (and re-asks every `everyMs`). */
    listen(everyMs: number) {
      if (!deps.collector) return
      libp2p.addEventListener('connection:open', ask)
      askTimer = setInterval(ask, everyMs)
      ask()
    },
    /**
     * Sends the share to its masking-graph neighbours (`audience`), to the peers that asked for shares
     * and to the utility's observers, if this node has a connection to every neighbour. False when it
     * has not, or a write failed: the caller then gossips it (a peer that also got it directly ignores
     * the second copy).
     */
    async send(share: ShareMessage, audience: readonly Address[]): Promise<boolean> {
      const self = libp2p.peerId.toString()
      const connected = new Map<string, PeerId>()
      for (const c of libp2p.getConnections()) {
        const id = c.remotePeer.toString()
        if (c.status === 'open' && deps.admitted(id)) connected.set(id, c.remotePeer)
      }
      const targets = new Set<string>()
      for (const meter of audience) {
        const peer = deps.peerOfMeter(meter)
        if (peer === undefined || !connected.has(peer)) {
          stats.gossipedUnconnected++
          return false
        }
        targets.add(peer)
      }
      for (const peer of [...collectors.keys(), ...deps.observers()])
        if (connected.has(peer)) targets.add(peer)
      targets.delete(self)
      await deps.pacer.take()
      const bytes = encodeMeshMessage(share)
      const sent = await Promise.all([...targets].map((peer) => write(connected.get(peer) as PeerId, bytes)))
      if (!sent.every(Boolean)) {
        stats.gossipedWriteFailed++
        return false
      }
      stats.sent++
      return true
    },
    /** Peers that asked for this node's shares (tests). */
    collectors: (): string[] => [...collectors.keys()],
    stop() {
      clearInterval(askTimer)
      libp2p.removeEventListener('connection:open', ask)
      for (const stream of [...collectors.values(), ...asking.values()])
        if (stream !== 'opening') stream.abort(new Error('the mesh node stopped'))
      collectors.clear()
      asking.clear()
      outbound.stop()
    },
  }
}
