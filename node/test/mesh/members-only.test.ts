/**
 * Members only on the mesh (issue 13, docs/mesh.md §5a and §8): real libp2p 3 nodes with Helia on
 * loopback. A stranger — a fresh node whose meter the ledger does not register in the area — dials a
 * member: it never sees the area's announcements or alerts (its subscription never reaches gossipsub),
 * cannot fetch a known backup block over bitswap, and is disconnected with a log line naming it. A
 * registered member that does not hold a home's backups cannot fetch that home's blocks either.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshTopic } from '#protocol/topics.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { type BackupService, backupIdentity, createBackupService } from '../../src/mesh/backup.ts'
import { createMeshNode, type MeshNode } from '../../src/mesh/node.ts'
import { snapshotRegistry } from '../../src/mesh/registry.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { createVault, getBlock, type SealResult } from '../../src/vault/index.ts'
import { meterRecords, newRootKey, PERIOD_END, PERIOD_START } from '../vault/helpers.ts'
import { AREA, type Cluster, collectingLogger, DOMAIN, newSigner, startCluster, until } from './fixture.ts'

const METER = '0x00000000000000000000000000000000000a11ce'

describe('members only on the mesh', () => {
  let cluster: Cluster
  let dir: string
  const helias: HeliaNode[] = []
  const services: BackupService[] = []
  let period: SealResult
  let stranger: MeshNode
  let strangerHelia: HeliaNode
  const strangerLog = collectingLogger()
  const strangerSaw: string[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkmeter-members-only-'))
    cluster = await startCluster(3)
    for (const [i, node] of cluster.nodes.entries()) {
      const helia = await createHeliaNode({ dir: join(dir, `home${i}`), libp2p: node.libp2p })
      helias.push(helia)
      const service = createBackupService({
        helia: helia.helia,
        allowPin: (peer) => node.members.meterOfPeer(peer) !== undefined,
        log: cluster.logs[i],
        pinTimeoutMs: 20_000,
      })
      await service.start()
      services.push(service)
    }
    // Home 0 seals a period and backs it up with home 1 only.
    const rootKey = newRootKey()
    const vault = createVault({ helia: helias[0]!.helia, rootKey })
    await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
    period = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
    await services[0]!.pinWith(cluster.nodes[1]!.libp2p.peerId, backupIdentity(rootKey), [period.manifestCid])

    // The stranger: same deployment and registry, but its meter is not registered in the area.
    stranger = await createMeshNode({
      area: AREA,
      domain: DOMAIN,
      utility: cluster.utility.address as Address,
      registry: snapshotRegistry(cluster.registryEntries),
      meter: newSigner(),
      log: strangerLog,
      connectionManager: { inboundConnectionThreshold: 1000 },
    })
    await stranger.start()
    strangerHelia = await createHeliaNode({ dir: join(dir, 'stranger'), libp2p: stranger.libp2p })
    stranger.libp2p.services.pubsub.addEventListener('message', (e) => void strangerSaw.push(e.detail.topic))
  })

  afterAll(async () => {
    for (const s of services) await s.stop()
    for (const h of [...helias, strangerHelia]) await h?.stop()
    await stranger?.stop()
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('a stranger that dials a member gets no announcement or alert, no block, and is disconnected and logged', async () => {
    const home = cluster.nodes[0] as MeshNode
    await stranger.dial(home.multiaddrs()[0] as string).catch(() => undefined)
    // While it is (briefly) connected, the area announces and raises an alert.
    await Promise.all(cluster.nodes.map((n) => n.announce()))
    await home.alerts.raise('fire', 60).catch(() => undefined)
    // It asks for the backed-up manifest, whose CID it knows (e.g. from the home's bill on-chain).
    await expect(getBlock(strangerHelia.helia, period.manifestCid, 3000)).rejects.toThrow()
    await until(
      () => home.libp2p.getConnections(stranger.libp2p.peerId).length === 0,
      10_000,
      'the stranger to be disconnected',
    )
    const topics = ['members', 'alerts', 'notices', 'aggregate'] as const
    for (const kind of topics) {
      expect(home.libp2p.services.pubsub.getSubscribers(meshTopic(AREA, kind)).map(String)).not.toContain(
        stranger.peerId,
      )
    }
    expect(strangerSaw).toEqual([])
    expect(stranger.members.list().map((m) => m.meter)).toEqual([stranger.meter])
    const logged = cluster.logs[0]!.entries.find(
      (e) => e.msg.startsWith('disconnected a stranger') && e.peer === stranger.peerId,
    )
    expect(logged).toBeDefined()
  })

  it('a member holding none of a home’s backups cannot fetch its blocks; the neighbour holding them can', async () => {
    const other = helias[2]!.helia
    await expect(getBlock(other, period.manifestCid, 3000)).rejects.toThrow()
    expect(services[0]!.refusedWants()).toBeGreaterThan(0)
    // Home 1 pinned them (it fetched them from home 0 when asked to): it holds them.
    expect(await helias[1]!.helia.pins.isPinned(period.manifestCid)).toBe(true)
  })
})
