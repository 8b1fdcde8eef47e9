/**
 * The utility's aggregation observer on a node that speaks for no meter: it has no interval records
 * of its own, so it learns the rounds from the members' shares and collects each one. Three mesh
 * members (plain mesh nodes on loopback) contribute; the observer is the household mesh
 * (startHouseholdMesh) with neither a meter key nor a household account, over a ledger stand-in that
 * answers the registry's `meter(address)` lookups.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshTopic } from '#protocol/topics.ts'
import { createLogger, type LogEntry } from '../../../src/log/logger.ts'
import { type HouseholdMesh, startHouseholdMesh } from '../../../src/mesh/household/index.ts'
import type { MeterInfo } from '../../../src/mesh/registry.ts'
import type { Address } from '../../../src/mesh/signing.ts'
import { AREA, type Cluster, DOMAIN, newSigner, startCluster, until } from '../fixture.ts'

describe('an aggregation observer without a meter', () => {
  let cluster: Cluster
  let observer: HouseholdMesh
  let dataDir: string
  const logs: LogEntry[] = []

  beforeAll(async () => {
    cluster = await startCluster(3)
    dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-observer-'))
    const registered = new Set(cluster.registryEntries.map((e) => e.meter.toLowerCase()))
    const ledger = {
      owner: async () => cluster.utility.address,
      meter: async (meter: string): Promise<MeterInfo> =>
        registered.has(meter.toLowerCase())
          ? { areaId: AREA, registered: true, active: true }
          : { areaId: 0, registered: false, active: false },
    }
    observer = await startHouseholdMesh({
      dataDir,
      config: {
        enabled: true,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        peers: cluster.nodes.map((n) => n.multiaddrs()[0] as string),
        mdns: false,
        observer: true,
        privacyBudget: 20_300,
      },
      area: AREA,
      domain: DOMAIN,
      ledger,
      // The utility console's own address: not a registered meter, and nothing signs for it here.
      meterAddress: newSigner().address as Address,
      meterSigner: undefined,
      // The utility console holds the utility key: its ticket admits it to the members-only mesh.
      utilitySigner: cluster.utility,
      registered: true,
      rootKey: new Uint8Array(32).fill(7),
      observer: true,
      simulatedMeter: false,
      intervalSeconds: 900,
      slots: 96,
      log: createLogger({ sink: (entry) => void logs.push(entry) }),
    })
    await until(() => observer.mesh.members.list().length === 3, 15_000, 'the observer to know the members')
    // Admitted in the handshake; the shares travel by gossip, so wait until every member has its subscription.
    await until(
      () =>
        cluster.nodes.every((n) =>
          n.libp2p.services.pubsub
            .getSubscribers(meshTopic(AREA, 'aggregate'))
            .map(String)
            .includes(observer.peerId),
        ),
      15_000,
      'the members to see the observer subscribed',
    )
  })
  afterAll(async () => {
    await observer?.stop()
    await cluster?.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('does not sign or contribute, and collects every round it learns from shares, exactly', async () => {
    expect(observer.mesh.meter).toBeUndefined()
    expect(observer.status()).toMatchObject({ signing: false, observer: true, members: 3 })
    const now = Math.floor(Date.now() / 1000)
    const rounds = [now - (now % 900) - 900, now - (now % 900)]
    const values = [
      [120, 340, 560],
      [7, 0, 4_000_000],
    ]
    for (const [k, round] of rounds.entries()) {
      await Promise.all(
        cluster.nodes.map((n, i) => n.aggregation.contribute(round, values[k]?.[i] as number)),
      )
    }
    const series = () => {
      const a = observer.aggregates()
      return a.available ? a.series : []
    }
    await until(() => series().length === 2, 15_000, 'both rounds collected')
    expect(series()).toEqual(
      rounds.map((time, k) => ({
        time,
        totalWh: (values[k] as number[]).reduce((s, v) => s + v, 0),
        households: 3,
      })),
    )
    expect(observer.status()).toMatchObject({ roundsCollected: 2, roundsFailed: 0, sharesContributed: 0 })
  })
})
