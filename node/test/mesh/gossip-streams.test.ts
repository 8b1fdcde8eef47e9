/**
 * gossipsub opens its stream to a peer once per connection; if that stream dies (a reset, or a
 * timeout on a busy host) the connection stays up and no gossip flows from this node to that peer
 * again. The mesh node re-opens it (node/gossip-streams.ts). Real libp2p nodes on loopback: one
 * node's gossip stream to a neighbour is aborted by hand, and must come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../src/mesh/node.ts'
import { type Cluster, startCluster, until } from './fixture.ts'

type Internals = { streamsOutbound: Map<string, { rawStream: { abort(error: Error): void } }> }

describe('a dead gossip stream', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(3)
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('is re-opened while the connection stays up, and gossip flows again', async () => {
    const [a, b, c] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    const streams = (a.libp2p.services.pubsub as unknown as Internals).streamsOutbound
    const connectionsBefore = a.libp2p.getConnections().length
    streams.get(b.peerId)?.rawStream.abort(new Error('killed by the test'))
    streams.get(c.peerId)?.rawStream.abort(new Error('killed by the test'))
    await until(() => !streams.has(b.peerId) && !streams.has(c.peerId), 5000, 'the streams to be gone')
    // The connections are still up: without the watch, nothing would ever send a's gossip again.
    expect(a.libp2p.getConnections().length).toBe(connectionsBefore)
    await until(() => streams.has(b.peerId) && streams.has(c.peerId), 10_000, 'the streams to be re-opened')
    // a's share reaches the aggregator again (it has no other path: both of its streams were killed).
    const t = Math.floor(Date.now() / 1000) - 60
    await Promise.all(cluster.nodes.map((n, i) => n.aggregation.contribute(t, 10 + i)))
    const result = await b.aggregation.collect(t, { shareTimeoutMs: 10_000 })
    expect(result.missing).toEqual([])
    expect(result.totalWh).toBe(33n)
  })
})
