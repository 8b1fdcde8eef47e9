/**
 * Shares on direct streams (`/zkmeter/agg-share/2.0.0`, node/direct-shares.ts, aggregation.md §6): real
 * libp2p nodes on loopback. A home connected to every member sends its share to each of them directly
 * and not on the gossip topic, and the round sums exactly; the receiver applies the gossip path's
 * checks — a share naming another member's meter, a frame that does not parse, a message that is not
 * a share, a frame over the cap each end the stream and are not stored; a stranger's stream never
 * reaches the handler.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { encodeMeshMessage, type ShareMessage } from '../../src/mesh/codec.ts'
import { COLLECT_PROTOCOL, SHARE_PROTOCOL } from '../../src/mesh/node/direct-shares.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { AREA, type Cluster, startCluster, until } from './fixture.ts'

const round = (offset: number) => Math.floor(Date.now() / 1000 / 900) * 900 - offset * 900
const closed = (s: Stream) => s.status !== 'open'

function share(meter: string | undefined, t: number, value = '12345'): ShareMessage {
  return {
    v: 2,
    type: 'share',
    area: AREA,
    round: t,
    meter: meter as Address,
    members: `0x${'00'.repeat(32)}`,
    value,
  }
}

describe('shares on direct streams', () => {
  let cluster: Cluster
  beforeAll(async () => {
    // Node 0 collects rounds: it asks the others for their shares on a collect stream.
    cluster = await startCluster(4, (i) => ({ admission: { graceMs: 1500 }, collector: i === 0 }))
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('a home connected to every member sends its share directly, not on the gossip topic, and the sum is exact', async () => {
    const t = round(1)
    const gossiped: string[] = []
    const listeners = cluster.nodes.map((n) => {
      const pubsub = n.libp2p.services.pubsub as unknown as EventTarget
      const on = (e: Event) => {
        const text = new TextDecoder().decode((e as CustomEvent<{ data: Uint8Array }>).detail.data)
        if (text.includes('"type":"share"')) gossiped.push(text)
      }
      pubsub.addEventListener('message', on)
      return () => pubsub.removeEventListener('message', on)
    })
    const before = cluster.nodes.map((n) => n.directShareStats.received)
    await Promise.all(cluster.nodes.map((n, i) => n.aggregation.contribute(t, 100 * (i + 1))))
    const result = await (cluster.nodes[0] as MeshNode).aggregation.collect(t, {
      shareTimeoutMs: scaledBudget(5000),
    })
    for (const off of listeners) off()
    expect(result.totalWh).toBe(1000n)
    expect(result.missing).toEqual([])
    // Every home got the three others' shares on the direct streams, none over gossip.
    await until(
      () => cluster.nodes.every((n, i) => n.directShareStats.received - (before[i] as number) === 3),
      scaledBudget(5000),
      'every share at every home',
    )
    expect(gossiped).toEqual([])
  })

  async function openShareStream(from: MeshNode, to: MeshNode) {
    const stream = await from.libp2p.dialProtocol(to.libp2p.peerId, SHARE_PROTOCOL)
    return { stream, lp: lpStream(stream) }
  }

  it('a member sending a share under another member’s meter is refused, the stream closed, the share not stored', async () => {
    const [aggregator, poser, victim] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    const t = round(2)
    const seen: string[] = []
    const off = aggregator.aggregation.on('share', (e) => void seen.push(e.meter))
    const refused = aggregator.directShareStats.refused
    const { stream, lp } = await openShareStream(poser, aggregator)
    await lp.write(encodeMeshMessage(share(victim.meter, t)))
    await until(() => closed(stream), scaledBudget(5000), 'the aggregator to close the stream')
    expect(aggregator.directShareStats.refused).toBe(refused + 1)
    expect(seen).toEqual([])
    expect(
      (cluster.logs[0]?.entries ?? []).some(
        (e) => e.msg === 'rejected a direct share; closing the stream' && e.peer === poser.peerId,
      ),
    ).toBe(true)
    // The victim's own share of that round is then taken as its first (an equivocation emits nothing).
    await victim.aggregation.contribute(t, 7)
    await until(() => seen.includes(victim.meter as string), scaledBudget(5000), 'the victim’s own share')
    off()
    expect(seen).toEqual([victim.meter])
  })

  it.each([
    ['not JSON', new TextEncoder().encode('{"v":2,"type":"share"')],
    [
      'a reveal, not a share',
      encodeMeshMessage({
        v: 2,
        type: 'reveal',
        area: AREA,
        round: round(3),
        meter: '0x0000000000000000000000000000000000000001',
        members: `0x${'00'.repeat(32)}`,
        masks: [{ meter: '0x0000000000000000000000000000000000000002', value: '1' }],
      }),
    ],
    [
      'a v1 share',
      new TextEncoder().encode(
        JSON.stringify({ ...share('0x0000000000000000000000000000000000000001', round(3)), v: 1 }),
      ),
    ],
    [
      'a share with an extra field',
      new TextEncoder().encode(
        JSON.stringify({ ...share('0x0000000000000000000000000000000000000001', round(3)), extra: 1 }),
      ),
    ],
    ['a frame over the size cap', new Uint8Array(40 * 1024).fill(0x20)],
  ])('%s on the share stream is refused and the stream closed', async (_what, bytes) => {
    const [aggregator, sender] = cluster.nodes as [MeshNode, MeshNode]
    const refused = aggregator.directShareStats.refused
    const { stream, lp } = await openShareStream(sender, aggregator)
    await lp.write(bytes).catch(() => undefined)
    await until(() => closed(stream), scaledBudget(5000), 'the aggregator to close the stream')
    expect(aggregator.directShareStats.refused).toBe(refused + 1)
  })

  it('a collector has a standing request at every member; data on a collect stream is refused', async () => {
    const [collector, member, other] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    await until(
      () => cluster.nodes.slice(1).every((n) => n.shareCollectors().includes(collector.peerId)),
      scaledBudget(10_000),
      'every member to hold the collector’s request',
    )
    expect(collector.shareCollectors()).toEqual([])
    // A member that writes on its collect stream is refused, and is no collector.
    const refused = other.directShareStats.refused
    const stream = await member.libp2p.dialProtocol(other.libp2p.peerId, COLLECT_PROTOCOL)
    await until(() => other.shareCollectors().includes(member.peerId), scaledBudget(5000), 'the request')
    await lpStream(stream).write(new TextEncoder().encode('{}'))
    await until(() => closed(stream), scaledBudget(5000), 'the member to close the collect stream')
    expect(other.directShareStats.refused).toBe(refused + 1)
    expect(other.shareCollectors()).not.toContain(member.peerId)
  })

  it('a home not connected to every neighbour gossips its share (it still reaches them)', async () => {
    const [a, , , d] = cluster.nodes as [MeshNode, MeshNode, MeshNode, MeshNode]
    const t = round(5)
    await Promise.all(a.libp2p.getConnections(d.libp2p.peerId).map((c) => c.close()))
    await until(
      () => d.libp2p.getConnections(a.libp2p.peerId).length === 0,
      scaledBudget(5000),
      'no a–d link',
    )
    const seen: string[] = []
    const off = a.aggregation.on('share', (e) => void seen.push(e.meter))
    const direct = a.directShareStats.received
    await d.aggregation.contribute(t, 5)
    await until(() => seen.includes(d.meter as string), scaledBudget(10_000), 'd’s share at a, over gossip')
    off()
    expect(a.directShareStats.received).toBe(direct)
    await a.dial(d.multiaddrs()[0] as string)
  })

  it('a stranger’s share stream never reaches the handler', async () => {
    const member = cluster.nodes[0] as MeshNode
    const host: Libp2p = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    await host.start()
    try {
      const received = member.directShareStats.received
      const refused = member.directShareStats.refused
      const stream = await host.dialProtocol(multiaddr(member.multiaddrs()[0] as string), SHARE_PROTOCOL)
      // A share naming a real member: only the stream's peer (not a member) is wrong.
      await lpStream(stream)
        .write(encodeMeshMessage(share(cluster.nodes[1]?.meter, round(4))))
        .catch(() => undefined)
      await until(
        () =>
          (cluster.logs[0]?.entries ?? []).some(
            (e) =>
              e.msg === 'refused a stream from a peer that is not admitted' &&
              e.peer === host.peerId.toString() &&
              e.protocol === SHARE_PROTOCOL,
          ),
        scaledBudget(10_000),
        'the member to refuse the stranger’s share stream',
      )
      expect(member.directShareStats.received).toBe(received)
      expect(member.directShareStats.refused).toBe(refused)
      // Nor does its request for shares.
      const ask = await host
        .dialProtocol(multiaddr(member.multiaddrs()[0] as string), COLLECT_PROTOCOL)
        .catch(() => undefined)
      await until(
        () =>
          ask === undefined ||
          (cluster.logs[0]?.entries ?? []).some(
            (e) =>
              e.msg === 'refused a stream from a peer that is not admitted' &&
              e.peer === host.peerId.toString() &&
              e.protocol === COLLECT_PROTOCOL,
          ),
        scaledBudget(10_000),
        'the member to refuse the stranger’s collect stream',
      )
      expect(member.shareCollectors()).not.toContain(host.peerId.toString())
    } finally {
      await host.stop()
    }
  })
})
