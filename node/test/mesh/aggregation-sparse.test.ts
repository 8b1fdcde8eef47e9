/**
 * The sparse masking graph (docs/aggregation.md §2a, §4) at area sizes a libp2p host per home cannot
 * reach in a test: the real protocol code, crypto and strict wire codec over the in-memory network.
 * Exact sums with 10 % dropouts at 300 homes, what a coalition below the threshold sees, refusals that
 * keep a present home's masks secret, equivocation, the DP noise layer, and the cost per home.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  buildMaskingGraph,
  GRAPH_OUT_DEGREE,
  isolationBoundLog2,
  type MaskingGraph,
} from '../../src/mesh/aggregation/graph.ts'
import { createMemoryNetwork, type MemoryNode } from '../../src/mesh/aggregation/memory-network.ts'
import type { AggregationMessage, AggregationOptions } from '../../src/mesh/aggregation/types.ts'
import type { RevealMessage } from '../../src/mesh/codec.ts'
import { AggregationError, EquivocationError } from '../../src/mesh/errors.ts'
import {
  generateX25519KeyPair,
  MOD,
  membersDigest,
  pairKey,
  pairMask,
  signedMask,
} from '../../src/mesh/masking.ts'
import type { Member } from '../../src/mesh/membership.ts'
import { type Address, bytesToHexLower } from '../../src/mesh/signing.ts'

const AREA = 11
const T0 = Math.floor(Date.now() / 1000 / 900) * 900

interface Home extends MemoryNode {
  meter: Address
  privateKey: Uint8Array
}

function area(size: number, options: AggregationOptions = { privacy: false }) {
  const net = createMemoryNetwork({ area: AREA })
  const homes: Home[] = []
  for (let i = 0; i < size; i++) {
    const kp = generateX25519KeyPair()
    const meter = bytesToHexLower(randomBytes(20)) as Address
    const node = net.add(
      `home${i}`,
      { meter, x25519PublicKey: bytesToHexLower(kp.publicKey), x25519PrivateKey: kp.privateKey },
      options,
    )
    homes.push({ ...node, meter, privateKey: kp.privateKey })
  }
  const utility = net.add('utility', undefined)
  const view = net.members()
  const graph = buildMaskingGraph(view, membersDigest(AREA, view))
  return { net, homes, utility, view, graph }
}

/** Deterministic pick of `count` homes (so a run is reproducible from its printed indices). */
const pick = <T>(list: readonly T[], count: number, seed: number) =>
  [...list.keys()]
    .sort((a, b) => ((a * 7919 + seed * 104_729) % 1009) - ((b * 7919 + seed * 104_729) % 1009))
    .slice(0, count)
    .map((i) => list[i] as T)

/** Dropouts no home loses more than a third of its neighbours to (the refusal rule's bound). */
function safeDropouts(homes: readonly Home[], graph: MaskingGraph, count: number) {
  const out: Home[] = []
  const lost = new Map<Address, number>()
  for (const h of pick(homes, homes.length, 3)) {
    if (out.length === count) break
    const ns = graph.neighbours(h.meter)
    const ok = ns.every((n) => ((lost.get(n) ?? 0) + 1) * 3 <= graph.neighbours(n).length)
    if (!ok) continue
    out.push(h)
    for (const n of ns) lost.set(n, (lost.get(n) ?? 0) + 1)
  }
  return out
}

async function contributeAll(
  net: ReturnType<typeof area>['net'],
  homes: readonly Home[],
  t: number,
  maxWh = 2000,
) {
  const values = new Map<Address, number>()
  for (const h of homes) {
    const v = Math.floor(Math.random() * maxWh)
    values.set(h.meter, v)
    await net.as(h.peerId, () => h.aggregation.contribute(t, v))
  }
  await net.idle()
  return values
}

describe('the masking graph', () => {
  it('is the same for everyone, symmetric, of degree ≥ k, and complete for small areas', () => {
    const { view, graph } = area(300)
    const again = buildMaskingGraph(view, membersDigest(AREA, view))
    let total = 0
    for (const m of view) {
      const ns = graph.neighbours(m.meter)
      expect(ns).toEqual(again.neighbours(m.meter))
      expect(ns.length).toBeGreaterThanOrEqual(GRAPH_OUT_DEGREE)
      expect(ns).not.toContain(m.meter)
      for (const n of ns) expect(graph.adjacent(n, m.meter)).toBe(true)
      total += ns.length
    }
    expect(graph.complete).toBe(false)
    // ≈ 2k on average, far below the 299 of the complete graph.
    expect(total / view.length).toBeLessThan(2 * GRAPH_OUT_DEGREE + 2)
    expect(buildMaskingGraph(view.slice(0, 49), membersDigest(AREA, view.slice(0, 49))).complete).toBe(true)
    // Another member set, another graph: nobody can pre-compute it without the set.
    const other = view.slice(1)
    const g2 = buildMaskingGraph(other, membersDigest(AREA, other))
    const m = view[5] as Member
    expect(g2.neighbours(m.meter)).not.toEqual(graph.neighbours(m.meter))
  })

  it('meets the stated bound: isolation below 2⁻⁴⁰ at 1000 homes with 40 % corrupt or missing', () => {
    expect(isolationBoundLog2(1000, GRAPH_OUT_DEGREE, 0.4)).toBeLessThan(-40)
    expect(isolationBoundLog2(1000, GRAPH_OUT_DEGREE, 0.3)).toBeLessThan(-50)
    // And what a smaller k would give: the bound is what picks k.
    expect(isolationBoundLog2(1000, 12, 0.4)).toBeGreaterThan(-20)
  })
})

describe('aggregation over a sparse graph, 300 homes in memory', () => {
  it('sums exactly with 10 % dropouts; only neighbours of the missing reveal; cost per home stays small', async () => {
    const { net, homes, utility, graph } = area(300)
    // Warm-up round: pair keys and graphs are derived once per member set.
    await contributeAll(net, homes, T0 - 900)
    await utility.aggregation.collect(T0 - 900, { shareTimeoutMs: 0 })
    net.resetUsage()

    const t = T0
    const missing = safeDropouts(homes, graph, 30)
    const present = homes.filter((h) => !missing.includes(h))
    const reveals: RevealMessage[] = []
    net.tap(({ to, message }) => {
      if (to === 'utility' && message.type === 'reveal') reveals.push(message)
    })
    const values = await contributeAll(net, present, t)
    const result = await utility.aggregation.collect(t, { shareTimeoutMs: 0 })
    const expected = [...values.values()].reduce((a, b) => a + b, 0)
    expect(result.totalWh).toBe(BigInt(expected))
    expect(result.missing).toEqual(missing.map((h) => h.meter).sort())
    expect(result.contributors).toHaveLength(270)
    // Reveals come only from present neighbours of missing homes, and name only missing homes.
    const missingSet = new Set(missing.map((h) => h.meter))
    for (const r of reveals) {
      expect(missingSet.has(r.meter)).toBe(false)
      for (const m of r.masks) {
        expect(missingSet.has(m.meter)).toBe(true)
        expect(graph.adjacent(r.meter, m.meter)).toBe(true)
      }
    }
    // A member declared missing never contributes to that round afterwards.
    await expect((missing[0] as Home).aggregation.contribute(t, 5)).rejects.toThrow(AggregationError)
    // Cost: a home sends its share to ~2k neighbours + the aggregator, and maybe one reveal.
    for (const h of present) expect(net.usage(h.peerId).bytesSent).toBeLessThan(50_000)
    net.stop()
  }, 60_000)

  it('a coalition of 20 % (with the aggregator) learns nothing a test can check about an honest home', async () => {
    const { net, homes, utility, graph, view } = area(300)
    const t = T0 + 900
    const corrupt = new Set(pick(homes, 60, 5).map((h) => h.meter))
    const missing = safeDropouts(
      homes.filter((h) => !corrupt.has(h.meter)),
      graph,
      30,
    )
    const present = homes.filter((h) => !missing.includes(h))
    // The coalition sees everything the aggregator sees and everything delivered to its members.
    const seen: AggregationMessage[] = []
    net.tap(({ to, message }) => {
      const node = homes.find((h) => h.peerId === to)
      if (to === 'utility' || (node !== undefined && corrupt.has(node.meter))) seen.push(message)
    })
    const values = await contributeAll(net, present, t)
    await utility.aggregation.collect(t, { shareTimeoutMs: 0 })
    const shares = new Map<Address, bigint>()
    const revealed = new Map<Address, bigint>()
    for (const m of seen) {
      if (m.type === 'share') shares.set(m.meter, BigInt(m.value))
      if (m.type === 'reveal')
        revealed.set(
          m.meter,
          m.masks.reduce((s, x) => (s + BigInt(x.value)) % MOD, 0n),
        )
    }
    const byMeter = new Map(view.map((m) => [m.meter, m]))
    const homeOf = new Map(homes.map((h) => [h.meter, h]))
    const residuals: bigint[] = []
    for (const h of present) {
      if (corrupt.has(h.meter)) continue
      // Strip every mask the coalition can compute (with its own keys) and every revealed one.
      let y = ((shares.get(h.meter) as bigint) - (revealed.get(h.meter) ?? 0n) + MOD) % MOD
      let honestPresentNeighbour = false
      for (const n of graph.neighbours(h.meter)) {
        if (corrupt.has(n)) {
          const c = homeOf.get(n) as Home
          const k = pairKey(AREA, byMeter.get(n) as Member, c.privateKey, byMeter.get(h.meter) as Member)
          y = (y - signedMask(h.meter, n, pairMask(k, AREA, t)) + MOD) % MOD
        } else if (!missing.some((x) => x.meter === n)) honestPresentNeighbour = true
      }
      // Every honest contributor keeps a mask with an honest contributor: the graph's guarantee.
      expect(honestPresentNeighbour).toBe(true)
      const residual = (y - BigInt(values.get(h.meter) as number) + MOD) % MOD
      expect(residual).not.toBe(0n)
      residuals.push(y)
    }
    // What is left of each honest share looks uniform mod 2⁶⁴: χ² over 8 buckets of the top 3 bits
    // (7 degrees of freedom; 24.3 is the 0.1 % quantile), where readings alone would all sit in bucket 0.
    const buckets = new Array(8).fill(0)
    for (const r of residuals) buckets[Number(r >> 61n)]++
    const expectedPer = residuals.length / 8
    const chi2 = buckets.reduce((s, b) => s + (b - expectedPer) ** 2 / expectedPer, 0)
    expect(chi2).toBeLessThan(24.3)
    net.stop()
  }, 60_000)
})

describe('refusals that keep a present home’s masks secret (in memory, 120 homes)', () => {
  it('a false recover naming a present home gets no reveal from the neighbours that saw its share', async () => {
    const { net, homes, view, graph } = area(120)
    const t = T0 + 1800
    await contributeAll(net, homes, t)
    const victim = homes[7] as Home
    const reveals: AggregationMessage[] = []
    net.tap(({ message }) => {
      if (message.type === 'reveal') reveals.push(message)
    })
    // A rogue aggregator (another observer) claims the victim dropped out.
    const rogue = net.add('rogue', undefined)
    await net.sendAs(
      rogue.peerId,
      {
        v: 2,
        type: 'recover',
        area: AREA,
        round: t,
        members: membersDigest(AREA, view),
        missing: [victim.meter],
      },
      graph.neighbours(victim.meter),
    )
    await net.idle()
    expect(reveals).toEqual([])
    net.stop()
  })

  it('a home refuses to reveal when more than a third of its neighbours would be missing', async () => {
    const { net, homes, utility, graph } = area(120)
    const t = T0 + 2700
    const target = homes[3] as Home
    const ns = graph.neighbours(target.meter)
    const cut = new Set(ns.slice(0, Math.floor(ns.length / 3) + 1))
    const present = homes.filter((h) => !cut.has(h.meter))
    let targetRevealed = false
    net.tap(({ message }) => {
      if (message.type === 'reveal' && message.meter === target.meter) targetRevealed = true
    })
    await contributeAll(net, present, t)
    const error = await utility.aggregation
      .collect(t, { shareTimeoutMs: 0, revealTimeoutMs: 300, recoverRetryMs: 100 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregationError)
    expect((error as AggregationError).message).toContain(target.meter)
    expect(targetRevealed).toBe(false)
    net.stop()
  })

  it('detects equivocation: a second, different share of one home fails the round by name', async () => {
    const { net, homes, utility, graph } = area(120)
    const t = T0 + 3600
    const values = await contributeAll(net, homes, t)
    const cheater = homes[9] as Home
    // Another value for the same round is refused locally…
    await expect(cheater.aggregation.contribute(t, 1_000_000)).rejects.toThrow(AggregationError)
    // …so the cheater sends a second share by hand (contribute re-sends the same share for its value).
    const original = await cheater.aggregation.contribute(t, values.get(cheater.meter) as number)
    await net.sendAs(
      cheater.peerId,
      { ...original, value: ((BigInt(original.value) + 1n) % MOD).toString() },
      graph.neighbours(cheater.meter),
    )
    await net.idle()
    const error = await utility.aggregation.collect(t, { shareTimeoutMs: 0 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EquivocationError)
    expect((error as EquivocationError).message).toContain(cheater.meter)
    net.stop()
  })
})

describe('the DP noise layer over the sparse graph', () => {
  it('totals carry the homes’ noise: within 6σ√n of the exact sum, and not equal to it', async () => {
    const { net, homes, utility } = area(100, {})
    const t = T0 + 4500
    // Below the clamp (1000 Wh), so the only difference is the noise.
    const values = await contributeAll(net, homes, t, 1000)
    const result = await utility.aggregation.collect(t, { shareTimeoutMs: 0 })
    const exact = [...values.values()].reduce((a, b) => a + b, 0)
    const error = Number(result.totalWh) - exact
    expect(Math.abs(error)).toBeLessThan(6 * 50 * Math.sqrt(100))
    expect(error).not.toBe(0)
    net.stop()
  })
})
