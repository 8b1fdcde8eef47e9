/**
 * Shares go straight to the homes connected to this one (docs/aggregation.md §6). Over gossipsub every
 * home received every share from ~D peers, checked its signature and forwarded it: a 50-home round
 * was 15,000 message copies, and their handling — not the masking — was the round's cost. A home
 * with a connection to every member it knows writes its share once to each connected, admitted peer
 * (members and the utility's observers) on a `/zkmeter/agg-share/1.0.0` stream and does not gossip
 * it; a home without such connections (a sparse street topology, a member it never reached) gossips
 * it as before, and so does one whose direct write failed. The share's bytes are the v2 share of the
 * gossip topic (codec.ts); only the carrier is new.
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
import { lpStream } from '@libp2p/utils'
import type { Logger } from '../../log/logger.ts'
import { encodeMeshMessage, parseMeshMessage, type ShareMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import { InvalidMeshMessageError } from '../errors.ts'
import type { MeshHost } from './host.ts'
import type { Pacer } from './pacing.ts'

export const SHARE_PROTOCOL = '/zkmeter/agg-share/1.0.0'

/** Counts of what came in on share streams (tests, benches, health pages). */
export interface DirectShareStats {
  received: number
  refused: number
}

type Lp = ReturnType<typeof lpStream>
const writable = (s: Stream) => s.status === 'open' && s.writeStatus === 'writable'

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
  /** The peer ids of the members this node knows (itself included). */
  memberPeers(): string[]
  /** The longest one write may take before the share is gossiped instead. */
  timeoutMs: number
}) {
  const { libp2p, log, maxMessageBytes } = deps
  const stats: DirectShareStats = { received: 0, refused: 0 }
  /** Open outbound streams, one per peer; writes on one are chained so frames never interleave. */
  const outbound = new Map<string, { stream: Stream; lp: Lp; tail: Promise<unknown> }>()

  function refuse(stream: Stream, from: string, why: string, error?: unknown) {
    stats.refused++
    log.warn('rejected a direct share; closing the stream', { peer: from, reason: why, error })
    stream.abort(error instanceof Error ? error : new InvalidMeshMessageError(why))
  }

  async function handle(stream: Stream, connection: Connection) {
    const from = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: maxMessageBytes })
    for (;;) {
      let data: Awaited<ReturnType<Lp['read']>>
      try {
        data = await lp.read()
      } catch (error) {
        // The peer closed or reset the stream (normal: it stopped, or its connection went), or it sent
        // a frame over the cap or a length that is not one.
        if (/InvalidDataLength|InvalidMessageLength/.test((error as Error)?.name ?? ''))
          refuse(stream, from, 'frame over the size cap', error)
        return
      }
      if (!deps.limit(from)) continue // counted and reported by the limiter; a flood is not parsed
      let message: ReturnType<typeof parseMeshMessage>
      try {
        message = parseMeshMessage(data.subarray(), maxMessageBytes)
      } catch (error) {
        return refuse(stream, from, 'malformed', error)
      }
      if (message.type !== 'share') return refuse(stream, from, `a ${message.type} on the share stream`)
      stats.received++
      if (deps.receive(message, from) === 'reject') return refuse(stream, from, 'not that member’s share')
    }
  }

  /** Writes one frame to `peer`, opening the stream if there is none; false when that failed. */
  async function write(peer: PeerId, bytes: Uint8Array): Promise<boolean> {
    const key = peer.toString()
    const signal = AbortSignal.timeout(deps.timeoutMs)
    try {
      let open = outbound.get(key)
      if (open === undefined || !writable(open.stream)) {
        const stream = await libp2p.dialProtocol(peer, SHARE_PROTOCOL, { signal })
        // Another share may have opened one meanwhile: keep the first, close ours.
        const raced = outbound.get(key)
        if (raced !== undefined && writable(raced.stream)) {
          void stream.close().catch(() => undefined)
          open = raced
        } else {
          open = { stream, lp: lpStream(stream, { maxDataLength: maxMessageBytes }), tail: Promise.resolve() }
          outbound.set(key, open)
          stream.addEventListener('close', () => {
            if (outbound.get(key)?.stream === stream) outbound.delete(key)
          })
        }
      }
      const channel = open
      const done = channel.tail.then(() => channel.lp.write(bytes, { signal }))
      channel.tail = done.catch(() => undefined)
      await done
      return true
    } catch (error) {
      const open = outbound.get(key)
      if (open !== undefined) {
        outbound.delete(key)
        open.stream.abort(error instanceof Error ? error : new Error(String(error)))
      }
      log.warn('could not send a share directly; gossiping it', { peer: key, error })
      return false
    }
  }

  return {
    stats,
    async install() {
      await libp2p.handle(SHARE_PROTOCOL, handle, { maxInboundStreams: 4 })
    },
    /**
     * Sends the share to every connected, admitted peer, if this node has a connection to every member
     * it knows. False when it has not, or a write failed: the caller then gossips it (a peer that also
     * got it directly ignores the second copy).
     */
    async send(share: ShareMessage): Promise<boolean> {
      const self = libp2p.peerId.toString()
      const connected = new Map<string, PeerId>()
      for (const c of libp2p.getConnections()) {
        const id = c.remotePeer.toString()
        if (c.status === 'open' && deps.admitted(id)) connected.set(id, c.remotePeer)
      }
      if (deps.memberPeers().some((p) => p !== self && !connected.has(p))) return false
      await deps.pacer.take()
      const bytes = encodeMeshMessage(share)
      const sent = await Promise.all([...connected.values()].map((peer) => write(peer, bytes)))
      return sent.every(Boolean)
    },
    stop() {
      for (const { stream } of outbound.values()) stream.abort(new Error('the mesh node stopped'))
      outbound.clear()
    },
  }
}
