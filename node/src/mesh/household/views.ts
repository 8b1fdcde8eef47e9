/** What GET /api/mesh and GET /api/utility/aggregates answer. */
import type { MeshNode } from '../node.ts'
import type { AggregateSeries } from './aggregate-series.ts'
import type { createForecaster } from './forecast.ts'
import type { AggregationObserver } from './observer.ts'
import { type HouseholdMeshOptions, type MeshCounters, MIN_MEMBERS } from './types.ts'

type ViewOptions = Pick<HouseholdMeshOptions, 'area' | 'observer' | 'slots'>

export function meshStatus(
  mesh: MeshNode,
  options: ViewOptions,
  counters: MeshCounters,
  observer: AggregationObserver,
) {
  const connected = new Set(
    mesh.libp2p
      .getConnections()
      .map((c) => c.remotePeer.toString())
      .filter((peer) => mesh.members.meterOfPeer(peer) !== undefined),
  )
  return {
    enabled: true,
    running: mesh.running,
    peerId: mesh.peerId,
    area: options.area,
    listen: mesh.multiaddrs(),
    /** Members of the area this node knows (itself included once it signs for its meter). */
    members: mesh.members.list().length,
    connectedAreaPeers: connected.size,
    signing: mesh.meter !== undefined,
    observer: options.observer,
    ...counters,
    lastAggregationError: observer.lastError(),
  }
}

export function areaAggregates(
  mesh: MeshNode,
  options: ViewOptions,
  series: AggregateSeries,
  forecast: ReturnType<typeof createForecaster>,
) {
  if (!options.observer) {
    return {
      available: false as const,
      reason:
        'this node does not run the utility observer (it runs where the node is the utility: the dev chain, or --mesh-observer true)',
    }
  }
  const members = () => mesh.members.list().length
  if (series.points.size === 0 && members() < MIN_MEMBERS) {
    return {
      available: false as const,
      reason: `area ${options.area} has ${members()} home(s) on the mesh so far; private aggregation needs at least ${MIN_MEMBERS}, and no total over fewer homes is computed`,
    }
  }
  return {
    available: true as const,
    area: options.area,
    members: members(),
    series: series.sorted().slice(-4 * options.slots),
    ...forecast(),
  }
}
