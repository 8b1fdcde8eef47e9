import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AggregationError } from '../../src/mesh/errors.ts'
import { type Cluster, startCluster } from './fixture.ts'

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
    await Promise.all(active.map((n, i) => n.aggregation.contribute(t, values[i + dropouts] as number)))
    const expected = values.slice(dropouts).reduce((a, b) => a + b, 0)
    const result = await (active[0] as (typeof active)[number]).aggregation.collect(t, {
      shareTimeoutMs: 400,
      revealTimeoutMs: 3000,
    })
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
