/**
 * This home's mesh node: built from the node's configuration and the persisted keys, started, and
 * taken down again if the start fails (so the household node's own unwinding has nothing left here).
 */

import type { Logger } from '../../log/logger.ts'
import type { PrivacyOptions } from '../aggregation/privacy/release.ts'
import { createMeshNode, type MeshNode } from '../node.ts'
import { ledgerRegistry } from '../registry.ts'
import type { Address } from '../signing.ts'
import type { MeshKeys } from './keys.ts'
import type { MeshSpeaker } from './speaker.ts'
import { type HouseholdMeshOptions, MIN_MEMBERS } from './types.ts'

export interface MeshHostDeps {
  keys: MeshKeys
  speaker: MeshSpeaker
  /** The ledger owner, lower case: the only valid signer of notices. */
  utility: Address
  log: Logger
  /** The accountant's saved state and where to save it (privacy-budget.ts). */
  privacyBudget: Pick<PrivacyOptions, 'initial' | 'onChange'>
}

export function createHouseholdMeshNode(
  options: HouseholdMeshOptions,
  deps: MeshHostDeps,
): Promise<MeshNode> {
  const { config } = options
  const { speaksAs } = deps.speaker
  return createMeshNode({
    area: options.area,
    domain: options.domain,
    utility: deps.utility,
    // Cached 10 s: a neighbour registered after we first looked it up is admitted soon after.
    registry: ledgerRegistry(options.ledger, { cacheMs: 10_000 }),
    ...(speaksAs ? { meter: speaksAs } : {}),
    privateKey: deps.keys.privateKey,
    x25519PrivateKey: deps.keys.x25519PrivateKey,
    ...(config.listen ? { listen: config.listen } : {}),
    peers: config.peers,
    mdns: config.mdns,
    aggregation: {
      minMembers: MIN_MEMBERS,
      // Rounds are held in memory until collected; homes' clocks differ by seconds, so keep a few
      // minutes' worth even at the virtual meter's speeds.
      maxRounds: 512,
      // A virtual meter's rounds are simulated interval ends, days or years away from the wall clock
      // at 1440×: the window (a bound on rounds a peer can make us track) cannot be wall-clock there.
      ...(options.simulatedMeter ? { roundWindowS: 100 * 365 * 86_400 } : {}),
      // Every share carries clamped, noised Wh, charged to the resident's daily ε (docs/aggregation.md §7).
      privacy: { dailyBudget: config.privacyBudget, ...deps.privacyBudget },
    },
    ...(options.utilitySigner ? { admission: { utilitySigner: options.utilitySigner } } : {}),
    // The observer collects every round: members send it their shares directly (direct-shares.ts).
    collector: options.observer,
    log: deps.log,
  })
}

/** Starts the mesh node; on failure (e.g. a listen address in use) undoes what started, then throws. */
export async function startOrUndo(mesh: MeshNode, undo: () => void): Promise<void> {
  try {
    await mesh.start()
  } catch (error) {
    // e.g. a listen address in use: undo what started, so the node's own unwinding has nothing left here.
    await mesh.stop().catch(() => undefined)
    await Promise.resolve(mesh.libp2p.stop()).catch(() => undefined)
    undo()
    throw error
  }
}
