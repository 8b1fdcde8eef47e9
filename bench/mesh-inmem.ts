/**
 * The 1000-home figures of `npm run bench:mesh` (issue 16): the real aggregation protocol code, crypto
 * and strict wire codec, every home its own aggregation service, over the in-memory point-to-point
 * network (node/src/mesh/aggregation/memory-network.ts) in this one process. libp2p is not in the loop,
 * so the figures are the protocol's own cost per home; the wall time is the sum of all homes' work on
 * one event loop, so it is reported, not bounded.
 * - cpu_per_home_1000_ms: main-thread CPU one home spends in a round (share, the shares its
 *   neighbours send it, the recover, its reveal): mean over the present homes (and _max);
 * - bytes_per_home_1000: bytes a home sends in a round (message bytes × recipients, as point-to-point
 *   links would carry them): mean (and _max);
 * - aggregator_cpu_1000_ms: the utility's aggregator (an observer with no meter): receiving and
 *   checking every share and reveal, the recover, the sum;
 * - round_1000_inmem_s: the round's wall time, shares to total.
 * Median of 3 rounds with 10 % of the homes silent, after a warm-up round (pair keys and the masking
 * graph are derived once per member set). Every total is checked exact to the Wh.
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { mulberry32 } from '../node/src/forecast/simulate.ts'
import { createMemoryNetwork } from '../node/src/mesh/aggregation/memory-network.ts'
import { generateX25519KeyPair } from '../node/src/mesh/masking.ts'
import { type Address, bytesToHexLower } from '../node/src/mesh/signing.ts'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

export async function inMemoryFigures(n: number): Promise<Record<string, number>> {
  const net = createMemoryNetwork({ area: 1 })
  const homes = Array.from({ length: n }, (_, i) => {
    const kp = generateX25519KeyPair()
    const meter = bytesToHexLower(randomBytes(20)) as Address
    return net.add(
      `home${i}`,
      { meter, x25519PublicKey: bytesToHexLower(kp.publicKey), x25519PrivateKey: kp.privateKey },
      { privacy: false },
    )
  })
  const utility = net.add('utility', undefined)
  const base = Math.floor(Date.now() / 1000 / 900) * 900

  async function round(t: number, dropouts: number) {
    const random = mulberry32(t)
    const silent = new Set<number>()
    while (silent.size < dropouts) silent.add(Math.floor(random() * n))
    net.resetUsage()
    const started = performance.now()
    let expected = 0
    for (let i = 0; i < n; i++) {
      if (silent.has(i)) continue
      const v = Math.floor(random() * 2000)
      expected += v
      const home = homes[i] as (typeof homes)[number]
      await net.as(home.peerId, () => home.aggregation.contribute(t, v))
    }
    await net.idle()
    // The share phase closes once every share sent is delivered (a deadline that fell just right).
    const result = await net.as(utility.peerId, () =>
      utility.aggregation.collect(t, { shareTimeoutMs: 0, revealTimeoutMs: 60_000 }),
    )
    const seconds = (performance.now() - started) / 1000
    if (result.totalWh !== BigInt(expected) || result.missing.length !== dropouts) {
      throw new Error(`in-memory round ${t}: got ${result.totalWh}, expected ${expected}`)
    }
    const present = homes.filter((_, i) => !silent.has(i)).map((h) => net.usage(h.peerId))
    return {
      seconds,
      cpu: present.map((u) => u.cpuMs),
      bytes: present.map((u) => u.bytesSent),
      aggregatorMs: net.usage(utility.peerId).cpuMs,
    }
  }

  const warm = await round(base, 0)
  console.log(`  warm-up round (pair keys, masking graph): ${warm.seconds.toFixed(2)} s`)
  const dropouts = Math.round(n / 10)
  const runs = []
  for (let k = 1; k <= 3; k++) runs.push(await round(base - k * 900, dropouts))
  const load = loadavg()[0] as number
  const out = {
    [`cpu_per_home_${n}_ms`]: Number(median(runs.map((r) => mean(r.cpu))).toFixed(2)),
    [`cpu_per_home_${n}_max_ms`]: Number(median(runs.map((r) => Math.max(...r.cpu))).toFixed(2)),
    [`bytes_per_home_${n}`]: Math.round(median(runs.map((r) => mean(r.bytes)))),
    [`bytes_per_home_${n}_max`]: median(runs.map((r) => Math.max(...r.bytes))),
    [`aggregator_cpu_${n}_ms`]: Number(median(runs.map((r) => r.aggregatorMs)).toFixed(1)),
    [`round_${n}_inmem_s`]: Number(median(runs.map((r) => r.seconds)).toFixed(2)),
    [`load1_round_${n}_inmem`]: Number(load.toFixed(2)),
  }
  console.log(
    `  ${n} homes in memory, ${dropouts} silent: rounds ${runs.map((r) => r.seconds.toFixed(2)).join(', ')} s (exact); per home ${out[`cpu_per_home_${n}_ms`]} ms CPU (max ${out[`cpu_per_home_${n}_max_ms`]}), ${out[`bytes_per_home_${n}`]} B sent (max ${out[`bytes_per_home_${n}_max`]}); aggregator ${out[`aggregator_cpu_${n}_ms`]} ms CPU; load ${load.toFixed(1)}`,
  )
  net.stop()
  return out
}

if (process.argv[1]?.endsWith('mesh-inmem.ts')) {
  console.log(JSON.stringify(await inMemoryFigures(Number(process.argv[2] ?? 1000))))
}
