/**
 * Long-lived outbound streams of one protocol, one per peer, each carrying length-prefixed frames
 * (docs/mesh.md §2). Opening a stream costs a yamux SYN/ACK and a multistream-select negotiation — as
 * many frames as the message itself, and on a busy host a round trip each — so a message sent every
 * round to the same peer (a share, a recover, a reveal) is one frame on a stream opened once. A stream
 * that fails is dropped and re-opened on the next write. Writes on one stream are chained so frames
 * never interleave.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { MeshHost } from './host.ts'

type Lp = ReturnType<typeof lpStream>
interface Channel {
  stream: Stream
  lp: Lp
  /** The last write queued on the stream: the next one waits for it. */
  tail: Promise<unknown>
}
const writable = (s: Stream) => s.status === 'open' && s.writeStatus === 'writable'

export function createFrameChannels(deps: { libp2p: MeshHost; protocol: string; maxMessageBytes: number }) {
  const { libp2p, protocol, maxMessageBytes } = deps
  const outbound = new Map<string, Promise<Channel>>()

  /**
   * The open stream to `peer`, or the one being opened: concurrent writes wait for the same stream
   * rather than each opening one (receivers accept only a few inbound streams per protocol).
   */
  function channel(peer: PeerId, signal: AbortSignal): Promise<Channel> {
    const key = peer.toString()
    const known = outbound.get(key)
    if (known !== undefined) return known
    // negotiateFully: false — the protocol's name goes out with the first frame instead of waiting a
    // round trip for the peer's confirmation. On a starved host (a one-process bench, a busy home box)
    // a first round opened ~40 streams per home at once and each negotiation ran into the write
    // timeout; every timed-out share then went to the gossip fallback, which loaded the host further
    // (50-home rounds of 27–33 s, 157 ms CPU per home, instead of 2 s and 15 ms). Every node of an
    // area serves these protocols (they came with aggregation v2); a peer that did not would reset
    // the stream, and the next write re-opens it.
    const opening = libp2p.dialProtocol(peer, protocol, { signal, negotiateFully: false }).then((stream) => {
      stream.addEventListener('close', () => {
        if (outbound.get(key) === opening) outbound.delete(key)
      })
      return { stream, lp: lpStream(stream, { maxDataLength: maxMessageBytes }), tail: Promise.resolve() }
    })
    outbound.set(key, opening)
    opening.catch(() => {
      if (outbound.get(key) === opening) outbound.delete(key)
    })
    return opening
  }

  return {
    /** Writes one frame to `peer` within `timeoutMs`, opening the stream if there is none; throws on failure. */
    async write(peer: PeerId, bytes: Uint8Array, timeoutMs: number): Promise<void> {
      const key = peer.toString()
      const signal = AbortSignal.timeout(timeoutMs)
      let open: Channel | undefined
      try {
        open = await channel(peer, signal)
        if (!writable(open.stream)) {
          outbound.delete(key)
          open = await channel(peer, signal)
        }
        const c = open
        const done = c.tail.then(() => c.lp.write(bytes, { signal }))
        c.tail = done.catch(() => undefined)
        await done
      } catch (error) {
        if (open !== undefined) {
          if (outbound.get(key) !== undefined) outbound.delete(key)
          open.stream.abort(error instanceof Error ? error : new Error(String(error)))
        }
        throw error
      }
    },
    stop() {
      for (const opening of outbound.values())
        opening.then((c) => c.stream.abort(new Error('the mesh node stopped'))).catch(() => undefined)
      outbound.clear()
    },
  }
}

/**
 * Reads frames from an inbound stream of such a channel until it ends, handing each to `onFrame`;
 * `onFrame` returns false to stop reading (it has closed the stream). `onOversize` is told about a
 * frame over the cap or a length that is not one (the stream is then over).
 */
export async function readFrames(
  stream: Stream,
  maxMessageBytes: number,
  onFrame: (data: Uint8Array) => boolean | Promise<boolean>,
  onOversize: (error: unknown) => void,
): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: maxMessageBytes })
  for (;;) {
    let data: Awaited<ReturnType<Lp['read']>>
    try {
      data = await lp.read()
    } catch (error) {
      // The peer closed or reset the stream (normal: it stopped, or its connection went), or it sent
      // a frame over the cap or a length that is not one.
      if (/InvalidDataLength|InvalidMessageLength/.test((error as Error)?.name ?? '')) onOversize(error)
      return
    }
    if (!(await onFrame(data.subarray()))) return
  }
}
