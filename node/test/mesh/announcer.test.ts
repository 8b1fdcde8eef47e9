/**
 * When a node announces (node/announcer.ts, docs/mesh.md §5): a peer joining a topic no longer makes
 * every home it connects to re-announce to the whole area. Both ends already hold each other's
 * announcement from the admission handshake, and one area-wide flood per home per join was O(n³)
 * copies while an area started (a 50-home mesh with a connection per pair never settled). Real libp2p
 * nodes on loopback: a member that rejoins its neighbours causes no announcement elsewhere in the area.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshTopic } from '#protocol/topics.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import { AREA, type Cluster, startCluster, until } from './fixture.ts'

describe('announcing on joins', () => {
  let cluster: Cluster
  beforeAll(async () => {
    // No periodic announcements during the test: only joins could cause one.
    cluster = await startCluster(5, { announceIntervalMs: 600_000 })
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('a member that rejoins its neighbours makes none of them re-announce to the area', async () => {
    const [bystander, a, b, c, joiner] = cluster.nodes as [MeshNode, MeshNode, MeshNode, MeshNode, MeshNode]
    const members = meshTopic(AREA, 'members')
    // Cut the joiner off, then let it join a, b and c again (not the bystander, who watches the area).
    await Promise.all(joiner.libp2p.getConnections().map((conn) => conn.close()))
    await until(() => joiner.libp2p.getConnections().length === 0, scaledBudget(5000), 'the joiner cut off')
    const announcedBy: string[] = []
    const pubsub = bystander.libp2p.services.pubsub as unknown as EventTarget
    const onMessage = (e: Event) => {
      const m = (e as CustomEvent<{ topic: string; from?: { toString(): string } }>).detail
      if (m.topic === members) announcedBy.push(String(m.from))
    }
    pubsub.addEventListener('message', onMessage)
    for (const n of [a, b, c]) await joiner.dial(n.multiaddrs()[0] as string)
    await until(
      () =>
        [a, b, c].every((n) =>
          n.libp2p.services.pubsub.getSubscribers(members).some((p) => p.toString() === joiner.peerId),
        ),
      scaledBudget(10_000),
      'a, b and c to see the joiner subscribe',
    )
    // An announcement would go out 50 ms after the subscription (ANNOUNCE_SOON_MS); a timer set after
    // that one fires after it. Then a, b and c each raise an alert: gossip from one author reaches the
    // bystander in order, so once it has their alerts it has any announcement they sent before.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const seen = new Set<string>()
    const off = bystander.alerts.on('alert', (alert) => void seen.add(alert.meter))
    await Promise.all([a, b, c].map((n) => n.alerts.raise('fire', 60)))
    await until(() => [a, b, c].every((n) => seen.has(n.meter as string)), scaledBudget(10_000), 'the alerts')
    off()
    pubsub.removeEventListener('message', onMessage)
    expect(announcedBy).toEqual([])
  })
})
