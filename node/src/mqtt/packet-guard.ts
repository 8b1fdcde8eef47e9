/**
 * A pass-through stream that reads MQTT fixed headers as bytes arrive and fails as soon as a packet
 * announces a body larger than the limit. aedes has no packet size limit of its own: its parser
 * buffers a whole packet (up to 256 MiB) before anyone sees it, so the check has to happen on the
 * wire, before the body is buffered.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { ZkMeterError } from '#protocol/errors.ts'

export class PacketTooLargeError extends ZkMeterError {
  override name = 'PacketTooLargeError'
}

type Phase = 'type' | 'length' | 'body'

export function createPacketGuard(maxRemainingLength: number): Transform {
  let phase: Phase = 'type'
  let length = 0
  let multiplier = 1
  let lengthBytes = 0
  let bodyLeft = 0

  const scan = (chunk: Buffer): PacketTooLargeError | undefined => {
    let i = 0
    while (i < chunk.length) {
      if (phase === 'body') {
        const take = Math.min(bodyLeft, chunk.length - i)
        bodyLeft -= take
        i += take
        if (bodyLeft === 0) phase = 'type'
        continue
      }
      const byte = chunk[i++] as number
      if (phase === 'type') {
        phase = 'length'
        length = 0
        multiplier = 1
        lengthBytes = 0
        continue
      }
      // Remaining length: base-128 varint, at most 4 bytes (MQTT 3.1.1 §2.2.3).
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
      lengthBytes++
      if (length > maxRemainingLength) {
        return new PacketTooLargeError(
          `an MQTT packet announced ${length} bytes, more than the broker's limit of ${maxRemainingLength}`,
          { details: { length, limit: maxRemainingLength } },
        )
      }
      if ((byte & 0x80) === 0) {
        bodyLeft = length
        phase = bodyLeft === 0 ? 'type' : 'body'
      } else if (lengthBytes === 4) {
        return new PacketTooLargeError('malformed MQTT remaining length (more than 4 bytes)')
      }
    }
    return undefined
  }

  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      const error = scan(chunk)
      if (error) callback(error)
      else callback(null, chunk)
    },
  })
}
