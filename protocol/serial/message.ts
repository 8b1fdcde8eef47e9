/**
 * MQTT-equivalent messages over the meter's serial link (docs/serial.md). A message is
 * `topicLen (1) ‖ topic (ASCII) ‖ payload`, cut into MESSAGE frames (type 0x20) of
 * `id (1) ‖ index (1) ‖ count (1) ‖ chunk (≤ 45)`.
 *
 * Why fragments and not a wider length field: the link's one-byte `len` and 48-byte limit are
 * what the UNO's decoder, the C++ and TypeScript codecs and the shared vectors agree on, and a
 * 4 KiB frame would take 4 s at 9600 baud with one CRC for all of it; a lost bit would cost the
 * whole message and a false start could swallow 64 KiB of good frames. Small frames keep the
 * resynchronisation of the existing decoder intact and lose at most one message to a bad frame
 * (the meter resends it: it keeps each record until the node's ack names it).
 */

import { InvalidInputError } from '../errors.ts'
import { MAX_PAYLOAD_BYTES } from '../records.ts'
import { encodeFrame, LINK_MAX_PAYLOAD, type LinkFrame } from './link.ts'

export const MESSAGE_FRAME_TYPE = 0x20
const HEADER = 3
export const MESSAGE_CHUNK = LINK_MAX_PAYLOAD - HEADER
const MAX_TOPIC = 255
/** Topic length byte, the longest topic and the largest payload the node accepts. */
export const MAX_MESSAGE_BYTES = 1 + MAX_TOPIC + MAX_PAYLOAD_BYTES
const MAX_FRAGMENTS = Math.ceil(MAX_MESSAGE_BYTES / MESSAGE_CHUNK)

export class SerialMessageError extends InvalidInputError {
  override name = 'SerialMessageError'
}

export interface SerialMessage {
  topic: string
  payload: Uint8Array
}

const TOPIC = /^[\x21-\x7e]+$/

/** Frames of one message, ready to write back to back. `id` tells messages apart (0…255, wraps). */
export function encodeMessage(id: number, topic: string, payload: Uint8Array | string): Uint8Array[] {
  if (!Number.isInteger(id) || id < 0 || id > 255)
    throw new SerialMessageError(`message id must be a byte, got ${id}`)
  if (topic.length === 0 || topic.length > MAX_TOPIC || !TOPIC.test(topic) || /[#+]/.test(topic)) {
    throw new SerialMessageError(
      `a serial message topic is 1…${MAX_TOPIC} printable ASCII characters without wildcards, got ${JSON.stringify(topic.slice(0, 80))}`,
    )
  }
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload
  const message = new Uint8Array(1 + topic.length + body.length)
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new SerialMessageError(
      `a serial message carries at most ${MAX_PAYLOAD_BYTES} payload bytes, got ${body.length}`,
    )
  }
  message[0] = topic.length
  for (let i = 0; i < topic.length; i++) message[1 + i] = topic.charCodeAt(i)
  message.set(body, 1 + topic.length)
  const count = Math.ceil(message.length / MESSAGE_CHUNK)
  const frames: Uint8Array[] = []
  for (let index = 0; index < count; index++) {
    const chunk = message.subarray(index * MESSAGE_CHUNK, (index + 1) * MESSAGE_CHUNK)
    const frame = new Uint8Array(HEADER + chunk.length)
    frame[0] = id
    frame[1] = index
    frame[2] = count
    frame.set(chunk, HEADER)
    frames.push(encodeFrame(MESSAGE_FRAME_TYPE, frame))
  }
  return frames
}

export function decodeMessageBody(body: Uint8Array): SerialMessage {
  const topicLength = body[0] ?? 0
  if (topicLength === 0 || body.length < 1 + topicLength)
    throw new SerialMessageError('serial message shorter than its topic length')
  const topic = String.fromCharCode(...body.subarray(1, 1 + topicLength))
  if (!TOPIC.test(topic)) throw new SerialMessageError('serial message topic is not printable ASCII')
  return { topic, payload: body.slice(1 + topicLength) }
}

/**
 * Reassembles MESSAGE frames. The sender writes a message's fragments back to back and one message
 * at a time, so one message in progress is enough: anything out of order drops it (counted), and
 * the buffer never holds more than MAX_MESSAGE_BYTES.
 */
export class MessageAssembler {
  #id = -1
  #count = 0
  #chunks: Uint8Array[] = []
  /** Messages abandoned: a fragment missing, out of order or malformed. */
  dropped = 0

  /** Feeds one MESSAGE frame; returns the message it completes, if any. */
  push(frame: LinkFrame): SerialMessage | undefined {
    const p = frame.payload
    if (p.length <= HEADER) return this.#drop()
    const id = p[0] as number
    const index = p[1] as number
    const count = p[2] as number
    if (count === 0 || count > MAX_FRAGMENTS || index >= count) return this.#drop()
    if (index === 0) {
      if (this.#chunks.length > 0) this.dropped++
      this.#id = id
      this.#count = count
      this.#chunks = []
    } else if (id !== this.#id || count !== this.#count || index !== this.#chunks.length) {
      return this.#drop()
    }
    // Every fragment but the last is full: a short one in the middle means bytes went missing.
    if (index < count - 1 && p.length !== LINK_MAX_PAYLOAD) return this.#drop()
    this.#chunks.push(p.slice(HEADER))
    if (this.#chunks.length < count) return undefined
    const size = this.#chunks.reduce((n, c) => n + c.length, 0)
    const body = new Uint8Array(size)
    let at = 0
    for (const c of this.#chunks) {
      body.set(c, at)
      at += c.length
    }
    this.#reset()
    try {
      return decodeMessageBody(body)
    } catch {
      this.dropped++
      return undefined
    }
  }

  #drop(): undefined {
    this.dropped++
    this.#reset()
    return undefined
  }

  #reset(): void {
    this.#id = -1
    this.#count = 0
    this.#chunks = []
  }
}
