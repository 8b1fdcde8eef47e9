import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import {
  BACKUP_PROTOCOL,
  type BackupService,
  backupIdentity,
  createBackupService,
} from '../../src/mesh/backup.ts'
import { createMeshNode } from '../../src/mesh/node.ts'
import { snapshotRegistry } from '../../src/mesh/registry.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { createVault, decodeManifest, getBlock, type SealResult } from '../../src/vault/index.ts'
import { meterRecords, newRootKey, PERIOD_END, PERIOD_START } from '../vault/helpers.ts'
import { AREA, type Cluster, collectingLogger, DOMAIN, startCluster } from './fixture.ts'

const METER = '0x00000000000000000000000000000000000a11ce'
const NEXT_END = PERIOD_END + 30 * 86_400

/**
 * Three mesh homes, each running Helia on its mesh libp2p host (as the household node does). Home 0
 * backs its sealed periods up with homes 1 and 2, then "loses its disk": a fresh node with a new peer
 * id and an empty store restores its history from the neighbours with nothing but its root key.
 */
describe('encrypted backups with neighbours', () => {
  let cluster: Cluster
  let dir: string
  const helias: HeliaNode[] = []
  const services: BackupService[] = []
  const rootKey = newRootKey()
  const identity = backupIdentity(rootKey)
  let periods: SealResult[]
  let originals: unknown[][]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkmeter-backup-'))
    cluster = await startCluster(3)
    for (const [i, node] of cluster.nodes.entries()) {
      const helia = await createHeliaNode({ dir: join(dir, `home${i}`), libp2p: node.libp2p })
      helias.push(helia)
      const service = createBackupService({
        helia: helia.helia,
        allowPin: (peer) => node.members.meterOfPeer(peer) !== undefined,
        log: collectingLogger(),
        pinTimeoutMs: 20_000,
      })
      await service.start()
      services.push(service)
    }
    const vault = createVault({ helia: helias[0]!.helia, rootKey })
    await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
    await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 96))
    const first = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
    await vault.appendBatch(METER, PERIOD_END, meterRecords(40, 192))
    const second = await vault.sealPeriod(METER, PERIOD_END, NEXT_END)
    periods = [first, second]
    originals = [await vault.readPeriod(first.manifestCid), await vault.readPeriod(second.manifestCid)]
  })

  afterAll(async () => {
    for (const s of services) await s.stop()
    for (const h of helias) await h.stop()
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('k = 2 neighbours fetch and pin the manifests and every batch, holding only ciphertext', async () => {
    const cids = periods.map((p) => p.manifestCid)
    for (const k of [1, 2]) {
      const kept = await services[0]!.pinWith(cluster.nodes[k]!.libp2p.peerId, identity, cids)
      expect(kept.sort()).toEqual(cids.map(String).sort())
      const store = helias[k]!.helia
      for (const p of periods) {
        expect(await store.pins.isPinned(p.manifestCid)).toBe(true)
        const manifest = decodeManifest(await getBlock(store, p.manifestCid, 5000), p.manifestCid)
        for (const batch of manifest.batches) {
          const block = Buffer.from(await getBlock(store, batch, 5000))
          expect(block.includes(Buffer.from('powerW'))).toBe(false)
        }
      }
    }
  })

  it('refuses a forged owner signature and pins only for area members', async () => {
    const forged = { owner: identity.owner, sign: backupIdentity(newRootKey()).sign }
    await expect(services[0]!.listWith(cluster.nodes[1]!.libp2p.peerId, forged)).rejects.toThrow(
      /bad owner signature/,
    )
    // Another home's key lists nothing of ours.
    expect(
      await services[0]!.listWith(cluster.nodes[1]!.libp2p.peerId, backupIdentity(newRootKey())),
    ).toEqual([])
    // A stranger (not a registered meter of the area) may not use a neighbour's disk.
    const stranger = await createHeliaNode({ dir: join(dir, 'stranger') })
    try {
      const strangerService = createBackupService({
        helia: stranger.helia,
        allowPin: () => false,
        log: collectingLogger(),
      })
      const target = multiaddr(cluster.nodes[2]!.multiaddrs()[0] as string)
      await expect(
        strangerService.pinWith(target, backupIdentity(newRootKey()), [periods[0]!.manifestCid]),
        // Refused: by the neighbour (BackupError), or, since members-only admission, by the mesh itself,
        // which disconnects a stranger before its request is read (mesh.md §5a).
      ).rejects.toThrow()
    } finally {
      await stranger.stop()
    }
  })

  it('survives malformed and oversized requests', async () => {
    const target = cluster.nodes[1]!.libp2p.peerId
    for (const junk of [
      new Uint8Array([1, 2, 3]),
      new TextEncoder().encode('{"v":1,"op":"pin"}'),
      new Uint8Array(200_000),
    ]) {
      const stream = await cluster.nodes[0]!.libp2p.dialProtocol(target, BACKUP_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 300_000 })
      await lp.write(junk).catch(() => undefined)
      await lp.read({ signal: AbortSignal.timeout(2000) }).catch(() => undefined)
    }
    expect((await services[0]!.listWith(target, identity)).length).toBe(2)
  })

  it('a home with an empty disk restores its history from neighbours with only its root key', async () => {
    // The home's node after the loss: the same meter, a new peer id (members-only: it is admitted by
    // its announcement, as a restarted household node is), an empty store.
    const freshMesh = await createMeshNode({
      area: AREA,
      domain: DOMAIN,
      utility: cluster.utility.address as Address,
      registry: snapshotRegistry(cluster.registryEntries),
      meter: cluster.meters[0]!,
      connectionManager: { inboundConnectionThreshold: 1000 },
    })
    await freshMesh.start()
    const fresh = await createHeliaNode({ dir: join(dir, 'home0-restored'), libp2p: freshMesh.libp2p })
    try {
      const restorer = createBackupService({
        helia: fresh.helia,
        allowPin: () => false,
        log: collectingLogger(),
      })
      expect(await fresh.helia.blockstore.has(periods[0]!.manifestCid)).toBe(false)
      const neighbours = [1, 2].map((k) => multiaddr(cluster.nodes[k]!.multiaddrs()[0] as string))
      const restored = await restorer.restoreFrom(neighbours, backupIdentity(rootKey))
      expect(restored).toEqual(periods.map((p) => p.manifestCid.toString()).sort())
      const vault = createVault({ helia: fresh.helia, rootKey })
      for (const [i, p] of periods.entries()) {
        expect(await fresh.helia.pins.isPinned(p.manifestCid)).toBe(true)
        expect(await vault.readPeriod(p.manifestCid)).toEqual(originals[i])
      }
    } finally {
      await fresh.stop()
      await freshMesh.stop()
    }
  })
})
