/**
 * npm run bench:mesh — the neighbourhood mesh on loopback, every node a real libp2p 3 host (TCP, noise,
 * yamux, gossipsub) and all of them in this one process (one event loop, so N homes' CPU is serialised):
 * - round_{10,50,100}_s: one private-aggregation round (median of 3 after a warm-up round that derives
 *   the pair keys), 10% of the members silent (alive and subscribed, not contributing), so every round
 *   includes a dropout recovery; the aggregator (node 0) closes the share phase the moment the last
 *   present share reached it, so the figure is dissemination + recovery, without a deadline's slack.
 *   The total is checked exact to the Wh or the bench fails. round_N_shares_s: when the last share
 *   arrived; round_N_cpu_per_node_ms: process CPU of the round ÷ N (what one home spends);
 * - bytes_per_node_50: bytes written to sockets by the whole process during a 50-node round
 *   (/proc/self/io wchar: noise/yamux/gossip framing, control messages and duplicates included) ÷ 50;
 * - alert_p95_ms (50 homes) and alert_p95_10_ms: raise → surfaced at each neighbour, 20 alerts;
 * - rss_per_node_mb: process RSS growth per started node (50 nodes, after the stack is imported);
 * - round_50_d3_s, …_d3: the 50-home run again with gossipsub mesh degree D = 3 (BENCH_MESH_LOW_D)
 *   instead of libp2p's 6: each message then reaches a home ~3 times instead of ~6;
 * - sizes: BENCH_MESH_SIZES (default 10,50). 100 full hosts in one process did not converge to a full
 *   membership view here (docs/benchmarks/mesh.md); BENCH_MESH_SIZES=10,50,100 tries it;
 * - the load forecast's backtest on simulated area data against the seasonal-naive baselines.
 * Last line: the JSON summary of ../shared/BENCH.md.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { backtest } from '../node/src/forecast/backtest.ts'
import { areaTotals, mulberry32, simulateHomes } from '../node/src/forecast/simulate.ts'
import { createMeshNode, type MeshNode } from '../node/src/mesh/node.ts'
import { snapshotRegistry } from '../node/src/mesh/registry.ts'
import { type Address, signerFromPrivateKey } from '../node/src/mesh/signing.ts'

const AREA = 1
const DOMAIN = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const SIZES = (process.env.BENCH_MESH_SIZES ?? '10,50').split(',').map(Number)
const quiet = { warn: () => {} }
/** A second 50-home run with this gossipsub mesh degree (libp2p's default is 6); 0 skips it. */
const LOW_D = Number(process.env.BENCH_MESH_LOW_D ?? 3)

const wchar = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN)
const rssMb = () => process.memoryUsage().rss / 2 ** 20
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1] as number
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

async function startMesh(n: number, gossipD: number) {
  const utility = signerFromPrivateKey(new Uint8Array(randomBytes(32)))
  const meters = Array.from({ length: n }, () => signerFromPrivateKey(new Uint8Array(randomBytes(32))))
  const registry = snapshotRegistry(meters.map((m) => ({ meter: m.address, area: AREA, active: true })))
  global.gc?.()
  const rssBefore = rssMb()
  const nodes: MeshNode[] = []
  for (const meter of meters) {
    const node = await createMeshNode({
      area: AREA,
      domain: DOMAIN,
      utility: utility.address as Address,
      registry,
      meter,
      logger: quiet,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      // All nodes share 127.0.0.1: lift libp2p's per-host inbound rate limit (5 connections/s).
      connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1000 },
      // Announced explicitly once the topology is built (below); periodic re-announcement is for churn.
      announceIntervalMs: 120_000,
      // A bench of this size in one process bursts well above a home's normal rate.
      rateLimit: { burst: 2000, perSecond: 2000 },
      ...(gossipD > 0
        ? { gossip: { D: gossipD, Dlo: Math.max(2, gossipD - 1), Dhi: 2 * gossipD, Dlazy: gossipD } }
        : {}),
    })
    await node.start()
    nodes.push(node)
  }
  // Sparse topology, as on a street: each node dials its two predecessors and two random earlier nodes.
  const random = mulberry32(n)
  for (let i = 1; i < n; i++) {
    const targets = new Set(
      [i - 1, i - 2, Math.floor(random() * i), Math.floor(random() * i)].filter((j) => j >= 0),
    )
    for (const j of targets)
      await (nodes[i] as MeshNode).dial((nodes[j] as MeshNode).multiaddrs()[0] as string)
  }
  await sleep(1500) // let gossipsub graft its meshes (heartbeat 1 s)
  const t0 = Date.now()
  for (const node of nodes) await node.announce()
  // Poll the views; re-announce every 5 s until complete (a message lost while meshes form costs one period).
  const deadline = Date.now() + 300_000
  let nextAnnounce = Date.now() + 5000
  while (!nodes.every((node) => node.members.list().length === n)) {
    if (Date.now() > deadline) throw new Error(`${n}-node membership did not converge in 300 s`)
    await sleep(50)
    if (Date.now() < nextAnnounce) continue
    nextAnnounce = Date.now() + 5000
    const counts = nodes.map((node) => node.members.list().length)
    const worst = counts.indexOf(Math.min(...counts))
    const lagging = nodes[worst] as MeshNode
    const pubsub = lagging.libp2p.services.pubsub as unknown as { getScore(peer: string): number }
    const peers = lagging.libp2p.getConnections().map((c) => c.remotePeer.toString())
    const lowest = Math.min(...peers.map((p) => pubsub.getScore(p)))
    console.log(
      `  membership views: min ${counts[worst]} (node ${worst}, ${peers.length} connections, lowest peer score ${lowest.toFixed(1)}), max ${Math.max(...counts)} of ${n}`,
    )
    for (const node of nodes) {
      if (nodes.some((other) => other.members.get(node.meter as Address) === undefined)) await node.announce()
    }
  }
  console.log(`  ${n} nodes up; membership converged in ${Date.now() - t0} ms`)
  await sleep(1500) // let gossipsub graft its meshes (heartbeat 1 s)
  global.gc?.()
  return { nodes, rssPerNodeMb: (rssMb() - rssBefore) / n }
}

/**
 * One round. The aggregator (node 0) closes the share phase the moment the last present member's share
 * reached it (observed on its gossipsub topic), i.e. a deadline that fell just right: the figure is
 * share dissemination + dropout recovery + reveals, the protocol's own latency. A deployment closes the
 * share phase at a deadline (`shareTimeoutMs` / `shareIdleMs`), which adds that wait on top.
 */
async function round(nodes: MeshNode[], t: number, dropouts: number) {
  const silent = new Set<number>()
  const random = mulberry32(t)
  while (silent.size < dropouts) silent.add(1 + Math.floor(random() * (nodes.length - 1))) // node 0 aggregates
  const values = nodes.map(() => Math.floor(random() * 2000))
  const expected = values.reduce((s, v, i) => (silent.has(i) ? s : s + v), 0)
  const aggregator = nodes[0] as MeshNode
  const presentPeers = new Set(nodes.filter((_, i) => i !== 0 && !silent.has(i)).map((node) => node.peerId))
  const arrived = new Set<string>()
  let lastShareAt = 0
  const onMessage = (
    e: CustomEvent<{ topic: string; type: string; from?: { toString(): string }; data: Uint8Array }>,
  ) => {
    const from = e.detail.from?.toString()
    if (e.detail.topic.endsWith('/aggregate') && from !== undefined && presentPeers.has(from)) {
      if (new TextDecoder().decode(e.detail.data).includes('"type":"share"')) {
        arrived.add(from)
        lastShareAt = performance.now()
      }
    }
  }
  const pubsub = aggregator.libp2p.services.pubsub as unknown as EventTarget
  pubsub.addEventListener('message', onMessage as EventListener)
  const bytesBefore = wchar()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    nodes.map((node, i) => (silent.has(i) ? undefined : node.aggregation.contribute(t, values[i] as number))),
  )
  await until(
    () => arrived.size === presentPeers.size,
    120_000,
    `round ${t}: every present share at the aggregator`,
  )
  pubsub.removeEventListener('message', onMessage as EventListener)
  const sharesSeconds = (lastShareAt - started) / 1000
  const result = await aggregator.aggregation.collect(t, { shareTimeoutMs: 0, revealTimeoutMs: 60_000 })
  const seconds = (performance.now() - started) / 1000
  const bytes = wchar() - bytesBefore
  const cpu = process.cpuUsage(cpuBefore)
  const cpuMs = (cpu.user + cpu.system) / 1000
  if (result.totalWh !== BigInt(expected) || result.missing.length !== dropouts) {
    throw new Error(`round ${t} not exact: got ${result.totalWh}, expected ${expected}`)
  }
  return { seconds, sharesSeconds, bytes, cpuMs }
}

async function alertLatencies(nodes: MeshNode[], count: number) {
  const latencies: number[] = []
  let unacked = 0
  // raise() signs, then publishes; the clock starts before it, and the alert id is learnt on first sight.
  let current: { start: number; id?: string } | undefined
  const offs = nodes.map((node) =>
    node.alerts.on('alert', (a) => {
      if (current === undefined || (current.id !== undefined && current.id !== a.id)) return
      current.id = a.id
      latencies.push(performance.now() - current.start)
    }),
  )
  for (let k = 0; k < count; k++) {
    const sender = nodes[(k * 7) % nodes.length] as MeshNode
    current = { start: performance.now() }
    const delivery = await sender.alerts.raise('fire', 30)
    unacked += delivery.unacked.length
    current = undefined
    await sleep(100)
  }
  for (const off of offs) off()
  return { latencies, unacked }
}

function forecastFigures() {
  const series = areaTotals(simulateHomes({ homes: 20, days: 30, seed: 1 }))
  const daily = backtest(series, { trainLength: 23 * 96 })
  const weekly = backtest(series, { trainLength: 23 * 96, weeklyPeriod: 7 * 96 })
  console.log(
    '  forecast backtest (20 homes, 30 days × 96, train 23 days, 6 h ahead from every hour of the last 7):',
  )
  console.log(
    `    daily Holt-Winters   MAE ${daily.holtWinters.mae.toFixed(0)} Wh  MAPE ${daily.holtWinters.mape.toFixed(1)} %`,
  )
  console.log(
    `    double-seasonal HW   MAE ${weekly.holtWinters.mae.toFixed(0)} Wh  MAPE ${weekly.holtWinters.mape.toFixed(1)} %  90% band covers ${(100 * weekly.bandCoverage).toFixed(1)} %`,
  )
  console.log(
    `    seasonal naive (day) MAE ${daily.seasonalNaive.mae.toFixed(0)} Wh  MAPE ${daily.seasonalNaive.mape.toFixed(1)} %`,
  )
  console.log(
    `    seasonal naive (week) MAE ${weekly.weeklyNaive?.mae.toFixed(0)} Wh  MAPE ${weekly.weeklyNaive?.mape.toFixed(1)} %`,
  )
  return {
    forecast_mape: Number(weekly.holtWinters.mape.toFixed(2)),
    forecast_daily_mape: Number(daily.holtWinters.mape.toFixed(2)),
    naive_mape: Number(daily.seasonalNaive.mape.toFixed(2)),
    weekly_naive_mape: Number((weekly.weeklyNaive?.mape ?? Number.NaN).toFixed(2)),
    forecast_mae_ratio: Number(weekly.maeRatio.toFixed(3)),
    forecast_band_coverage: Number(weekly.bandCoverage.toFixed(3)),
  }
}

const figures: Record<string, number> = {}
async function measure(n: number, gossipD: number, suffix: string) {
  console.log(`mesh of ${n} homes${gossipD > 0 ? `, gossipsub D = ${gossipD}` : ''}`)
  const { nodes, rssPerNodeMb } = await startMesh(n, gossipD)
  const dropouts = Math.round(n / 10)
  const base = Math.floor(Date.now() / 1000 / 900) * 900
  // Warm-up with a generous timeout: each member derives its pair keys once per member set (X25519 + HKDF).
  const warm = await round(nodes, base, 0)
  console.log(`  warm-up round (pair keys derived): ${warm.seconds.toFixed(3)} s`)
  const runs = []
  for (let k = 1; k <= 3; k++) runs.push(await round(nodes, base - k * 900, dropouts))
  const seconds = median(runs.map((r) => r.seconds))
  console.log(
    `  round with ${dropouts} dropouts: ${runs.map((r) => r.seconds.toFixed(3)).join(', ')} s (exact)`,
  )
  figures[`round_${n}${suffix}_s`] = Number(seconds.toFixed(3))
  // All N homes' work runs on this one event loop; per home it is this share of the process CPU.
  const cpuPerNode = median(runs.map((r) => r.cpuMs)) / n
  figures[`round_${n}${suffix}_cpu_per_node_ms`] = Number(cpuPerNode.toFixed(1))
  console.log(
    `  process CPU per round ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms = ${cpuPerNode.toFixed(1)} ms per home`,
  )
  figures[`round_${n}${suffix}_shares_s`] = Number(median(runs.map((r) => r.sharesSeconds)).toFixed(3))
  if (n === 50) {
    figures[`bytes_per_node_50${suffix}`] = Math.round(median(runs.map((r) => r.bytes)) / n)
    if (suffix === '') figures.rss_per_node_mb = Number(rssPerNodeMb.toFixed(1))
  }
  if (n === 10 || n === 50) {
    await sleep(3000) // let the rounds' gossip drain before timing alerts
    const { latencies, unacked } = await alertLatencies(nodes, 20)
    const key = n === 50 ? `alert_p95${suffix}_ms` : `alert_p95_${n}${suffix}_ms`
    figures[key] = Number(p95(latencies).toFixed(1))
    console.log(
      `  alerts: ${latencies.length} of ${20 * (n - 1)} deliveries, p50 ${median(latencies).toFixed(1)} ms, p95 ${figures[key]} ms, ${unacked} acks missing at expiry`,
    )
  }
  console.log(`  rss per node ${rssPerNodeMb.toFixed(1)} MB`)
  await Promise.all(nodes.map((node) => node.stop()))
}

for (const n of SIZES) await measure(n, 0, '')
if (LOW_D > 0) await measure(50, LOW_D, `_d${LOW_D}`)
Object.assign(figures, forecastFigures())
console.log(
  JSON.stringify({
    bench: 'mesh',
    machine: `${availableParallelism()} cores, node ${process.version}`,
    figures,
  }),
)
process.exit(0)
