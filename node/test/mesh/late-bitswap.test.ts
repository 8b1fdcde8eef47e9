/**
 * A neighbour that starts serving blocks after the connection is up. A household node starts its
 * mesh first and its vault's Helia (bitswap) on the same host afterwards, so on a busy machine a
 * neighbour's connection and identify exchange can finish before this home registers bitswap. libp2p
 * tells a topology about a peer's protocols only on identify: without identify push, the neighbour
 * never learnt that this home speaks bitswap, never sent it a want, and every backup pin it was
 * asked for timed out (the household mesh test's "pinned by neighbours", failed in CI at load ~8).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import { backupIdentity, createBackupService } from '../../src/mesh/backup.ts'
import { createMeshNode, type MeshNode } from '../../src/mesh/node.ts'
import { snapshotRegistry } from '../../src/mesh/registry.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { createVault } from '../../src/vault/index.ts'
import { meterRecords, newRootKey, PERIOD_END, PERIOD_START } from '../vault/helpers.ts'
import { AREA, collectingLogger, DOMAIN, newSigner, until } from './fixture.ts'

const METER = '0x00000000000000000000000000000000000a11ce'

describe('bitswap started after the connection', () => {
  let dir: string
  const helias: HeliaNode[] = []
  const homes: MeshNode[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkmeter-late-bitswap-'))
    const utility = newSigner()
    const meters = [newSigner(), newSigner()]
    const registry = snapshotRegistry(meters.map((m) => ({ meter: m.address, area: AREA, active: true })))
    // Two homes of one area, started but not connected yet.
    for (const meter of meters) {
      const home = await createMeshNode({
        area: AREA,
        domain: DOMAIN,
        utility: utility.address as Address,
        registry,
        meter,
        log: collectingLogger(),
        aggregation: { privacy: false },
      })
      homes.push(home)
      await home.start()
    }
  })

  afterAll(async () => {
    for (const h of helias) await h.stop()
    await Promise.all(homes.map((h) => h.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  it(
    'a neighbour pins from a home whose bitswap started after they connected',
    async () => {
      const [owner, neighbour] = homes as [MeshNode, MeshNode]
      // The neighbour serves bitswap (and stores pins) first …
      const neighbourHelia = await createHeliaNode({ dir: join(dir, 'neighbour'), libp2p: neighbour.libp2p })
      helias.push(neighbourHelia)
      const neighbourService = createBackupService({
        helia: neighbourHelia.helia,
        allowPin: (peer) => neighbour.members.meterOfPeer(peer) !== undefined,
        log: collectingLogger(),
        // A few blocks on loopback take milliseconds; a want that never goes out is what fails here.
        pinTimeoutMs: scaledBudget(10_000),
      })
      await neighbourService.start()
      // … then the owner connects to it: the owner's identify does not list bitswap yet.
      await owner.dial(neighbour.multiaddrs()[0] as string)
      await until(
        () =>
          owner.members.meterOfPeer(neighbour.peerId) !== undefined &&
          neighbour.members.meterOfPeer(owner.peerId) !== undefined,
        scaledBudget(15_000),
        'the two homes to admit each other',
      )
      // Now the owner starts its vault's Helia on the same host, seals a period and asks for a pin.
      const ownerHelia = await createHeliaNode({ dir: join(dir, 'owner'), libp2p: owner.libp2p })
      helias.push(ownerHelia)
      const ownerService = createBackupService({
        helia: ownerHelia.helia,
        allowPin: () => false,
        log: collectingLogger(),
      })
      await ownerService.start()
      const rootKey = newRootKey()
      const vault = createVault({ helia: ownerHelia.helia, rootKey })
      await vault.appendBatch(METER, PERIOD_START, meterRecords(96, 0))
      const sealed = await vault.sealPeriod(METER, PERIOD_START, PERIOD_END)
      const kept = await ownerService.pinWith(neighbour.libp2p.peerId, backupIdentity(rootKey), [
        sealed.manifestCid,
      ])
      expect(kept).toEqual([sealed.manifestCid.toString()])
      expect(await neighbourHelia.helia.pins.isPinned(sealed.manifestCid)).toBe(true)
      await ownerService.stop()
      await neighbourService.stop()
    },
    scaledBudget(60_000),
  )
})
