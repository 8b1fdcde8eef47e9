/**
 * Reveals go straight to the aggregator that asked (docs/aggregation.md §6): a reveal is needed by the
 * author of the recover and by nobody else, yet over gossipsub every home received, checked and
 * forwarded every reveal to ~D peers. A member connected to the recover's author answers on a
 * `/zkmeter/agg-reveal/2.0.0` stream — one per aggregator, opened on the first reveal and kept, one
 * length-prefixed frame per reveal (frame-channels.ts: a stream per reveal cost a SYN/ACK and a
 * protocol negotiation each); one that is not connected, or whose write fails, publishes the reveal
 * on the topic as before.
 *
 * The receiving side applies what the gossip validator would: the per-peer rate limit, the size cap,
 * the strict parser (only a reveal may come on this stream), and the aggregation service's own check
 * that the peer (authenticated by the connection's noise handshake, as gossip authors are by their
 * signature) is the member it names; anything else closes the stream. Streams from peers that are not
 * admitted never reach the handler (admission.ts gates every protocol but its own).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../../log/logger.ts'
import { encodeMeshMessage, type RevealMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import { createFrameChannels } from './frame-channels.ts'
import type { MeshHost } from './host.ts'
import { messageStreamHandler } from './message-streams.ts'
import type { Pacer } from './pacing.ts'

export const REVEAL_PROTOCOL = '/zkmeter/agg-reveal/2.0.0'

export function createDirectReveals(deps: {
  libp2p: MeshHost
  log: Logger
  maxMessageBytes: number
  /** Per-peer rate limit shared with the gossip validator: false when over budget. */
  limit(from: string): boolean
  /** This node's send budget: a direct reveal counts against the receiver's limit like a gossiped one. */
  pacer: Pick<Pacer, 'take'>
  receive(message: RevealMessage, from: string): Verdict
  /** How long to try delivering one reveal before falling back to gossip. */
  timeoutMs: number
}) {
  const { libp2p, log, maxMessageBytes } = deps
  const outbound = createFrameChannels({ libp2p, protocol: REVEAL_PROTOCOL, maxMessageBytes })

  const handle = messageStreamHandler({
    log,
    maxMessageBytes,
    type: 'reveal',
    noun: 'a direct reveal',
    limit: deps.limit,
    accept: (message, from) =>
      deps.receive(message, from) === 'reject' ? 'not that member’s reveal' : undefined,
  })

  return {
    async install() {
      await libp2p.handle(REVEAL_PROTOCOL, handle, { maxInboundStreams: 4 })
    },
    /**
     * Sends the reveal to `peerId` over a connection this node already has; false when there is none
     * or it failed (the caller then gossips it). It never dials: on a sparse street topology most homes
     * are not connected to the aggregator, and a dial per reveal (noise handshake, admission) or a
     * failed one (no known address) costs more than the gossip it saves.
     */
    async send(peerId: string, reveal: RevealMessage): Promise<boolean> {
      const peer = peerIdFromString(peerId)
      if (libp2p.getConnections(peer).length === 0) return false
      try {
        await deps.pacer.take()
        await outbound.write(peer, encodeMeshMessage(reveal), deps.timeoutMs)
        return true
      } catch (error) {
        log.warn('could not send a reveal directly; gossiping it', { peer: peerId, error })
        return false
      }
    },
    stop: () => outbound.stop(),
  }
}
