/**
 * The vault: encrypted records in Helia (on the mesh's libp2p host when there is a mesh), and the
 * mesh's backups of its sealed periods to neighbours.
 */
import { join } from 'node:path'
import type { HouseholdIdentity } from '../identity/identity.ts'
import { createHeliaNode } from '../ipfs/helia.ts'
import { createVault, type Vault } from '../vault/index.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { HouseholdMesh } from './mesh.ts'

export async function startVault(options: {
  dataDir: string
  identity: HouseholdIdentity
  mesh: HouseholdMesh | undefined
  lifecycle: Lifecycle
}): Promise<{ vault: Vault; reopenStores: () => Promise<void> }> {
  const { mesh, lifecycle } = options
  const heliaNode = await createHeliaNode({
    dir: join(options.dataDir, 'ipfs'),
    ...(mesh ? { libp2p: mesh.libp2p } : {}),
  })
  lifecycle.started('helia', heliaNode)
  const vault = createVault({ helia: heliaNode.helia, rootKey: options.identity.rootKey })
  if (mesh) {
    await mesh.startBackups(heliaNode.helia, vault)
    lifecycle.started('mesh backups', () => mesh.stopBackups())
  }
  return { vault, reopenStores: () => heliaNode.reopenStores() }
}
