/**
 * A sparse connection graph (docs/mesh.md §2, docs/aggregation.md §6): real libp2p nodes on loopback,
 * each home connected to four others and to the collector (home 0) only — not every pair. A round
 * with 10 % of the homes silent still sums exactly: shares that cannot go directly to every masking
 * neighbour are gossiped across the graph, the collector's recover goes straight to the revealers and
 * the missing (never on the gossip topic), the reveals straight back. An alert from a home reaches
 * every home across the graph and every ack reaches the sender — directly from the homes connected to
 * it, by gossip from the others; an ack on the ack stream that is not for the receiver, or is not an
 * ack, closes the stream.
 */
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { signAck, signAlert } from '../../src/mesh/alerts/messages.ts'
import { encodeMeshMessage } from '../../src/mesh/codec.ts'
import { ACK_PROTOCOL } from '../../src/mesh/node/direct-acks.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import type { MeterSigner } from '../../src/mesh/signing.ts'
import { AREA, type Cluster, DOMAIN, startCluster, until } from './fixture.ts'

const N = 12
/** Home 0 is the collector, connected to everyone; the others form a ring with chords (degree 4). */
const linked = (i: number, j: number) => {
  if (i === 0) return true
  const d = Math.min((j - i + N - 1) % (N - 1), (i - j + N - 1) % (N - 1))
  return d === 1 || d === 3
}
const round = (offset: number) => Math.floor(Date.now() / 1000 / 900) * 900 - offset * 900

/** Records the aggregation and alert messages each node receives on the gossip topics. */
function watchGossip(nodes: MeshNode[]) {
  const seen: string[] = []
  const offs = nodes.map((n) => {
    const pubsub = n.libp2p.services.pubsub as unknown as EventTarget
    const on = (e: Event) => {
      const text = new TextDecoder().decode((e as CustomEvent<{ data: Uint8Array }>).detail.data)
      const type = /"type":"(\w+)"/.exec(text)?.[1]
      if (type !== undefined) seen.push(type)
    }
    pubsub.addEventListener('message', on)
    return () => pubsub.removeEventListener('message', on)
  })
  return {
    seen,
    stop: () => {
      for (const off of offs) off()
    },
  }
}

describe('a sparse connection graph (four neighbours and the collector per home)', () => {
  let cluster: Cluster
  beforeAll(async () => {
    // Set-up budgets for a busy machine: 12 hosts handshake in one process.
    const setupMs = scaledBudget(10_000)
    cluster = await startCluster(
      N,
      (i) => ({
        collector: i === 0,
        admission: { graceMs: setupMs },
        connectionManager: {
          inboundConnectionThreshold: 1000,
          dialTimeout: setupMs,
          addressDialTimeout: setupMs,
          inboundUpgradeTimeout: setupMs,
        },
      }),
      { linked },
    )
  }, 240_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('is sparse: most homes are not connected to each other', () => {
    const degrees = cluster.nodes.slice(1).map((n) => n.libp2p.getConnections().length)
    expect(Math.max(...degrees)).toBeLessThanOrEqual(5)
  })

  it('a round with 10 % of the homes silent sums exactly; the recover goes directly, never on the topic', async () => {
    const t = round(2)
    const silent = new Set([4, 9]) // > 10 % of 12
    const gossip = watchGossip(cluster.nodes)
    const collector = cluster.nodes[0] as MeshNode
    const contributing = cluster.nodes.map((n, i) =>
      silent.has(i) ? Promise.resolve() : n.aggregation.contribute(t, 10 * (i + 1)),
    )
    await Promise.all(contributing)
    const expected = cluster.nodes.reduce((s, _, i) => (silent.has(i) ? s : s + 10 * (i + 1)), 0)
    const result = await collector.aggregation.collect(t, {
      shareTimeoutMs: scaledBudget(8000),
      shareIdleMs: scaledBudget(3000),
      revealTimeoutMs: scaledBudget(15_000),
    })
    gossip.stop()
    expect(result.totalWh).toBe(BigInt(expected))
    expect(result.missing.sort()).toEqual(
      [...silent].map((i) => (cluster.nodes[i] as MeshNode).meter as string).sort(),
    )
    // Homes connected to only some of their masking neighbours gossiped their shares; the collector,
    // connected to every home, sent the recover on streams, and the reveals came back the same way.
    expect(gossip.seen).toContain('share')
    const said = cluster.logs.flatMap((l, i) =>
      l.entries.filter((e) => /recover|reveal/.test(e.msg)).map((e) => `${i}: ${e.msg} ${JSON.stringify(e)}`),
    )
    expect(gossip.seen, said.join('\n')).not.toContain('recover')
    expect(gossip.seen).not.toContain('reveal')
  }, 60_000)

  it('an alert reaches every home across the graph, and every ack reaches the sender', async () => {
    const sender = cluster.nodes[5] as MeshNode
    const surfaced = cluster.nodes.map(() => 0)
    const offs = cluster.nodes.map((n, i) =>
      n.alerts.on('alert', () => {
        surfaced[i] = (surfaced[i] as number) + 1
      }),
    )
    const gossip = watchGossip(cluster.nodes)
    const delivery = await sender.alerts.raise('fire', 60)
    gossip.stop()
    for (const off of offs) off()
    expect(delivery.unacked).toEqual([])
    expect(delivery.acked).toHaveLength(N - 1)
    expect(surfaced.filter((c, i) => i !== 5 && c === 1)).toHaveLength(N - 1)
    // The sender's five connected peers acked on the ack stream, the six others on the topic.
    const gossipedAcks = gossip.seen.filter((type) => type === 'ack').length
    expect(gossipedAcks).toBeGreaterThan(0)
    expect(gossipedAcks).toBeLessThan(gossip.seen.length)
  }, 60_000)

  async function ackStream(from: MeshNode, to: MeshNode): Promise<Stream> {
    return from.libp2p.dialProtocol(to.libp2p.peerId, ACK_PROTOCOL)
  }

  it('an ack stream carrying an ack for another member, or another message, is closed', async () => {
    const [collector, a, b] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    // A properly signed ack by a's meter, but for b's alert: not for the collector it is written to.
    const ctx = { area: AREA, domain: DOMAIN, now: Date.now }
    const alert = await signAlert(ctx, cluster.meters[2] as MeterSigner, 'fire', 60)
    const ack = await signAck(ctx, cluster.meters[1] as MeterSigner, alert.body)
    expect(ack.body.to).toBe(b.meter)
    for (const frame of [encodeMeshMessage(ack), new TextEncoder().encode('{"v":1,"type":"ack"')]) {
      const stream = await ackStream(a, collector)
      await lpStream(stream).write(frame)
      await until(() => stream.status !== 'open', scaledBudget(5000), 'the ack stream to be closed')
    }
  })
})
