/**
 * A home that contributes many rounds at once (a backlog of intervals, or a test that runs 300 rounds
 * in a second) must not be silently dropped by its neighbours' per-author rate limit: every home
 * ignores an author beyond `burst`, then `perSecond`, and an ignored share is gone — the round then
 * counts the home missing ("only 1 of 3 members contributed", the Sybil test's failure on a quiet
 * machine). The sender paces itself under its peers' limit (node/pacing.ts); what a receiver still
 * drops is counted and logged. Real libp2p nodes on loopback with a small limit, so that the burst
 * exceeds it on any machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPacer } from '../../src/mesh/node/pacing.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import { type Cluster, startCluster } from './fixture.ts'

const LIMIT = { burst: 20, perSecond: 40 }
const ROUNDS = 60

describe('a burst of rounds under the per-author rate limit', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(3, { rateLimit: LIMIT, aggregation: { maxRounds: 256 } })
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('delivers every share of 60 rounds contributed at once, exactly, with nothing ignored', async () => {
    const nodes = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    const base = Math.floor(Date.now() / 1000) - 2 * ROUNDS
    const rounds = Array.from({ length: ROUNDS }, (_, k) => base + k)
    // Every member contributes every round at once: 60 shares each, three times the peers' burst.
    await Promise.all(rounds.flatMap((t, k) => nodes.map((n, i) => n.aggregation.contribute(t, 10 * i + k))))
    const results = await Promise.all(
      rounds.map((t) => nodes[1].aggregation.collect(t, { shareTimeoutMs: 10_000 })),
    )
    results.forEach((r, k) => {
      expect(r.missing).toEqual([])
      expect(r.totalWh).toBe(BigInt(30 + 3 * k))
    })
    for (const n of nodes) expect(n.stats.limited).toBe(0)
  })
})

describe('the sender’s pacer', () => {
  it('sends half the burst at once, then at 80 % of the rate, alerts first', async () => {
    const pacer = createPacer({ burst: 10, perSecond: 100 })
    const order: string[] = []
    const started = Date.now()
    const takes = Array.from({ length: 9 }, (_, i) => pacer.take().then(() => order.push(`share${i}`)))
    // 5 go at once (half the burst); 4 wait for tokens at 80/s.
    expect(pacer.waiting).toBe(4)
    const alert = pacer.take(true).then(() => order.push('alert'))
    await Promise.all([...takes, alert])
    expect(order.slice(0, 6)).toEqual(['share0', 'share1', 'share2', 'share3', 'share4', 'alert'])
    // 5 tokens at 80/s: at least ~62 ms (timers may fire a little early or late).
    expect(Date.now() - started).toBeGreaterThanOrEqual(55)
  })

  it('rejects what waits when stopped', async () => {
    const pacer = createPacer({ burst: 2, perSecond: 1 })
    await pacer.take()
    const waiting = pacer.take()
    pacer.stop()
    await expect(waiting).rejects.toThrow(/stopped/)
    await expect(pacer.take()).rejects.toThrow(/stopped/)
  })
})
