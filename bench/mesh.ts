/**
 * npm run bench:mesh — the neighbourhood mesh on loopback, every home a real libp2p 3 host (TCP, noise,
 * yamux, gossipsub), run two ways:
 * - **one process** (figures without suffix): every home on one event loop, so N homes' CPU is
 *   serialised and a home waits for all the others' work — pessimistic for latency;
 * - **child processes** (suffix `_mp`, BENCH_MESH_PROCS processes, default 10, homes dealt round-robin):
 *   each process has its own event loop and heap, as homes on their own machines would, but they still
 *   share this machine's cores with each other (and with whatever else runs): N homes' total CPU on 2
 *   cores, where reality has N machines. Neither is one home per machine; both are reported.
 * Figures:
 * - round_{10,50,100}_s: one private-aggregation round (median of 3 after a warm-up round), 10 % of the
 *   members silent (alive and subscribed, not contributing), so every round includes a dropout
 *   recovery; the aggregator (home 0) closes the share phase the moment the last present share reached
 *   it, so the figure is dissemination + recovery, without a deadline's slack. The total is checked
 *   exact to the Wh or the bench fails. round_N_shares_s: when the last share arrived;
 *   round_N_cpu_per_node_ms: CPU of all homes' processes during the round ÷ N (what one home spends);
 * - bytes_per_node_50: bytes written by the homes' processes during a 50-home round (/proc/self/io
 *   wchar: noise/yamux/gossip framing, control messages and duplicates; in `_mp` runs also the few
 *   hundred bytes of the bench's own IPC) ÷ 50;
 * - alert_p95_ms (50 homes) and alert_p95_10_ms: raise → surfaced at each neighbour, 20 alerts
 *   (across processes: the machine's one clock, performance.timeOrigin + now());
 * - rss_per_node_mb: process RSS growth per started home (one process, after the stack import);
 * - round_50_d3_s, …_d3: the one-process 50-home run with gossipsub mesh degree D = 3
 *   (BENCH_MESH_LOW_D; 0 skips it) instead of libp2p's 6;
 * - load1_*: the 1-minute load average when that size's rounds ended (the machine is shared);
 *   encryption_failed_errors: libp2p EncryptionFailedErrors that escaped as uncaught (counted, not fatal);
 * - topology: BENCH_MESH_TOPOLOGY=graph (default: each home connected to its masking-graph neighbours
 *   and to home 0, the collector; every round message then goes on direct streams), `full` (every home
 *   connected to every other, as mDNS on one network gives) or `street` (four static peers per home;
 *   shares are gossiped); home 0 aggregates and is a `collector`; `topology_degree_N`: mean connections per home;
 * - sizes: BENCH_MESH_SIZES (default 10,50,100); child-process runs for the sizes ≥ 50;
 *   BENCH_MESH_SETUP_MS=<ms> lengthens libp2p's dial/upgrade timeouts and the admission grace (a
 *   machine so loaded that the one-process mesh cannot form within the defaults);
 *   BENCH_MESH_SETTLE_MS (default 200): homes are started one at a time, each once the process's event
 *   loop is less than this far behind (a 0 ms timer's delay), at most 60 s per home;
 *   BENCH_MESH_LOG=1 prints every home's warnings (JSON lines on stderr, with `home`: its index);
 *   BENCH_MESH_PROFILE=<dir> writes CPU profiles of each one-process size's idle period and measured
 *   rounds there;
 * - the 1000-home figures of issue 16 (bench/mesh-inmem.ts: cpu_per_home_1000_ms, bytes_per_home_1000,
 *   aggregator_cpu_1000_ms, round_1000_inmem_s): the real protocol code and crypto over an in-memory
 *   point-to-point network in this process; BENCH_MESH_INMEM sets the size (default 1000, 0 skips it),
 *   `--inmem-only` runs just these;
 * - the load forecast's backtest on simulated area data against the seasonal-naive baselines, and its
 *   MAPE at 50 homes with and without the privacy noise (`--forecast-only` runs just these).
 * Last line: the JSON summary of ../shared/BENCH.md.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { meshTopic } from '#protocol/topics.ts'
import { backtest } from '../node/src/forecast/backtest.ts'
import { areaTotals, mulberry32, simulateHomes } from '../node/src/forecast/simulate.ts'
import { createLogger } from '../node/src/log/logger.ts'
import { buildMaskingGraph } from '../node/src/mesh/aggregation/graph.ts'
import { epsilonOf, rhoFor } from '../node/src/mesh/aggregation/privacy/accountant.ts'
import {
  calibration,
  createNoisyRelease,
  DEFAULT_CLAMP_WH,
  DEFAULT_DELTA,
  DEFAULT_SIGMA_WH,
} from '../node/src/mesh/aggregation/privacy/release.ts'
import { membersDigest, x25519PublicKeyOf } from '../node/src/mesh/masking.ts'
import { createMeshNode, type MeshNode } from '../node/src/mesh/node.ts'
import { type RegistryEntry, snapshotRegistry } from '../node/src/mesh/registry.ts'
import { type Address, bytesToHexLower, signerFromPrivateKey } from '../node/src/mesh/signing.ts'
import { inMemoryFigures } from './mesh-inmem.ts'

const AREA = 1
const DOMAIN = { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' as const }
const SIZES = (process.env.BENCH_MESH_SIZES ?? '10,50,100').split(',').map(Number)
const PROCS = Number(process.env.BENCH_MESH_PROCS ?? 10)
/** A second 50-home run with this gossipsub mesh degree (libp2p's default is 6); 0 skips it. */
const LOW_D = Number(process.env.BENCH_MESH_LOW_D ?? 3)
/** Connection and admission set-up budget, ms (0: the defaults, 10 s and 5 s): see createHost. */
const SETUP_MS = Number(process.env.BENCH_MESH_SETUP_MS ?? 0)
/** A new home is started once a 0 ms timer of its process fires within this (BENCH_MESH_SETTLE_MS). */
const SETTLE_LAG_MS = Number(process.env.BENCH_MESH_SETTLE_MS ?? 200)
/** Homes of the in-memory run (the protocol's own cost at 1000 homes); 0 skips it. */
const INMEM = Number(process.env.BENCH_MESH_INMEM ?? 1000)
/**
 * `graph` (default): each home connected to its masking-graph neighbours and the collector; `full`:
 * every home to every other; `street`: four static peers each (see startMesh).
 */
const TOPOLOGIES = ['graph', 'full', 'street'] as const
const TOPOLOGY = (process.env.BENCH_MESH_TOPOLOGY ?? 'graph') as (typeof TOPOLOGIES)[number]
if (!TOPOLOGIES.includes(TOPOLOGY))
  throw new Error(`BENCH_MESH_TOPOLOGY must be graph, full or street, got ${process.env.BENCH_MESH_TOPOLOGY}`)

const wall = () => performance.timeOrigin + performance.now()
const wchar = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN)
const rssMb = () => process.memoryUsage().rss / 2 ** 20
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1] as number
const withPeerId = (addr: string, peerId: string) => (addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * libp2p 3.3 once threw an uncaught EncryptionFailedError under heavy load: libp2p's upgrader wraps a
 * noise handshake aborted by a dial or upgrade timeout in it (upgrader.js `_encryptOutbound` /
 * `_encryptInbound`), and one rejection escaped every handler. It concerns one connection attempt, not
 * the process: count it, report it, carry on. Anything else is still fatal.
 */
let encryptionFailures = 0
function guard(error: unknown) {
  if (error instanceof Error && error.name === 'EncryptionFailedError') {
    encryptionFailures++
    console.error(`  (libp2p EncryptionFailedError escaped: ${error.message}; counted, not fatal)`)
    return
  }
  console.error(error)
  process.exit(1)
}
process.on('uncaughtException', guard)
process.on('unhandledRejection', guard)

// ---------------------------------------------------------------------------------------------------
// A host of homes: the same commands run in this process or in a child (IPC). Homes are global indices.

type Command =
  | {
      cmd: 'create'
      homes: { index: number; key: string; x25519: string; peers: string[] }[]
      registry: RegistryEntry[]
      utility: string
      gossipD: number
    }
  | { cmd: 'announce'; meters?: string[] }
  | { cmd: 'counts' }
  | { cmd: 'views' }
  | { cmd: 'lag' }
  | { cmd: 'watch'; aggregator: number; presentPeers: string[] }
  | { cmd: 'contribute'; t: number; values: [number, number][] }
  | { cmd: 'collect'; aggregator: number; t: number }
  | { cmd: 'usage' }
  | { cmd: 'listenAlerts' }
  | { cmd: 'raise'; index: number }
  | { cmd: 'arrivals'; id: string }
  | { cmd: 'stop' }

function createHost() {
  const nodes = new Map<number, MeshNode>()
  let watch:
    | { arrived: Set<string>; lastShareAt: number; off: () => void; presentPeers: Set<string> }
    | undefined
  const alertArrivals = new Map<string, number[]>()
  const offs: (() => void)[] = []
  const node = (i: number) => nodes.get(i) as MeshNode

  return async function handle(c: Command): Promise<unknown> {
    switch (c.cmd) {
      case 'create': {
        const registry = snapshotRegistry(c.registry)
        const out = []
        for (const home of c.homes) {
          const n = await createMeshNode({
            area: AREA,
            domain: DOMAIN,
            utility: c.utility as Address,
            registry,
            meter: signerFromPrivateKey(Buffer.from(home.key, 'hex')),
            // Chosen by the bench, so that it knows the masking graph before the homes start (topology `graph`).
            x25519PrivateKey: new Uint8Array(Buffer.from(home.x25519, 'hex')),
            // BENCH_MESH_LOG=1: every home's warnings on stderr, tagged with its index (what it refused, and why).
            ...(process.env.BENCH_MESH_LOG
              ? { log: createLogger({ level: 'warn' }, { home: home.index }) }
              : {}),
            listen: ['/ip4/127.0.0.1/tcp/0'],
            // Its street neighbours, as a deployment configures them: dialled at start and redialled
            // every 5 s while disconnected (a loaded host can have connections aborted by ping timeouts).
            peers: home.peers,
            // All homes share 127.0.0.1: lift libp2p's per-host inbound rate limit (5 connections/s).
            connectionManager: {
              inboundConnectionThreshold: 10_000,
              maxIncomingPendingConnections: 1000,
              // BENCH_MESH_SETUP_MS: longer connection and admission set-up for a machine so loaded
              // that this process gets a fraction of a core (noise handshakes then time out at the
              // default 10 s and the mesh never forms). Start-up only: a round opens no connection.
              ...(SETUP_MS > 0
                ? { dialTimeout: SETUP_MS, addressDialTimeout: SETUP_MS, inboundUpgradeTimeout: SETUP_MS }
                : {}),
            },
            ...(SETUP_MS > 0 ? { admission: { graceMs: SETUP_MS } } : {}),
            // Exact shares: the bench checks every total to the Wh (the noise costs nothing measurable).
            aggregation: { privacy: false },
            // Home 0 aggregates: members send it their shares directly even where it is not their
            // masking-graph neighbour (areas above 49 homes).
            collector: home.index === 0,
            // Announced explicitly once the topology is built; periodic re-announcement is for churn.
            announceIntervalMs: 120_000,
            // A bench of this size bursts well above a home's normal rate.
            rateLimit: { burst: 2000, perSecond: 2000 },
            ...(c.gossipD > 0
              ? {
                  gossip: {
                    D: c.gossipD,
                    Dlo: Math.max(2, c.gossipD - 1),
                    Dhi: 2 * c.gossipD,
                    Dlazy: c.gossipD,
                  },
                }
              : {}),
          })
          await n.start()
          nodes.set(home.index, n)
          out.push({ index: home.index, peerId: n.peerId, addr: n.multiaddrs()[0] as string })
        }
        return out
      }
      case 'announce':
        // Only the homes named (those some view lacks), or all of them.
        for (const n of nodes.values())
          if (c.meters === undefined || c.meters.includes(String(n.meter).toLowerCase())) await n.announce()
        return null
      case 'counts':
        return [...nodes.entries()].map(([i, n]) => [i, n.members.list().length])
      case 'views':
        // Every home's view: the meters it knows (lower case).
        return [...nodes.values()].map((n) => n.members.list().map((m) => m.meter.toLowerCase()))
      case 'lag': {
        // How late a 0 ms timer fires: how far behind this process's event loop is.
        const at = performance.now()
        await sleep(0)
        return performance.now() - at
      }
      case 'watch': {
        // Observe shares accepted at the aggregator (gossiped or direct) to know when the last present one arrived.
        const state = {
          arrived: new Set<string>(),
          lastShareAt: 0,
          presentPeers: new Set(c.presentPeers),
          off: () => {},
        }
        const aggregator = node(c.aggregator)
        state.off = aggregator.aggregation.on('share', ({ meter }) => {
          const peer = aggregator.members.get(meter)?.peerId
          if (peer === undefined || !state.presentPeers.has(peer)) return
          state.arrived.add(peer)
          state.lastShareAt = wall()
        })
        watch = state
        return null
      }
      case 'contribute':
        await Promise.all(c.values.map(([i, v]) => node(i).aggregation.contribute(c.t, v)))
        return null
      case 'collect': {
        const w = watch as NonNullable<typeof watch>
        const deadline = Date.now() + 120_000
        while (w.arrived.size < w.presentPeers.size) {
          if (Date.now() > deadline) {
            // Say which homes' shares are missing and how connected they are (in this process).
            const late = [...w.presentPeers].filter((p) => !w.arrived.has(p))
            const about = late.map((p) => {
              const n = [...nodes.values()].find((x) => x.peerId === p)
              return n === undefined
                ? p.slice(-6)
                : `${p.slice(-6)} (${n.libp2p.getConnections().length} connections, ${n.libp2p.services.pubsub.getSubscribers(meshTopic(AREA, 'aggregate')).length} topic peers)`
            })
            throw new Error(
              `round ${c.t}: ${late.length} present shares never reached the aggregator: ${about.join(', ')}`,
            )
          }
          await sleep(5)
        }
        w.off()
        const result = await node(c.aggregator).aggregation.collect(c.t, {
          shareTimeoutMs: 0,
          revealTimeoutMs: 60_000,
        })
        return {
          totalWh: result.totalWh.toString(),
          missing: result.missing.length,
          lastShareAt: w.lastShareAt,
        }
      }
      case 'usage': {
        const cpu = process.cpuUsage()
        // How the homes' own shares travelled, and the gossip streams the watch re-opened: a round
        // that falls back to gossip says here why (no connection to a neighbour, or a failed write).
        const paths = { direct: 0, unconnected: 0, writeFailed: 0, gossipAccepted: 0, reopened: 0 }
        for (const n of nodes.values()) {
          paths.direct += n.directShareStats.sent
          paths.unconnected += n.directShareStats.gossipedUnconnected
          paths.writeFailed += n.directShareStats.gossipedWriteFailed
          paths.gossipAccepted += n.stats.accepted
          paths.reopened += n.gossipStreamStats.reopened
        }
        return { cpuMs: (cpu.user + cpu.system) / 1000, wchar: wchar(), rssMb: rssMb(), paths }
      }
      case 'listenAlerts':
        for (const n of nodes.values()) {
          offs.push(
            n.alerts.on('alert', (a) => {
              const list = alertArrivals.get(a.id) ?? []
              list.push(wall())
              alertArrivals.set(a.id, list)
            }),
          )
        }
        return null
      case 'raise': {
        // The clock starts before raise() signs and publishes.
        const start = wall()
        const known = new Set(alertArrivals.keys())
        // Wait for every ack at most 10 s (the delivery goes on in the background): an alert a home
        // never acks would otherwise hold the bench for its whole 30 s ttl.
        const delivery = await Promise.race([
          node(c.index).alerts.raise('fire', 30),
          sleep(10_000).then(() => undefined),
        ])
        if (delivery !== undefined) return { id: delivery.id, start, unacked: delivery.unacked.length }
        // Still delivering: its id is the one the other homes of this process saw since the start.
        const id = [...alertArrivals.keys()].find((k) => !known.has(k)) ?? ''
        return { id, start, unacked: -1 }
      }
      case 'arrivals':
        return alertArrivals.get(c.id) ?? []
      case 'stop':
        for (const off of offs) off()
        await Promise.all([...nodes.values()].map((n) => n.stop()))
        nodes.clear()
        return encryptionFailures
    }
  }
}

// A child process hosting some homes: answers the parent's commands in order of arrival.
if (process.argv.includes('--homes-child')) {
  const handle = createHost()
  process.on('message', (m: { id: number; command: Command }) => {
    handle(m.command).then(
      (value) => process.send?.({ id: m.id, value }),
      (error: unknown) => process.send?.({ id: m.id, error: String(error) }),
    )
  })
}

interface Host {
  call(c: Command): Promise<unknown>
  close(): void
}

function localHost(): Host {
  const handle = createHost()
  return { call: handle, close: () => {} }
}

function childHost(): Host {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--homes-child'], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let next = 0
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  child.on('message', (m: { id: number; value?: unknown; error?: string }) => {
    const p = pending.get(m.id)
    pending.delete(m.id)
    if (m.error !== undefined) p?.reject(new Error(m.error))
    else p?.resolve(m.value)
  })
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`a homes child exited with ${code}`))
  })
  return {
    call(c) {
      const id = next++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, command: c })
      })
    },
    close: () => child.kill(),
  }
}

// ---------------------------------------------------------------------------------------------------

interface Mesh {
  n: number
  hosts: Host[]
  /** Host of each home. */
  hostOf: (i: number) => Host
  peerIds: string[]
  rssPerNodeMb: number
  /** Mean static connections per home (the topology's degree). */
  degree: number
}

async function startMesh(n: number, gossipD: number, procs: number): Promise<Mesh> {
  const utility = signerFromPrivateKey(new Uint8Array(randomBytes(32)))
  const keys = Array.from({ length: n }, () => randomBytes(32))
  const x25519Keys = Array.from({ length: n }, () => randomBytes(32))
  const registry = keys.map((k) => ({
    meter: signerFromPrivateKey(new Uint8Array(k)).address,
    area: AREA,
    active: true,
  }))
  const hosts = procs > 1 ? Array.from({ length: procs }, childHost) : [localHost()]
  const hostOf = (i: number) => hosts[i % hosts.length] as Host
  global.gc?.()
  const rssBefore = rssMb()
  const peerIds: string[] = []
  const addrs: string[] = []
  // The masking graph of the area's member view (docs/aggregation.md §2a), known in advance because
  // the bench chose every key: topology `graph` connects each home to its graph neighbours only.
  const view = registry
    .map((r, i) => ({
      meter: r.meter.toLowerCase() as Address,
      x25519PublicKey: bytesToHexLower(x25519PublicKeyOf(new Uint8Array(x25519Keys[i] as Buffer))),
      index: i,
    }))
    .sort((a, b) => (a.meter < b.meter ? -1 : 1))
  const graph = buildMaskingGraph(view, membersDigest(AREA, view))
  const indexOf = new Map(view.map((m) => [m.meter, m.index]))
  const meterOf = (i: number) => registry[i]?.meter.toLowerCase() as Address
  // Topologies (BENCH_MESH_TOPOLOGY), each home dialling earlier homes as static peers (homes start in
  // order, so those addresses are known; libp2p keeps one connection per pair):
  // - `graph` (default): its masking-graph neighbours plus home 0, the collector: a sparse connection
  //   graph of degree ~48 at any area size (k = 24, O(log n) as in Bell et al.), everything a round
  //   needs on direct streams (shares to neighbours and collector, recover, reveals), alerts gossiped
  //   over it;
  // - `full`: every earlier home, the connections mDNS gives homes on one network;
  // - `street`: its two predecessors and two random earlier homes (shares are then gossiped).
  const random = mulberry32(n)
  let links = 0
  for (let i = 0; i < n; i++) {
    const targets = new Set(
      TOPOLOGY === 'street'
        ? [i - 1, i - 2, Math.floor(random() * i), Math.floor(random() * i)].filter((j) => j >= 0 && j < i)
        : TOPOLOGY === 'graph'
          ? [0, ...graph.neighbours(meterOf(i)).map((m) => indexOf.get(m) as number)].filter((j) => j < i)
          : Array.from({ length: i }, (_, j) => j),
    )
    links += targets.size
    const [created] = (await hostOf(i).call({
      cmd: 'create',
      homes: [
        {
          index: i,
          key: (keys[i] as Buffer).toString('hex'),
          x25519: (x25519Keys[i] as Buffer).toString('hex'),
          peers: [...targets].map((j) => withPeerId(addrs[j] as string, peerIds[j] as string)),
        },
      ],
      registry,
      utility: utility.address,
      gossipD,
    })) as { index: number; peerId: string; addr: string }[]
    peerIds[i] = (created as { peerId: string }).peerId
    addrs[i] = (created as { addr: string }).addr
    // Homes come up one after another, each once the process has caught up with the last one's
    // handshakes (admission, gossip subscriptions, its first announcement): started faster than the
    // process can serve them, on a shared machine, the backlog ran past libp2p's noise and dial
    // timeouts, and the failed dials and re-announcements made it longer (docs/benchmarks.md, r6).
    const settleBy = Date.now() + 60_000
    while (Date.now() < settleBy && ((await hostOf(i).call({ cmd: 'lag' })) as number) > SETTLE_LAG_MS)
      await sleep(100)
  }
  await sleep(1500) // let gossipsub graft its meshes (heartbeat 1 s)
  const t0 = Date.now()
  await Promise.all(hosts.map((h) => h.call({ cmd: 'announce' })))
  // Poll the views; every 5 s until complete, re-announce the homes some view lacks (a message lost
  // while meshes form costs one period). Only those: all 100 homes re-announcing every 5 s was ~14,000
  // gossip receptions a second in one process, which starved the handshakes of the homes still missing.
  const deadline = Date.now() + 300_000
  let nextAnnounce = Date.now() + 5000
  for (;;) {
    const counts = ((await Promise.all(hosts.map((h) => h.call({ cmd: 'counts' })))) as [number, number][][])
      .flat()
      .map(([, c]) => c)
    if (counts.every((c) => c === n)) break
    if (Date.now() > deadline) throw new Error(`${n}-home membership did not converge in 300 s`)
    await sleep(100)
    if (Date.now() < nextAnnounce) continue
    nextAnnounce = Date.now() + 5000
    const views = ((await Promise.all(hosts.map((h) => h.call({ cmd: 'views' })))) as string[][][]).flat()
    const missing = registry
      .map((r) => r.meter.toLowerCase())
      .filter((m) => views.some((v) => !v.includes(m)))
    console.log(
      `  membership views: min ${Math.min(...counts)}, max ${Math.max(...counts)} of ${n}; re-announcing ${missing.length} homes`,
    )
    await Promise.all(hosts.map((h) => h.call({ cmd: 'announce', meters: missing })))
  }
  console.log(`  ${n} homes up in ${hosts.length} process(es); membership converged in ${Date.now() - t0} ms`)
  figures[`membership_${n}_s`] = Number(((Date.now() - t0) / 1000).toFixed(1))
  await sleep(1500) // let gossipsub graft its meshes (heartbeat 1 s)
  global.gc?.()
  return { n, hosts, hostOf, peerIds, rssPerNodeMb: (rssMb() - rssBefore) / n, degree: (2 * links) / n }
}

/**
 * BENCH_MESH_PROFILE=<dir>: a CPU profile of the measured rounds only (not the start-up and
 * membership), one process, written as <dir>/mesh-<n>.cpuprofile (open in Chrome DevTools).
 */
async function startProfile(): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env.BENCH_MESH_PROFILE
  if (dir === undefined || dir === '') return undefined
  const session = new Session()
  session.connect()
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    )
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 200 })
  await post('Profiler.start')
  return async (name) => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown }
    session.disconnect()
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    console.log(`  CPU profile: ${join(dir, `${name}.cpuprofile`)}`)
  }
}

/** How the homes' shares travelled (direct, or gossiped and why) and the gossip streams re-opened. */
interface Paths {
  direct: number
  unconnected: number
  writeFailed: number
  gossipAccepted: number
  reopened: number
}

async function usage(mesh: Mesh) {
  const all = (await Promise.all(mesh.hosts.map((h) => h.call({ cmd: 'usage' })))) as {
    cpuMs: number
    wchar: number
    paths: Paths
  }[]
  const paths = { direct: 0, unconnected: 0, writeFailed: 0, gossipAccepted: 0, reopened: 0 }
  for (const u of all) for (const k of Object.keys(paths) as (keyof Paths)[]) paths[k] += u.paths[k]
  return {
    cpuMs: all.reduce((s, u) => s + u.cpuMs, 0),
    wchar: all.reduce((s, u) => s + u.wchar, 0),
    paths,
  }
}

/**
 * One round. The aggregator (home 0) closes the share phase the moment the last present member's share
 * reached it (observed on its gossipsub topic), i.e. a deadline that fell just right: the figure is
 * share dissemination + dropout recovery + reveals, the protocol's own latency. A deployment closes the
 * share phase at a deadline (`shareTimeoutMs` / `shareIdleMs`), which adds that wait on top.
 */
async function round(mesh: Mesh, t: number, dropouts: number) {
  const silent = new Set<number>()
  const random = mulberry32(t)
  while (silent.size < dropouts) silent.add(1 + Math.floor(random() * (mesh.n - 1))) // home 0 aggregates
  const values = Array.from({ length: mesh.n }, () => Math.floor(random() * 2000))
  const expected = values.reduce((s, v, i) => (silent.has(i) ? s : s + v), 0)
  const presentPeers = mesh.peerIds.filter((_, i) => i !== 0 && !silent.has(i))
  const aggregatorHost = mesh.hostOf(0)
  await aggregatorHost.call({ cmd: 'watch', aggregator: 0, presentPeers })
  const byHost = new Map<Host, [number, number][]>()
  values.forEach((v, i) => {
    if (silent.has(i)) return
    const list = byHost.get(mesh.hostOf(i)) ?? []
    list.push([i, v])
    byHost.set(mesh.hostOf(i), list)
  })
  const before = await usage(mesh)
  const started = wall()
  const collected = aggregatorHost.call({ cmd: 'collect', aggregator: 0, t })
  await Promise.all([...byHost].map(([h, list]) => h.call({ cmd: 'contribute', t, values: list })))
  const result = (await collected) as { totalWh: string; missing: number; lastShareAt: number }
  const seconds = (wall() - started) / 1000
  const after = await usage(mesh)
  if (result.totalWh !== String(expected) || result.missing !== dropouts) {
    throw new Error(`round ${t} not exact: got ${result.totalWh}, expected ${expected}`)
  }
  const d = (k: keyof Paths) => after.paths[k] - before.paths[k]
  console.log(
    `    round ${t}: ${seconds.toFixed(3)} s; shares direct ${d('direct')}, gossiped for want of a connection ${d('unconnected')}, after a failed write ${d('writeFailed')}; gossip messages accepted ${d('gossipAccepted')}; gossip streams re-opened ${d('reopened')}`,
  )
  return {
    seconds,
    sharesSeconds: (result.lastShareAt - started) / 1000,
    bytes: after.wchar - before.wchar,
    cpuMs: after.cpuMs - before.cpuMs,
  }
}

async function alertLatencies(mesh: Mesh, count: number) {
  await Promise.all(mesh.hosts.map((h) => h.call({ cmd: 'listenAlerts' })))
  const latencies: number[] = []
  let unacked = 0
  let stillDelivering = 0
  for (let k = 0; k < count; k++) {
    const sender = (k * 7) % mesh.n
    const raised = (await mesh.hostOf(sender).call({ cmd: 'raise', index: sender })) as {
      id: string
      start: number
      unacked: number
    }
    if (raised.unacked < 0) stillDelivering++
    else unacked += raised.unacked
    const arrivals = (await Promise.all(
      mesh.hosts.map((h) => h.call({ cmd: 'arrivals', id: raised.id })),
    )) as number[][]
    for (const at of arrivals.flat()) latencies.push(at - raised.start)
    await sleep(100)
  }
  return { latencies, unacked, stillDelivering }
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
let childEncryptionFailures = 0
/**
 * The forecast with distributed differential privacy (docs/aggregation.md §7): 50 simulated homes,
 * every reading clamped to [0, C] plus discrete Gaussian noise drawn by the node's own sampler, the
 * area totals of the noisy shares fed to the double-seasonal forecast and scored against the true
 * totals. Three seeds; also the σ that worst-case calibrations would need, to show why they are not used.
 */
function noiseFigures(sigmas: number[] = [DEFAULT_SIGMA_WH, 100, 200]) {
  const out: Record<string, number> = {}
  const rows: string[] = []
  for (const sigma of sigmas) {
    const deltas: number[] = []
    const clean: number[] = []
    const noisy: number[] = []
    for (const seed of [1, 2, 3]) {
      const homes = simulateHomes({ homes: 50, days: 30, seed })
      const truth = areaTotals(homes)
      const fit = { trainLength: 23 * 96, weeklyPeriod: 7 * 96 }
      const base = backtest(truth, fit).holtWinters.mape
      const release = createNoisyRelease({ sigmaWh: sigma, dailyBudget: 1e12 })
      const shares = homes.map((h, i) =>
        h.map((wh, t) => Number(release.release(1 + i * 10_000_000 + t, BigInt(wh)))),
      )
      const observed = areaTotals(shares)
      const withNoise = backtest(observed, { ...fit, truth }).holtWinters.mape
      clean.push(base)
      noisy.push(withNoise)
      deltas.push(withNoise - base)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const cal = calibration({ sigmaWh: sigma })
    rows.push(
      `    σ ${String(sigma).padStart(3)} Wh: MAPE ${mean(clean).toFixed(2)} % → ${mean(noisy).toFixed(2)} % (+${mean(deltas).toFixed(2)}, worst seed +${Math.max(...deltas).toFixed(2)}); worst-case ρ/round ${cal.rhoPerRound.toFixed(0)}, ε/round ${epsilonOf(cal.rhoPerRound, DEFAULT_DELTA).toFixed(0)}, ε/day (96) ${epsilonOf(96 * cal.rhoPerRound, DEFAULT_DELTA).toFixed(0)}`,
    )
    out[`forecast_mape_50_noiseless_s${sigma}`] = Number(mean(clean).toFixed(2))
    out[`forecast_mape_50_noisy_s${sigma}`] = Number(mean(noisy).toFixed(2))
    out[`forecast_mape_50_delta_max_s${sigma}`] = Number(Math.max(...deltas).toFixed(2))
  }
  // σ that would make one whole reading (C = 1000 Wh) ε = 1 per day at δ = 1e-6, all other members fake.
  const sigmaForDailyEps1 = Math.ceil(DEFAULT_CLAMP_WH / Math.sqrt((2 * rhoFor(1, DEFAULT_DELTA)) / 96))
  rows.push(
    `    worst-case ε = 1 per day (96 rounds, C = ${DEFAULT_CLAMP_WH} Wh) would need σ ≈ ${sigmaForDailyEps1} Wh per home`,
  )
  console.log(
    '  forecast with privacy noise (50 homes, 3 seeds, double-seasonal HW, scored against true totals):',
  )
  for (const r of rows) console.log(r)
  out.sigma_for_daily_eps1 = sigmaForDailyEps1
  return out
}

async function measure(n: number, gossipD: number, procs: number, suffix: string) {
  console.log(
    `mesh of ${n} homes, ${procs > 1 ? `${procs} child processes` : 'one process'}${gossipD > 0 ? `, gossipsub D = ${gossipD}` : ''} (load ${loadavg()[0]?.toFixed(1)})`,
  )
  const mesh = await startMesh(n, gossipD, procs)
  figures[`topology_degree_${n}${suffix}`] = Number(mesh.degree.toFixed(1))
  console.log(`  topology ${TOPOLOGY}: ${mesh.degree.toFixed(1)} connections per home`)
  try {
    const dropouts = Math.round(n / 10)
    const base = Math.floor(Date.now() / 1000 / 900) * 900
    // What the homes spend doing nothing (gossipsub heartbeats, pings): a round's CPU includes this
    // for as long as the round lasts, which on a loaded machine is long.
    const idleProfile = procs === 1 ? await startProfile() : undefined
    const idleBefore = await usage(mesh)
    const idleStarted = wall()
    await sleep(3000)
    const idleAfter = await usage(mesh)
    await idleProfile?.(`mesh-${n}${suffix}-idle`)
    const idlePerNodePerS = (idleAfter.cpuMs - idleBefore.cpuMs) / n / ((wall() - idleStarted) / 1000)
    figures[`idle_${n}${suffix}_cpu_per_node_ms_per_s`] = Number(idlePerNodePerS.toFixed(2))
    console.log(`  idle: ${idlePerNodePerS.toFixed(2)} ms CPU per home per second`)
    // Warm-up: the first round against a member set derives the pair keys (HKDF of the cached X25519 secrets).
    const warm = await round(mesh, base, 0)
    console.log(`  warm-up round (pair keys derived): ${warm.seconds.toFixed(3)} s`)
    const runs = []
    const profile = procs === 1 ? await startProfile() : undefined
    for (let k = 1; k <= 3; k++) runs.push(await round(mesh, base - k * 900, dropouts))
    await profile?.(`mesh-${n}${suffix}`)
    const seconds = median(runs.map((r) => r.seconds))
    const load = loadavg()[0] as number
    console.log(
      `  round with ${dropouts} dropouts: ${runs.map((r) => r.seconds.toFixed(3)).join(', ')} s (exact), load ${load.toFixed(1)}`,
    )
    figures[`round_${n}${suffix}_s`] = Number(seconds.toFixed(3))
    figures[`load1_round_${n}${suffix}`] = Number(load.toFixed(2))
    // The homes share the machine's cores; per home it is this share of the processes' CPU.
    const cpuPerNode = median(runs.map((r) => r.cpuMs)) / n
    figures[`round_${n}${suffix}_cpu_per_node_ms`] = Number(cpuPerNode.toFixed(1))
    console.log(
      `  CPU per round ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms = ${cpuPerNode.toFixed(1)} ms per home`,
    )
    figures[`round_${n}${suffix}_shares_s`] = Number(median(runs.map((r) => r.sharesSeconds)).toFixed(3))
    if (n === 50) {
      figures[`bytes_per_node_50${suffix}`] = Math.round(median(runs.map((r) => r.bytes)) / n)
      if (suffix === '') figures.rss_per_node_mb = Number(mesh.rssPerNodeMb.toFixed(1))
    }
    if (n === 10 || n === 50) {
      await sleep(3000) // let the rounds' gossip drain before timing alerts
      const { latencies, unacked, stillDelivering } = await alertLatencies(mesh, 20)
      const key = n === 50 ? `alert_p95${suffix}_ms` : `alert_p95_${n}${suffix}_ms`
      figures[key] = Number(p95(latencies).toFixed(1))
      figures[`load1_${key.replace(/_ms$/, '')}`] = Number((loadavg()[0] as number).toFixed(2))
      console.log(
        `  alerts: ${latencies.length} of ${20 * (n - 1)} deliveries, p50 ${median(latencies).toFixed(1)} ms, p95 ${figures[key]} ms, ${unacked} acks missing at expiry, ${stillDelivering} alerts not fully acked after 10 s, load ${loadavg()[0]?.toFixed(1)}`,
      )
    }
    if (procs === 1) console.log(`  rss per home ${mesh.rssPerNodeMb.toFixed(1)} MB`)
  } catch (error) {
    // Said before the homes stop: rounds still in flight then fail with "not started", which would hide it.
    console.error(`mesh of ${n} homes failed:`, error)
    throw error
  } finally {
    const escaped = await Promise.all(mesh.hosts.map((h) => h.call({ cmd: 'stop' }).catch(() => 0)))
    // A child's count is its own; this process's count is read once at the end.
    if (procs > 1) childEncryptionFailures += escaped.reduce((s: number, x) => s + Number(x), 0)
    for (const h of mesh.hosts) h.close()
  }
}

async function inMemory() {
  if (INMEM <= 0) return
  console.log(`${INMEM} homes over the in-memory network, one process (load ${loadavg()[0]?.toFixed(1)})`)
  Object.assign(figures, await inMemoryFigures(INMEM))
}

if (process.argv.includes('--inmem-only')) {
  await inMemory()
  console.log(
    JSON.stringify({
      bench: 'mesh-inmem',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
  process.exit(0)
}

if (process.argv.includes('--forecast-only')) {
  Object.assign(figures, forecastFigures(), noiseFigures())
  console.log(
    JSON.stringify({
      bench: 'mesh-forecast',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
  process.exit(0)
}

if (!process.argv.includes('--homes-child')) {
  await inMemory()
  for (const n of SIZES) await measure(n, 0, 1, '')
  if (LOW_D > 0 && SIZES.includes(50)) await measure(50, LOW_D, 1, `_d${LOW_D}`)
  if (PROCS > 1) for (const n of SIZES.filter((s) => s >= 50)) await measure(n, 0, PROCS, '_mp')
  figures.encryption_failed_errors = encryptionFailures + childEncryptionFailures
  Object.assign(figures, forecastFigures(), noiseFigures())
  console.log(
    JSON.stringify({
      bench: 'mesh',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
  process.exit(0)
}
