import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  encodeMeshMessage,
  type GossipWireMessage,
  gossipFastMessageId,
  type MeshMessage,
  parseMeshMessage,
} from '../../src/mesh/codec.ts'
import { InvalidMeshMessageError } from '../../src/mesh/errors.ts'

const hexOf = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as `0x${string}`)
const address = hexOf(20)
const sig = hexOf(65)
const area = fc.integer({ min: 0, max: 0xffff_ffff })
const time = fc.integer({ min: 0, max: 2 ** 40 })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String)
const peerId = fc.constant('12D3KooWLg6DbVpwxBHNpxT6zXUx5Dwb4LxWW1SUNHA7qVK8RWRR')
const sortedAddresses = fc
  .uniqueArray(address, { minLength: 1, maxLength: 20 })
  .map((list) => [...list].sort())

const message: fc.Arbitrary<MeshMessage> = fc.oneof(
  fc.record({
    v: fc.constant(1 as const),
    type: fc.constant('announce' as const),
    body: fc.record({ area, peerId, x25519PublicKey: hexOf(32), meter: address, time }),
    sig,
  }),
  fc.record({
    v: fc.constant(1 as const),
    type: fc.constant('alert' as const),
    body: fc.record({
      id: hexOf(16),
      area,
      kind: fc.constantFrom('fire' as const, 'flood' as const, 'gas' as const),
      meter: address,
      time,
      ttl: fc.integer({ min: 1, max: 86_400 }),
    }),
    sig,
  }),
  fc.record({
    v: fc.constant(1 as const),
    type: fc.constant('ack' as const),
    body: fc.record({ id: hexOf(16), area, meter: address, to: address, time }),
    sig,
  }),
  fc.record({
    v: fc.constant(2 as const),
    type: fc.constant('share' as const),
    area,
    round: time,
    meter: address,
    members: hexOf(32),
    value: u64,
  }),
  fc.record({
    v: fc.constant(2 as const),
    type: fc.constant('recover' as const),
    area,
    round: time,
    members: hexOf(32),
    missing: sortedAddresses,
  }),
  fc.record({
    v: fc.constant(2 as const),
    type: fc.constant('reveal' as const),
    area,
    round: time,
    meter: address,
    members: hexOf(32),
    masks: fc
      .tuple(sortedAddresses, fc.array(u64, { minLength: 20, maxLength: 20 }))
      .map(([meters, values]) => meters.map((meter, i) => ({ meter, value: values[i] as string }))),
  }),
)

describe('mesh message codec', () => {
  it('round-trips every well-formed message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(parseMeshMessage(encodeMeshMessage(m))).toEqual(m)
      }),
    )
  })

  it('never throws anything but InvalidMeshMessageError on arbitrary bytes or JSON', () => {
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.json().map((j) => new TextEncoder().encode(j)),
      // Well-formed messages with one field replaced by an arbitrary JSON value.
      fc.tuple(message, fc.jsonValue(), fc.nat()).map(([m, junk, k]) => {
        const copy = JSON.parse(JSON.stringify(m)) as Record<string, unknown>
        const target = 'body' in copy ? (copy.body as Record<string, unknown>) : copy
        const keys = Object.keys(target)
        target[keys[k % keys.length] as string] = junk
        return new TextEncoder().encode(JSON.stringify(copy))
      }),
    )
    fc.assert(
      fc.property(inputs, (data) => {
        try {
          parseMeshMessage(data)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidMeshMessageError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('names a type that cannot even be converted to text (found by the property above)', () => {
    for (const type of [[{ toString: 0 }], { valueOf: 0, toString: 0 }]) {
      for (const signed of [false, true]) {
        const text = JSON.stringify(
          signed ? { v: 1, type, area: 0, body: {} } : { v: 1, type, area: 0, round: 0 },
        )
        expect(() => parseMeshMessage(new TextEncoder().encode(text))).toThrow(InvalidMeshMessageError)
      }
    }
  })

  it('refuses aggregation messages of the old protocol (v1, dense masks) by name, and v2 signed kinds', () => {
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x))
    const share = {
      type: 'share',
      area: 1,
      round: 1,
      meter: `0x${'11'.repeat(20)}`,
      members: `0x${'22'.repeat(32)}`,
      value: '5',
    }
    expect(parseMeshMessage(enc({ v: 2, ...share })).v).toBe(2)
    // A v1 share was masked with every member: summed with v2 shares it would give a wrong total.
    expect(() => parseMeshMessage(enc({ v: 1, ...share }))).toThrow(
      /aggregation protocol v1 .*this node speaks v2 \(sparse masking graph\)/,
    )
    const recover = { type: 'recover', area: 1, round: 1, members: share.members, missing: [share.meter] }
    expect(() => parseMeshMessage(enc({ v: 1, ...recover }))).toThrow(/recover is aggregation protocol v1/)
    expect(() => parseMeshMessage(enc({ v: 3, ...recover }))).toThrow(/must be 2 for recover/)
    // The signed kinds did not change: they stay v1.
    expect(() =>
      parseMeshMessage(enc({ v: 2, type: 'alert', body: {}, sig: `0x${'00'.repeat(65)}` })),
    ).toThrow(/field v: must be 1/)
  })

  it('rejects oversized input before parsing it', () => {
    const big = new TextEncoder().encode(JSON.stringify({ v: 1, type: 'share', pad: 'x'.repeat(40_000) }))
    expect(() => parseMeshMessage(big)).toThrow(/above the 32768-byte cap/)
  })

  it('rejects unknown fields, unsorted sets and a price on a non-price notice', () => {
    const share = {
      v: 2,
      type: 'share',
      area: 1,
      round: 1,
      meter: `0x${'11'.repeat(20)}`,
      members: `0x${'22'.repeat(32)}`,
      value: '5',
    }
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x))
    expect(() => parseMeshMessage(enc({ ...share, extra: 1 }))).toThrow(/unknown field/)
    expect(() => parseMeshMessage(enc({ ...share, value: '18446744073709551616' }))).toThrow(/uint64/)
    expect(() =>
      parseMeshMessage(
        enc({
          v: 2,
          type: 'recover',
          area: 1,
          round: 1,
          members: share.members,
          missing: [`0x${'22'.repeat(20)}`, `0x${'11'.repeat(20)}`],
        }),
      ),
    ).toThrow(/sorted/)
    const notice = {
      v: 1,
      type: 'notice',
      sig: `0x${'00'.repeat(65)}`,
      body: {
        id: `0x${'33'.repeat(16)}`,
        area: 1,
        kind: 'outage',
        text: 'x',
        startsAt: 1,
        endsAt: 2,
        issuedAt: 1,
        expiresAt: 2,
        priceWeiPerWh: '5',
      },
    }
    expect(() => parseMeshMessage(enc(notice))).toThrow(/only a price-signal/)
  })
})

describe('gossipFastMessageId (duplicate detection before signature checks)', () => {
  const bytes = fc.uint8Array({ maxLength: 64 })
  const wire = fc.record(
    {
      from: bytes,
      data: bytes,
      seqno: bytes,
      topic: fc.string({ maxLength: 20 }),
      signature: bytes,
      key: bytes,
    },
    { requiredKeys: ['topic'] },
  )
  const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
    a === undefined || b === undefined ? a === b : Buffer.from(a).equals(Buffer.from(b))
  const equal = (a: GossipWireMessage, b: GossipWireMessage) =>
    a.topic === b.topic &&
    same(a.from, b.from) &&
    same(a.data, b.data) &&
    same(a.seqno, b.seqno) &&
    same(a.signature, b.signature) &&
    same(a.key, b.key)

  it('gives two messages the same id exactly when every field is the same (absent differs from empty)', () => {
    fc.assert(
      fc.property(wire, wire, (a, b) => {
        expect(gossipFastMessageId(a) === gossipFastMessageId(b)).toBe(equal(a, b))
        expect(gossipFastMessageId(a)).toBe(gossipFastMessageId({ ...a }))
      }),
    )
  })

  it('a copy with another signature or payload is not a duplicate of the genuine message', () => {
    fc.assert(
      fc.property(wire, bytes, (m, other) => {
        fc.pre(!same(m.signature, other))
        expect(gossipFastMessageId({ ...m, signature: other })).not.toBe(gossipFastMessageId(m))
      }),
    )
    // Field boundaries are framed: moving a byte from one field to the next changes the id.
    expect(gossipFastMessageId({ topic: 't', from: Uint8Array.of(1, 2), seqno: Uint8Array.of(3) })).not.toBe(
      gossipFastMessageId({ topic: 't', from: Uint8Array.of(1), seqno: Uint8Array.of(2, 3) }),
    )
  })
})
