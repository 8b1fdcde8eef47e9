import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeMeshMessage } from '../../src/mesh/codec.ts'
import { AggregationError } from '../../src/mesh/errors.ts'
import { REVEAL_PROTOCOL } from '../../src/mesh/node/direct-reveals.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import { AREA, type Cluster, startCluster, until } from './fixture.ts'

describe('private aggregation over 5 loopback nodes', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(5)
  })
  afterAll(async () => {
    await cluster.stop()
  })

  const round = (offset: number) => Math.floor(Date.now() / 1000 / 900) * 900 + offset * 900

  it('sums the shares exactly to the Wh with no dropouts, and the shares are masked', async () => {
    const t = round(0)
    const values = [312, 0, 65_535, 1_204, 77]
    // 'share' events: each other member's share seen once, with round and meter only (no value).
    const seen: unknown[] = []
    const off = cluster.nodes[0]!.aggregation.on('share', (e) => void seen.push(e))
    const shares = await Promise.all(
      cluster.nodes.map((n, i) => n.aggregation.contribute(t, values[i] as number)),
    )
    // A share alone reveals nothing recognisable: it is the value plus 64-bit masks.
    shares.forEach((s, i) => {
      expect(BigInt(s.value)).not.toBe(BigInt(values[i] as number))
    })
    const results = await Promise.all(
      cluster.nodes.map((n) => n.aggregation.collect(t, { shareTimeoutMs: 3000 })),
    )
    off()
    expect(seen).toHaveLength(4)
    expect(seen).toEqual(
      expect.arrayContaining(cluster.nodes.slice(1).map((n) => ({ round: t, meter: n.meter }))),
    )
    for (const r of results) {
      expect(r.totalWh).toBe(67_128n)
      expect(r.missing).toEqual([])
      expect(r.contributors).toHaveLength(5)
    }
  })

  it.each([1, 2])('recovers the exact total with %i dropout(s)', async (dropouts) => {
    const t = round(dropouts)
    const values = [1000, 2000, 3000, 4000, 5000]
    const active = cluster.nodes.slice(dropouts)
    // Reveals go to the aggregator on a direct stream: no other home sees one on the gossip topic.
    const gossipedReveals: string[] = []
    const onMessage = (e: CustomEvent<{ data: Uint8Array }>) => {
      const text = new TextDecoder().decode(e.detail.data)
      if (text.includes('"type":"reveal"')) gossipedReveals.push(text)
    }
    const bystander = active[active.length - 1] as MeshNode
    const pubsub = bystander.libp2p.services.pubsub as unknown as EventTarget
    pubsub.addEventListener('message', onMessage as EventListener)
    await Promise.all(active.map((n, i) => n.aggregation.contribute(t, values[i + dropouts] as number)))
    const expected = values.slice(dropouts).reduce((a, b) => a + b, 0)
    const result = await (active[0] as (typeof active)[number]).aggregation.collect(t, {
      shareTimeoutMs: 400,
      revealTimeoutMs: 3000,
    })
    pubsub.removeEventListener('message', onMessage as EventListener)
    expect(gossipedReveals).toEqual([])
    expect(result.totalWh).toBe(BigInt(expected))
    expect(result.missing).toHaveLength(dropouts)
    expect(result.missing).toEqual(
      cluster.nodes
        .slice(0, dropouts)
        .map((n) => n.meter)
        .sort(),
    )
    // A member declared missing may no longer contribute to that round.
    await expect((cluster.nodes[0] as (typeof active)[number]).aggregation.contribute(t, 5)).rejects.toThrow(
      AggregationError,
    )
  })
})

describe('dropout recovery after a member was briefly cut off', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(5)
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('re-publishes the recover until the reconnected member has revealed (gossip does not repair old messages)', async () => {
    const t = Math.floor(Date.now() / 1000 / 900) * 900 - 900
    const [aggregator, , , cutOff, dropout] = cluster.nodes as [
      MeshNode,
      MeshNode,
      MeshNode,
      MeshNode,
      MeshNode,
    ]
    const active = cluster.nodes.filter((n) => n !== dropout)
    // Shares accepted at the aggregator (on direct streams here: every home is connected to every other).
    const sharesFrom = new Set<string>()
    const off = aggregator.aggregation.on('share', (e) => void sharesFrom.add(e.meter))
    await Promise.all(active.map((n, i) => n.aggregation.contribute(t, 100 * (i + 1))))
    await until(() => sharesFrom.size === active.length - 1, 10_000, 'every share at the aggregator')
    off()
    // Every share is in: now cut one contributor off, so the recover (and its reveal) cannot flow.
    const addrs = cluster.nodes.filter((n) => n !== cutOff).map((n) => n.multiaddrs()[0] as string)
    await Promise.all(cutOff.libp2p.getConnections().map((c) => c.close()))
    const collecting = aggregator.aggregation.collect(t, {
      shareTimeoutMs: 300,
      revealTimeoutMs: 8000,
      recoverRetryMs: 500,
    })
    // Back after longer than gossipsub's message cache keeps the recover for (3 heartbeats of 1 s).
    await new Promise((r) => setTimeout(r, 3500))
    for (const addr of addrs) await cutOff.dial(addr)
    const result = await collecting
    expect(result.totalWh).toBe(100n + 200n + 300n + 400n)
    expect(result.missing).toEqual([dropout.meter])
  }, 20_000)
})

describe('direct reveals', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(3)
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('a member posing as another meter on the reveal stream is rejected, and the reveal not stored', async () => {
    const [aggregator, poser, victim] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    const t = Math.floor(Date.now() / 1000 / 900) * 900 - 2700
    const stream = await poser.libp2p.dialProtocol(aggregator.libp2p.peerId, REVEAL_PROTOCOL)
    await lpStream(stream).write(
      encodeMeshMessage({
        v: 2,
        type: 'reveal',
        area: AREA,
        round: t,
        meter: victim.meter as `0x${string}`,
        members: `0x${'00'.repeat(32)}`,
        masks: [{ meter: poser.meter as `0x${string}`, value: '1' }],
      }),
    )
    await stream.close()
    await until(
      () => (cluster.logs[0]?.entries ?? []).some((e) => e.msg.startsWith('rejected a direct reveal')),
      5000,
      'the aggregator to reject the posing reveal',
    )
  })
})
