/** Shared setup for the mesh tests: N real libp2p nodes on 127.0.0.1 in this process, one area. */
import { randomBytes } from 'node:crypto'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { meshTopic } from '#protocol/topics.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import { createLogger, type LogEntry, type Logger } from '../../src/log/logger.ts'
import { createMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/mesh/node.ts'
import { type RegistryEntry, snapshotRegistry } from '../../src/mesh/registry.ts'
import { type Address, type MeterSigner, signerFromPrivateKey } from '../../src/mesh/signing.ts'

export const AREA = 7
export const DOMAIN: Eip712Domain = {
  chainId: 31337n,
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
}

export function newSigner(): MeterSigner {
  return signerFromPrivateKey(new Uint8Array(randomBytes(32)))
}

/** A logger that keeps its entries, for tests that check what a node reported. */
export function collectingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  return Object.assign(createLogger({ sink: (entry) => entries.push(entry) }), { entries })
}

export interface Cluster {
  nodes: MeshNode[]
  meters: MeterSigner[]
  utility: MeterSigner
  logs: ReturnType<typeof collectingLogger>[]
  registryEntries: RegistryEntry[]
  stop(): Promise<void>
}

export function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  return waitUntil(condition, timeoutMs, what)
}

/**
 * Starts `count` member nodes, connects every pair (or only the pairs `opts.linked` names: a sparse
 * connection graph, over which announcements must travel by gossip), and waits until every node knows
 * every member and sees its connected peers on the gossip topic.
 */
export async function startCluster(
  count: number,
  extra: Partial<MeshNodeOptions> | ((i: number) => Partial<MeshNodeOptions>) = {},
  opts: { unregistered?: number; linked?: (i: number, j: number) => boolean } = {},
): Promise<Cluster> {
  const linked = opts.linked ?? (() => true)
  const extraOf = (i: number) => (typeof extra === 'function' ? extra(i) : extra)
  const utility = newSigner()
  const meters = Array.from({ length: count }, newSigner)
  const registryEntries: RegistryEntry[] = meters
    .slice(0, count - (opts.unregistered ?? 0))
    .map((m) => ({ meter: m.address, area: AREA, active: true }))
  const registry = snapshotRegistry(registryEntries)
  const logs = meters.map(() => collectingLogger())
  const nodes = await Promise.all(
    meters.map((meter, i) =>
      createMeshNode({
        area: AREA,
        domain: DOMAIN,
        utility: utility.address as Address,
        registry,
        meter,
        log: logs[i],
        announceIntervalMs: 1000,
        // Every node is on 127.0.0.1: libp2p's per-host inbound rate limit (5/s) would refuse dials.
        connectionManager: { inboundConnectionThreshold: 1000 },
        ...extraOf(i),
        // Exact shares unless a test asks for the privacy noise: these tests check the masking's sums.
        aggregation: { privacy: false, ...extraOf(i).aggregation },
      }),
    ),
  )
  await Promise.all(nodes.map((n) => n.start()))
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      if (linked(i, j)) await (nodes[i] as MeshNode).dial((nodes[j] as MeshNode).multiaddrs()[0] as string)
    }
  }
  const registered = count - (opts.unregistered ?? 0)
  // An unregistered node keeps itself in its own view (nobody else accepts it): registered + 1.
  const expected = (i: number) => (i < registered ? registered : registered + 1)
  try {
    await until(
      () => nodes.every((n, i) => n.members.list().length === expected(i)),
      15_000,
      'membership to converge',
    )
    // Members learn each other in the admission handshake, before gossipsub has exchanged subscriptions
    // on the admitted connection: wait for those too, or a message published now could miss a member.
    const topic = meshTopic(AREA, 'aggregate')
    await until(
      () =>
        nodes.slice(0, registered).every((n, i) => {
          const subscribers = new Set(n.libp2p.services.pubsub.getSubscribers(topic).map(String))
          return nodes
            .slice(0, registered)
            .every((m, j) => m === n || !linked(Math.min(i, j), Math.max(i, j)) || subscribers.has(m.peerId))
        }),
      15_000,
      'gossip subscriptions to converge',
    )
  } catch (error) {
    const views = nodes.map((n) => n.members.list().length).join(', ')
    await Promise.all(nodes.map((n) => n.stop()))
    throw new Error(`membership did not converge: member counts per node ${views}`, { cause: error })
  }
  return {
    nodes,
    meters,
    utility,
    logs,
    registryEntries,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}
