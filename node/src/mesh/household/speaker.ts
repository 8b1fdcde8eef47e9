/**
 * Who signs for this home's meter on the mesh. With a virtual meter its own key signs; a hardware
 * meter keeps its key, so the household account signs on its behalf (the ledger registers that
 * account for this meter, which is what neighbours check). Neither: the node only listens.
 */
import type { MeterInfo } from '../registry.ts'
import type { MeshIdentity, MeterSigner } from '../signing.ts'
import type { HouseholdMeshOptions } from './types.ts'

export interface MeshSpeaker {
  /** createMeshNode's `meter` option; undefined for a node that only listens. */
  speaksAs: MeterSigner | MeshIdentity | undefined
  /** The household account signs for a hardware meter. */
  householdSigning: boolean
  /** Checks once, when the ledger registers the meter, that it registers our household account. */
  checkHousehold(info: MeterInfo): void
}

export function createSpeaker(
  options: Pick<HouseholdMeshOptions, 'meterSigner' | 'householdSigner' | 'meterAddress' | 'log'>,
): MeshSpeaker {
  const speaksAs: MeterSigner | MeshIdentity | undefined =
    options.meterSigner ??
    (options.householdSigner ? { meter: options.meterAddress, signer: options.householdSigner } : undefined)
  const householdSigning = options.meterSigner === undefined && options.householdSigner !== undefined
  /**
   * Neighbours admit the household account only if the ledger registers it for this meter: say so once
   * when it does not (e.g. the utility registered another account), rather than be refused in silence.
   */
  let householdChecked = false
  const checkHousehold = (info: MeterInfo) => {
    if (!householdSigning || householdChecked || !info.registered) return
    householdChecked = true
    const registeredFor = info.household?.toLowerCase()
    const ours = options.householdSigner?.address.toLowerCase()
    if (registeredFor !== ours) {
      options.log.error(
        'the ledger registers another household account for this meter: neighbours will refuse what this node signs for it',
        {
          meter: options.meterAddress,
          registeredHousehold: registeredFor ?? null,
          household: ours,
        },
      )
    }
  }
  return { speaksAs, householdSigning, checkHousehold }
}
