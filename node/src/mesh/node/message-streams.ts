/**
 * The receiving side of a direct-message protocol (shares, recovers, reveals, alert acks): what the
 * gossip validator would apply to the same message, in the same order. Each frame of an inbound
 * stream passes the per-peer rate limit (over budget: dropped unparsed, the limiter counts and reports
 * it), the size cap and the strict parser, and must be of the protocol's one message type; then the
 * protocol's own check. Anything refused closes the stream. Streams from peers that are not admitted
 * never reach the handler (admission.ts gates every protocol but its own).
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../../log/logger.ts'
import { type MeshMessage, parseMeshMessage } from '../codec.ts'
import { InvalidMeshMessageError } from '../errors.ts'
import { readFrames } from './frame-channels.ts'

export type MessageOfType<K extends MeshMessage['type']> = Extract<MeshMessage, { type: K }>

export function messageStreamHandler<K extends MeshMessage['type']>(deps: {
  log: Logger
  maxMessageBytes: number
  /** The one message type the protocol carries. */
  type: K
  /** What the log calls it, e.g. 'a direct share'. */
  noun: string
  /** Per-peer rate limit shared with the gossip validator: false when over budget. */
  limit(from: string): boolean
  /**
   * The protocol's own check: why the message is refused, or undefined. A check answered later (in
   * the background) calls `refuse` itself.
   */
  accept(
    message: MessageOfType<K>,
    from: string,
    refuse: (why: string) => void,
  ): string | undefined | Promise<string | undefined>
  /** Told of every refusal (to count them). */
  onRefused?(): void
}): (stream: Stream, connection: Connection) => Promise<void> {
  const { log, maxMessageBytes } = deps

  function refuse(stream: Stream, from: string, why: string, error?: unknown) {
    deps.onRefused?.()
    log.warn(`rejected ${deps.noun}; closing the stream`, { peer: from, reason: why, error })
    stream.abort(error instanceof Error ? error : new InvalidMeshMessageError(why))
  }

  return async (stream, connection) => {
    const from = connection.remotePeer.toString()
    await readFrames(
      stream,
      maxMessageBytes,
      async (data) => {
        if (!deps.limit(from)) return true
        let message: MeshMessage
        try {
          message = parseMeshMessage(data, maxMessageBytes)
        } catch (error) {
          refuse(stream, from, 'malformed', error)
          return false
        }
        if (message.type !== deps.type) {
          refuse(stream, from, `a ${message.type} on the ${deps.type} stream`)
          return false
        }
        const why = await deps.accept(message as MessageOfType<K>, from, (later) =>
          refuse(stream, from, later),
        )
        if (why === undefined) return true
        refuse(stream, from, why)
        return false
      },
      (error) => refuse(stream, from, 'frame over the size cap', error),
    )
  }
}
