/**
 * The receiving side of the serial line: bytes → link frames (CRC-checked, with the idle timeout that
 * ends a torn frame) → reassembled MESSAGEs. Raw UNO frames are counted and skipped: unsigned
 * measurements are not billable.
 */
import { LINK_IDLE_MS, LinkDecoder, type LinkFrame } from '#protocol/serial/link.ts'
import { MESSAGE_FRAME_TYPE, MessageAssembler, type SerialMessage } from '#protocol/serial/message.ts'
import type { SerialLinkCounters } from './link-counters.ts'

export interface FrameReader {
  /** Feeds bytes from the port; complete messages go to onMessage. */
  onData(chunk: Buffer): void
  /** After a disconnect: a partial frame or message from before the loss can never complete. */
  reset(): void
  /** Copies the decoder's and assembler's error counts into the counters. */
  syncCounters(): void
  stop(): void
}

export function createFrameReader(
  counters: SerialLinkCounters,
  onMessage: (message: SerialMessage) => void,
): FrameReader {
  let decoder = new LinkDecoder()
  let crcBase = 0
  let assembler = new MessageAssembler()
  let droppedBase = 0
  let idleTimer: NodeJS.Timeout | undefined

  const syncCounters = () => {
    counters.crcErrors = crcBase + decoder.errors
    counters.messagesDropped = droppedBase + assembler.dropped
  }

  const onFrames = (frames: LinkFrame[]) => {
    for (const frame of frames) {
      counters.frames++
      if (frame.type !== MESSAGE_FRAME_TYPE) {
        // Raw UNO frames (unsigned MEASUREMENTs) are not billable; only signed messages are ingested.
        counters.otherFrames++
        continue
      }
      const message = assembler.push(frame)
      if (message !== undefined) onMessage(message)
    }
    syncCounters()
  }

  return {
    onData(chunk) {
      onFrames(decoder.push(chunk))
      if (idleTimer !== undefined) clearTimeout(idleTimer)
      idleTimer = setTimeout(() => {
        idleTimer = undefined
        onFrames(decoder.idle())
      }, LINK_IDLE_MS)
      idleTimer.unref()
    },
    reset() {
      crcBase += decoder.errors
      droppedBase += assembler.dropped
      decoder = new LinkDecoder()
      assembler = new MessageAssembler()
    },
    syncCounters,
    stop() {
      if (idleTimer !== undefined) clearTimeout(idleTimer)
      idleTimer = undefined
    },
  }
}
