/**
 * The neighbourhood mesh (node/src/mesh/household/, docs/mesh.md), when enabled. Started before
 * Helia, which runs on the mesh's libp2p host (one identity), and so stopped after it.
 */

import { getBytes } from 'ethers'
import type { MeterState } from '../../../contracts/ts/ledger.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import type { Logger } from '../log/logger.ts'
import { DEV_AREA_ID, type HouseholdMesh, startHouseholdMesh } from '../mesh/household/index.ts'
import { signerFromPrivateKey } from '../mesh/signing.ts'
import type { ChainConnection } from './chain.ts'
import type { Lifecycle } from './lifecycle.ts'

export { DEV_AREA_ID, type HouseholdMesh }

export async function startMesh(options: {
  config: NodeConfig
  identity: HouseholdIdentity
  chain: Pick<ChainConnection, 'chainId' | 'ledger' | 'utility'>
  registered: MeterState
  circuit: { slots: number; intervalSeconds: number }
  lifecycle: Lifecycle
  log: Logger
}): Promise<HouseholdMesh | undefined> {
  const { config, identity, registered, chain } = options
  if (!config.mesh.enabled) return undefined
  const mesh = await startHouseholdMesh({
    dataDir: config.dataDir,
    config: config.mesh,
    // Unregistered only on the dev chain, which registers the meter in DEV_AREA_ID.
    area: registered.registered ? registered.areaId : DEV_AREA_ID,
    domain: { chainId: chain.chainId, verifyingContract: chain.ledger.address },
    ledger: chain.ledger,
    meterAddress: identity.meter.address,
    meterSigner:
      config.meter.simulated && identity.meter.simulatedPrivateKey
        ? signerFromPrivateKey(identity.meter.simulatedPrivateKey)
        : undefined,
    householdSigner: signerFromPrivateKey(identity.walletKey),
    // Where this node is the utility (dev chain), its observer is admitted to the members-only mesh by ticket.
    ...(chain.utility ? { utilitySigner: signerFromPrivateKey(getBytes(chain.utility.privateKey)) } : {}),
    registered: registered.registered,
    rootKey: identity.rootKey,
    // Only on the embedded dev chain does this node play the utility, and observe the area.
    observer: config.mesh.observer ?? chain.utility !== undefined,
    simulatedMeter: config.meter.simulated,
    intervalSeconds: options.circuit.intervalSeconds,
    slots: options.circuit.slots,
    log: options.log,
  })
  return options.lifecycle.started('mesh', mesh)
}
