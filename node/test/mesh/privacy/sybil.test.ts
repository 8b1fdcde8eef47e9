/**
 * The utility as the adversary (issue 13): it registers the meters of an area, so it can surround one
 * real home with fake members whose values (and keys) it knows. Two fake members next to one real home
 * pass `minMembers` (3); the utility collects every round and subtracts its fakes' values. Without
 * noise it reads the home's consumption exactly every round. With distributed differential privacy
 * the home's own noise stays in: over many rounds the utility's error has the documented standard
 * deviation σ = 50 Wh (docs/aggregation.md §7) — and the home stops when its daily ε is spent.
 * Real libp2p 3 nodes on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { epsilonOf } from '../../../src/mesh/aggregation/privacy/accountant.ts'
import { DEFAULT_SIGMA_WH } from '../../../src/mesh/aggregation/privacy/release.ts'
import { PrivacyBudgetSpentError } from '../../../src/mesh/errors.ts'
import type { MeshNode } from '../../../src/mesh/node.ts'
import { type Cluster, startCluster } from '../fixture.ts'

const ROUNDS = 300
const BATCH = 20

describe('a real home among two fake members (Sybil)', () => {
  let cluster: Cluster
  beforeAll(async () => {
    // Node 0 is the real home (noise on, as every household node runs it; budget lifted so that one
    // test day can hold 300 rounds); nodes 1 and 2 are the utility's fakes, sending exact values.
    cluster = await startCluster(3, (i) =>
      i === 0
        ? { aggregation: { privacy: { dailyBudget: 1e12 }, maxRounds: 256 } }
        : { aggregation: { maxRounds: 256 } },
    )
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('leaves the utility an error of at least the documented σ on the home’s value', async () => {
    const [home, fakeA, fakeB] = cluster.nodes as [MeshNode, MeshNode, MeshNode]
    const base = Math.floor(Date.now() / 1000) - 2 * ROUNDS
    const errors: number[] = []
    for (let start = 0; start < ROUNDS; start += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, k) => {
          const t = base + start + k
          const real = (start + k) % 700 // the home's true reading, varied, below the clamp
          const a = 120 + k
          const b = 300 - k
          await Promise.all([
            home.aggregation.contribute(t, real),
            fakeA.aggregation.contribute(t, a),
            fakeB.aggregation.contribute(t, b),
          ])
          // The utility collects at its own (fake) member and subtracts what its fakes sent.
          const result = await fakeA.aggregation.collect(t, { shareTimeoutMs: 10_000 })
          expect(result.missing).toEqual([])
          errors.push(Number(result.totalWh) - a - b - real)
        }),
      )
    }
    // Nothing was dropped by a home's per-author rate limit: 300 rounds in batches can outpace what a
    // peer accepts from one author (100/s), and the senders pace themselves under it (node/pacing.ts).
    for (const n of cluster.nodes) expect(n.stats.limited).toBe(0)
    const mean = errors.reduce((s, e) => s + e, 0) / errors.length
    const sd = Math.sqrt(errors.reduce((s, e) => s + (e - mean) ** 2, 0) / (errors.length - 1))
    // σ̂ of 300 draws has a standard error of σ/√600 ≈ 2 Wh: 0.85σ is 7 of those below σ.
    expect(sd).toBeGreaterThanOrEqual(0.85 * DEFAULT_SIGMA_WH)
    expect(errors.filter((e) => e === 0).length).toBeLessThan(ROUNDS / 20)
    // The home's ε for these rounds is on its books (worst case: only its own noise counts).
    const spend = home.aggregation.privacy?.spend(Math.floor((base - 1) / 86_400))
    expect(spend?.rounds).toBeGreaterThan(0)
  })

  it('stops contributing once the resident’s daily ε is spent', async () => {
    const budgeted = await startCluster(3, (i) =>
      i === 0 ? { aggregation: { privacy: { dailyBudget: epsilonOf(2 * 200, 1e-6) } } } : {},
    )
    try {
      const home = budgeted.nodes[0] as MeshNode
      const t = Math.floor(Date.now() / 1000) - 100
      await home.aggregation.contribute(t, 100)
      await home.aggregation.contribute(t + 1, 100)
      await expect(home.aggregation.contribute(t + 2, 100)).rejects.toThrow(PrivacyBudgetSpentError)
      // Nothing was published for that round: the others see no share of the home.
      const collected = budgeted.nodes[1] as MeshNode
      await Promise.all(budgeted.nodes.slice(1).map((n) => n.aggregation.contribute(t + 2, 50)))
      await expect(collected.aggregation.collect(t + 2, { shareTimeoutMs: 500 })).rejects.toThrow()
    } finally {
      await budgeted.stop()
    }
  })
})
