/**
 * Reveals go straight to the aggregator that asked (docs/aggregation.md §6): a reveal is needed by the
 * author of the recover and by nobody else, yet over gossipsub every home received, checked and
 * forwarded every reveal to ~D peers. A member connected to the recover's gossip author answers on a
 * `/zkmeter/agg-reveal/2.0.0` stream (one length-prefixed frame); one that is not, or whose stream
 * fails, publishes the reveal on the topic as before.
 *
 * The receiving side applies what the gossip validator would: the per-peer rate limit, the size cap,
 * the strict parser, and the aggregation service's own check that the peer (authenticated by the
 * connection's noise handshake, as gossip authors are by their signature) is the member it names.
 * Streams from peers that are not admitted never reach the handler (admission.ts gates every
 * protocol but its own).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Logger } from '../../log/logger.ts'
import { encodeMeshMessage, parseMeshMessage, type RevealMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import type { MeshHost } from './host.ts'
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

  async function handle(stream: Stream, connection: Connection) {
    const from = connection.remotePeer.toString()
    try {
      const lp = lpStream(stream, { maxDataLength: maxMessageBytes })
      const data = await lp.read({ signal: AbortSignal.timeout(deps.timeoutMs) })
      await stream.close().catch(() => undefined)
      if (!deps.limit(from)) return
      const message = parseMeshMessage(data.subarray(), maxMessageBytes)
      if (message.type !== 'reveal' || deps.receive(message, from) === 'reject') {
        log.warn('rejected a direct reveal', { peer: from, type: message.type })
      }
    } catch (error) {
      log.warn('rejected a malformed direct reveal', { peer: from, error })
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    }
  }

  return {
    async install() {
      await libp2p.handle(REVEAL_PROTOCOL, handle, { maxInboundStreams: 64 })
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
        const signal = AbortSignal.timeout(deps.timeoutMs)
        const stream = await libp2p.dialProtocol(peer, REVEAL_PROTOCOL, { signal })
        await lpStream(stream, { maxDataLength: maxMessageBytes }).write(encodeMeshMessage(reveal), {
          signal,
        })
        await stream.close({ signal })
        return true
      } catch (error) {
        log.warn('could not send a reveal directly; gossiping it', { peer: peerId, error })
        return false
      }
    },
  }
}
