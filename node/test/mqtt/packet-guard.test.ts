import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPacketGuard, PacketTooLargeError } from '../../src/mqtt/packet-guard.ts'

/** An MQTT fixed header: type byte and the remaining length as a base-128 varint. */
function header(type: number, bodyLength: number): Buffer {
  const length: number[] = []
  let rest = bodyLength
  do {
    let byte = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) byte |= 0x80
    length.push(byte)
  } while (rest > 0)
  return Buffer.from([type, ...length])
}

const frame = (type: number, bodyLength: number): Buffer =>
  Buffer.concat([header(type, bodyLength), Buffer.alloc(bodyLength, 0xab)])

/** Feeds `bytes` to a fresh guard in the given chunk sizes; returns what came out and any error. */
async function run(limit: number, bytes: Buffer, chunks: number[]): Promise<{ out: Buffer; error?: Error }> {
  const guard = createPacketGuard(limit)
  const out: Buffer[] = []
  guard.on('data', (chunk: Buffer) => out.push(chunk))
  const done = new Promise<Error | undefined>((resolve) => {
    guard.once('error', resolve)
    guard.once('end', () => resolve(undefined))
  })
  let offset = 0
  for (const size of chunks) {
    if (offset >= bytes.length || guard.destroyed) break
    guard.write(bytes.subarray(offset, offset + size))
    offset += size
  }
  if (!guard.destroyed) {
    if (offset < bytes.length) guard.write(bytes.subarray(offset))
    guard.end()
  }
  const error = await done
  return { out: Buffer.concat(out), ...(error && { error }) }
}

describe('MQTT packet size guard', () => {
  it('passes any stream of in-limit packets through unchanged, however it is split (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 300 })), {
          maxLength: 20,
        }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 200 }),
        async (packets, chunks) => {
          const bytes = Buffer.concat(packets.map(([type, size]) => frame(type << 4, size)))
          const { out, error } = await run(300, bytes, chunks)
          expect(error).toBeUndefined()
          expect(out.equals(bytes)).toBe(true)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('fails on the first packet above the limit, before its body arrives (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 301, max: 268_435_455 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 20 }),
        async (before, size, chunks) => {
          const bytes = Buffer.concat([
            ...Array.from({ length: before }, () => frame(0x30, 10)),
            header(0x30, size),
          ])
          const { error } = await run(300, bytes, chunks)
          expect(error).toBeInstanceOf(PacketTooLargeError)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('rejects a remaining length longer than four bytes', async () => {
    const { error } = await run(1_000_000_000, Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), [6])
    expect(error?.message).toMatch(/more than 4 bytes/)
  })
})
