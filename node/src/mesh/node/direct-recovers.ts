/**
 * A recover goes straight to its audience — the revealers (the present graph neighbours of the missing)
 * and the missing members themselves (docs/aggregation.md §3, §6) — on `/zkmeter/agg-recover/2.0.0`
 * streams, one per peer, opened on the first recover and kept (frame-channels.ts), when the aggregator
 * is connected to every one of them (an aggregating `collector` is connected to every member in a
 * graph topology). Over gossipsub every home received it from ~D peers and forwarded it; and a
 * revealer that missed it was asked again only after `recoverRetryMs`. A node missing a connection
 * to one of them, or whose write fails, publishes it on the topic as before: the missing members must
 * get it either way (a member that sees itself named missing never contributes to that round).
 *
 * The receiving side applies what the gossip validator would: the per-peer rate limit, the size cap,
 * the strict parser (only a recover may come on this stream), then the aggregation service, which
 * answers with a reveal to the peer that sent the recover. Streams from peers that are not admitted
 * never reach the handler (admission.ts).
 */
import type { PeerId } from '@libp2p/interface'
import type { Logger } from '../../log/logger.ts'
import { encodeMeshMessage, type RecoverMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import type { Address } from '../signing.ts'
import { createFrameChannels } from './frame-channels.ts'
import type { MeshHost } from './host.ts'
import { messageStreamHandler } from './message-streams.ts'
import type { Pacer } from './pacing.ts'

export const RECOVER_PROTOCOL = '/zkmeter/agg-recover/2.0.0'

export function createDirectRecovers(deps: {
  libp2p: MeshHost
  log: Logger
  maxMessageBytes: number
  /** Per-peer rate limit shared with the gossip validator: false when over budget. */
  limit(from: string): boolean
  pacer: Pick<Pacer, 'take'>
  receive(message: RecoverMessage, from: string): Promise<Verdict>
  /** Whether a peer is admitted: recovers go to no one else. */
  admitted(peerId: string): boolean
  /** The peer id of a member, by meter; undefined for a meter this node does not know. */
  peerOfMeter(meter: Address): string | undefined
  timeoutMs: number
}) {
  const { libp2p, log, maxMessageBytes } = deps
  const outbound = createFrameChannels({ libp2p, protocol: RECOVER_PROTOCOL, maxMessageBytes })

  const handle = messageStreamHandler({
    log,
    maxMessageBytes,
    type: 'recover',
    noun: 'a direct recover',
    limit: deps.limit,
    accept(message, from, refuse) {
      // Answered in the background: the next recover on the stream need not wait for this reveal.
      deps.receive(message, from).then(
        (verdict) => {
          if (verdict === 'reject') refuse('a recover for another area or out of the window')
        },
        (error) => log.warn('could not answer a direct recover', { peer: from, error }),
      )
      return undefined
    },
  })

  return {
    async install() {
      await libp2p.handle(RECOVER_PROTOCOL, handle, { maxInboundStreams: 4 })
    },
    /**
     * Sends the recover to every member of `audience` if this node is connected to each (it never
     * dials); false when it is not, or a write failed: the caller then gossips it (a member answers a
     * second copy with the reveal it already gave).
     */
    async send(recover: RecoverMessage, audience: readonly Address[]): Promise<boolean> {
      const connected = new Map<string, PeerId>()
      for (const c of libp2p.getConnections()) {
        const id = c.remotePeer.toString()
        if (c.status === 'open' && deps.admitted(id)) connected.set(id, c.remotePeer)
      }
      const self = libp2p.peerId.toString()
      const targets = new Map<string, PeerId>()
      for (const meter of audience) {
        const peer = deps.peerOfMeter(meter)
        if (peer === self) continue // an aggregating member is often a revealer itself
        const connection = peer === undefined ? undefined : connected.get(peer)
        if (peer === undefined || connection === undefined) return false
        targets.set(peer, connection)
      }
      await deps.pacer.take()
      const bytes = encodeMeshMessage(recover)
      const sent = await Promise.all(
        [...targets].map(([key, peer]) =>
          outbound.write(peer, bytes, deps.timeoutMs).then(
            () => true,
            (error: unknown) => {
              log.warn('could not send a recover directly; gossiping it', { peer: key, error })
              return false
            },
          ),
        ),
      )
      return sent.every(Boolean)
    },
    stop: () => outbound.stop(),
  }
}
