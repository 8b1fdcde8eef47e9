/**
 * Private aggregation over the mesh (docs/aggregation.md). A member masks its interval consumption
 * with pairwise masks against its current member view and publishes the share; an aggregator (any
 * node, member or observer) sums the shares. Shares are authenticated by the gossip author's peer id,
 * which the member's meter-signed announcement binds to its meter: a peer that is not a member, or a
 * member publishing under another meter, is rejected. If members drop out, the aggregator names the
 * missing set; each remaining member reveals only its masks with those members for that round — and
 * only if it never saw their share, so a false "missing" claim cannot unmask anyone.
 *
 * This module is the composition: createAggregation wires the pieces in aggregation/, one job each
 * (docs/aggregation.md §6): rounds.ts (round state, window, waits), pair-masks.ts (pair keys and
 * masks), contribute.ts (a member's share), collect.ts (the aggregator's sum), recovery.ts (dropout
 * recovery, both sides), receive.ts (incoming shares, recovers, reveals), types.ts (shared shapes).
 */

import { createCollect } from './aggregation/collect.ts'
import { createContribute } from './aggregation/contribute.ts'
import { createGraphCache } from './aggregation/graph.ts'
import { createPairMasks } from './aggregation/pair-masks.ts'
import { createNoisyRelease } from './aggregation/privacy/release.ts'
import { createReceivers } from './aggregation/receive.ts'
import { createRecovery } from './aggregation/recovery.ts'
import { createRoundStore } from './aggregation/rounds.ts'
import type {
  AggregationEvents,
  AggregationMembership,
  AggregationOptions,
  AggregationTransport,
} from './aggregation/types.ts'
import { type MeshContext, nowS } from './context.ts'
import { createEmitter } from './events.ts'
import type { Address } from './signing.ts'

export type {
  AggregateResult,
  AggregationEvents,
  AggregationMembership,
  AggregationOptions,
  AggregationTransport,
  CollectOptions,
} from './aggregation/types.ts'

export function createAggregation(
  ctx: MeshContext,
  membership: AggregationMembership,
  x25519PrivateKey: Uint8Array,
  options: AggregationOptions = {},
  /** Default: the area's gossipsub `aggregate` topic, where everyone receives everything. */
  transport: AggregationTransport = { send: (message) => ctx.publish('aggregate', message) },
) {
  const minMembers = options.minMembers ?? 3
  const rounds = createRoundStore({
    maxRounds: options.maxRounds ?? 64,
    roundWindowS: options.roundWindowS ?? 86_400,
    nowS: () => nowS(ctx),
  })
  const masks = createPairMasks(ctx.area, x25519PrivateKey)
  const events = createEmitter<AggregationEvents>((e) =>
    ctx.log.warn('aggregation listener threw', { error: e }),
  )
  const selfMeter = (): Address | undefined => ctx.signer?.address.toLowerCase() as Address | undefined
  const privacy = options.privacy === false ? undefined : createNoisyRelease(options.privacy)
  // One cache of masking graphs (per member set) for this node's shares, reveals and collections.
  const graphOf = createGraphCache()
  const recovery = createRecovery({ ctx, transport, rounds, masks, minMembers, selfMeter })
  const receivers = createReceivers({ ctx, transport, membership, rounds, recovery, events, selfMeter })

  return {
    on: events.on,
    /**
     * Publishes this member's masked share of `valueWh` for round `t` (the interval's end, unix s).
     * Idempotent for the same value; a different value for the same round throws (it would be equivocation).
     */
    contribute: createContribute({
      ctx,
      transport,
      graphOf,
      membership,
      rounds,
      masks,
      minMembers,
      selfMeter,
      ...(privacy ? { privacy } : {}),
    }),
    /** The noise calibration and the ε spent per day (undefined when privacy noise is off). */
    privacy: privacy && { calibration: privacy.calibration, spend: privacy.spend },
    /**
     * Collects round `t`: waits for every member's share, recovers dropouts, returns the exact total.
     * Throws AggregationError (or EquivocationError) when no exact, private total can be given.
     */
    collect: createCollect({ ctx, membership, rounds, recovery, graphOf, minMembers }),
    receiveShare: receivers.receiveShare,
    receiveRecover: receivers.receiveRecover,
    receiveReveal: receivers.receiveReveal,
    stop() {
      rounds.clear()
      events.clear()
    },
  }
}

export type AggregationService = ReturnType<typeof createAggregation>
