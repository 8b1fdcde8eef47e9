/**
 * An alert's ack goes straight to the alert's sender when this node is connected to it
 * (docs/mesh.md §6): an ack is needed by the sender alone, yet on the gossip topic every home received
 * every other home's ack from ~D peers and forwarded it — n² messages per alert, each repeated when the
 * sender re-published its alert, which on a busy host starved the alerts themselves (alert p95 7 s in
 * a 50-home one-process mesh with every home connected to every other). The ack is the same signed
 * message as on the topic, written as one length-prefixed frame on an `/zkmeter/alert-ack/1.0.0`
 * stream kept per peer (frame-channels.ts); a node not connected to the sender, or whose write fails,
 * publishes it on the topic as before.
 *
 * The receiving side applies the gossip validator's checks in the same order: per-peer rate limit, size
 * cap, strict parser (only an ack, and only one addressed to this node's meter, may come on this
 * stream), then the alert service's check of the ack's signature and member. Anything else closes
 * the stream. Streams from peers that are not admitted never reach the handler (admission.ts).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../../log/logger.ts'
import { type AckMessage, encodeMeshMessage } from '../codec.ts'
import type { Verdict } from '../context.ts'
import type { Address } from '../signing.ts'
import { createFrameChannels } from './frame-channels.ts'
import type { MeshHost } from './host.ts'
import { messageStreamHandler } from './message-streams.ts'
import type { Pacer } from './pacing.ts'

export const ACK_PROTOCOL = '/zkmeter/alert-ack/1.0.0'

export function createDirectAcks(deps: {
  libp2p: MeshHost
  log: Logger
  maxMessageBytes: number
  /** Per-peer rate limit shared with the gossip validator: false when over budget. */
  limit(from: string): boolean
  pacer: Pick<Pacer, 'take'>
  receive(message: AckMessage): Promise<Verdict>
  /** This node's meter (lowercase); undefined for an observer, which raises no alerts. */
  self(): Address | undefined
  /** Whether a peer is admitted: acks go to no one else. */
  admitted(peerId: string): boolean
  /** The peer id of a member, by meter. */
  peerOfMeter(meter: Address): string | undefined
  timeoutMs: number
}) {
  const { libp2p, log, maxMessageBytes } = deps
  const outbound = createFrameChannels({ libp2p, protocol: ACK_PROTOCOL, maxMessageBytes })

  const handle = messageStreamHandler({
    log,
    maxMessageBytes,
    type: 'ack',
    noun: 'a direct alert ack',
    limit: deps.limit,
    async accept(message) {
      const self = deps.self()
      if (self === undefined || message.body.to !== self) return 'an ack for another member'
      return (await deps.receive(message)) === 'reject' ? 'an ack that does not verify' : undefined
    },
  })

  return {
    async install() {
      await libp2p.handle(ACK_PROTOCOL, handle, { maxInboundStreams: 4 })
    },
    /** Sends the ack to its alert's sender if connected to it (never dials); false otherwise or on failure. */
    async send(ack: AckMessage): Promise<boolean> {
      const peerId = deps.peerOfMeter(ack.body.to)
      if (peerId === undefined || !deps.admitted(peerId)) return false
      const peer = peerIdFromString(peerId)
      if (!libp2p.getConnections(peer).some((c) => c.status === 'open')) return false
      try {
        await deps.pacer.take(true)
        await outbound.write(peer, encodeMeshMessage(ack), deps.timeoutMs)
        return true
      } catch (error) {
        log.warn('could not send an alert ack directly; gossiping it', { peer: peerId, error })
        return false
      }
    },
    stop: () => outbound.stop(),
  }
}
