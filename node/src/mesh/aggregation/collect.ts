/**
 * The aggregator's side of a round (docs/aggregation.md §3–4): wait for every member's share (or until
 * the round goes idle), refuse a round with equivocators or shares masked against another member set,
 * and sum the shares — through dropout recovery when some members are missing.
 */
import type { MeshContext } from '../context.ts'
import { AggregationError, EquivocationError } from '../errors.ts'
import { membersDigest, unmaskTotal } from '../masking.ts'
import type { Address } from '../signing.ts'
import type { GraphOf } from './graph.ts'
import { signedTotal } from './privacy/signed.ts'
import type { Recovery } from './recovery.ts'
import type { RoundStore } from './rounds.ts'
import type { AggregateResult, AggregationMembership, CollectOptions, RoundState } from './types.ts'

export interface CollectDeps {
  ctx: Pick<MeshContext, 'area' | 'now'>
  membership: Pick<AggregationMembership, 'list'>
  rounds: Pick<RoundStore, 'round' | 'waitFor'>
  recovery: Pick<Recovery, 'recoverDropouts'>
  graphOf: GraphOf
  minMembers: number
}

/**
 * Waits until every meter's share (or equivocation) is in, the deadline passes, or no new share
 * arrived for `idleMs` after the first one.
 */
async function awaitShares(
  rounds: CollectDeps['rounds'],
  now: () => number,
  state: RoundState,
  meters: readonly Address[],
  shareTimeoutMs: number,
  idleMs: number,
) {
  // Count first: checking every meter on every arrival would be O(n²) per round (10⁶ checks at 1000).
  const allIn = () =>
    state.shares.size >= meters.length &&
    meters.every((m) => state.shares.has(m) || state.equivocators.has(m))
  const deadline = now() + shareTimeoutMs
  let seen = -1
  for (;;) {
    const left = deadline - now()
    if (allIn() || left <= 0) break
    const count = state.shares.size
    if (count === seen && count > 0) break // idle: nothing new arrived in the last idleMs
    seen = count
    await rounds.waitFor(state, () => allIn() || state.shares.size !== count, Math.min(left, idleMs))
    // A share arrived: restart the idle clock by waiting from here.
    if (state.shares.size !== count) seen = -1
  }
}

export function createCollect(deps: CollectDeps) {
  const { ctx, membership, rounds, recovery, graphOf, minMembers } = deps

  /**
   * Collects round `t`: waits for every member's share, recovers dropouts, returns the exact total.
   * Throws AggregationError (or EquivocationError) when no exact, private total can be given.
   */
  return async function collect(t: number, opts: CollectOptions = {}): Promise<AggregateResult> {
    const shareTimeoutMs = opts.shareTimeoutMs ?? 2000
    const view = membership.list()
    if (view.length < minMembers) {
      throw new AggregationError(
        `area ${ctx.area} has ${view.length} known members, fewer than ${minMembers}`,
      )
    }
    const digest = membersDigest(ctx.area, view)
    const meters = view.map((m) => m.meter)
    const state = rounds.round(t)
    await awaitShares(rounds, ctx.now, state, meters, shareTimeoutMs, opts.shareIdleMs ?? shareTimeoutMs)
    const equivocators = meters.filter((m) => state.equivocators.has(m))
    if (equivocators.length > 0) {
      throw new EquivocationError(
        `members published two different shares for round ${t}: ${equivocators.join(', ')}`,
        {
          details: { round: t, equivocators },
        },
      )
    }
    const present: Address[] = []
    const shares: bigint[] = []
    const missing: Address[] = []
    const mismatched: Address[] = []
    for (const m of meters) {
      const share = state.shares.get(m)
      if (share === undefined) {
        missing.push(m)
        continue
      }
      present.push(m)
      shares.push(share.value)
      if (share.members !== digest) mismatched.push(m)
    }
    if (mismatched.length > 0) {
      throw new AggregationError(
        `membership views disagree for round ${t}: ${mismatched.length} shares were masked against another member set; wait for announcements to settle and retry the next round`,
        { details: { round: t, mismatched } },
      )
    }
    const result = (revealed: bigint[]): AggregateResult => ({
      area: ctx.area,
      round: t,
      totalWh: signedTotal(unmaskTotal(shares, revealed)),
      members: view.length,
      contributors: present,
      missing,
    })
    if (missing.length === 0) return result([])
    if (present.length < minMembers) {
      throw new AggregationError(
        `only ${present.length} of ${view.length} members contributed to round ${t}`,
        {
          details: { round: t, missing },
        },
      )
    }
    const revealed = await recovery.recoverDropouts({
      t,
      state,
      digest,
      graph: graphOf(view, digest),
      missing,
      present,
      revealTimeoutMs: opts.revealTimeoutMs ?? 2000,
      recoverRetryMs: opts.recoverRetryMs ?? 3000,
    })
    return result(revealed)
  }
}
