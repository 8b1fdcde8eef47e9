/**
 * A member's side of a round (docs/aggregation.md §3): mask this interval's consumption with its
 * neighbours in the masking graph of the current member view and send the share (to the aggregators
 * and to those neighbours). Idempotent for the same value; a different value for the
 * same round throws (it would be equivocation), and so does a round already recovered without us.
 */
import type { ShareMessage } from '../codec.ts'
import type { MeshContext } from '../context.ts'
import { AggregationError, InvalidMeshMessageError, NotAMemberError } from '../errors.ts'
import { maskShare, membersDigest } from '../masking.ts'
import type { Member } from '../membership.ts'
import type { Address } from '../signing.ts'
import type { GraphOf } from './graph.ts'
import type { PairMasks } from './pair-masks.ts'
import type { NoisyRelease } from './privacy/release.ts'
import { toMod } from './privacy/signed.ts'
import type { RoundStore } from './rounds.ts'
import {
  type AggregationMembership,
  type AggregationTransport,
  mineOf,
  type OwnShare,
  type RoundState,
} from './types.ts'

const MAX_WH = 2n ** 32n

export interface ContributeDeps {
  ctx: Pick<MeshContext, 'area'>
  transport: AggregationTransport
  graphOf: GraphOf
  membership: Pick<AggregationMembership, 'list'>
  rounds: Pick<RoundStore, 'round' | 'notify'>
  masks: Pick<PairMasks, 'maskSum'>
  minMembers: number
  selfMeter(): Address | undefined
  /** Clamp and noise per round (privacy/release.ts); absent: the exact reading is shared. */
  privacy?: Pick<NoisyRelease, 'release'>
}

export function createContribute(deps: ContributeDeps) {
  const { ctx, transport, graphOf, membership, rounds, masks, minMembers, selfMeter } = deps

  const tooLate = (t: number) =>
    new AggregationError(`round ${t} was already recovered without this meter; it is too late to contribute`)
  const alreadyShared = (t: number, value: bigint) =>
    new AggregationError(`round ${t} already has a share of ${value} Wh from this meter`, {
      details: { round: t },
    })

  /**
   * Fixes this node's share of round `t` (value and member view) unless it already has one. Returns
   * the mask sum when it computed one against the view that was kept, so the caller need not redo it.
   */
  async function claimShare(t: number, me: Address, state: RoundState, value: bigint) {
    if (state.mine !== undefined) {
      if (state.mine.value !== value) throw alreadyShared(t, state.mine.value)
      return undefined
    }
    if (state.declaredMissing.has(me)) throw tooLate(t)
    const view = membership.list()
    const self = view.find((m) => m.meter === me)
    if (self === undefined)
      throw new NotAMemberError('this node’s announcement is not in its own member view yet')
    if (view.length < minMembers) {
      throw new AggregationError(
        `area ${ctx.area} has ${view.length} known members, fewer than ${minMembers}: the total would reveal too much`,
        { details: { members: view.length, minMembers } },
      )
    }
    const members = membersDigest(ctx.area, view)
    const graph = graphOf(view, members)
    const sum = await masks.maskSum(self, graph.neighbourKeys(me), t)
    // The wait above let messages in: a concurrent call may have contributed, or a recover may have
    // declared this meter missing — then it must not publish (its share would unmask it).
    const raced = mineOf(state)
    if (raced === undefined) {
      if (state.declaredMissing.has(me)) throw tooLate(t)
      state.mine = { value, members, view, graph }
    } else if (raced.value !== value) {
      throw alreadyShared(t, raced.value)
    }
    return { sum, view }
  }

  /** The view this share was masked against always holds this node (claimShare checked it). */
  function selfIn(view: readonly Member[], me: Address): Member {
    const self = view.find((m) => m.meter === me)
    if (self === undefined)
      throw new NotAMemberError('this node’s announcement is not in its own member view yet')
    return self
  }

  /** Publishes this member's masked share of `valueWh` for round `t` (the interval's end, unix s). */
  return async function contribute(t: number, valueWh: number | bigint): Promise<ShareMessage> {
    const me = selfMeter()
    if (me === undefined) throw new NotAMemberError('an observer node has no meter and cannot contribute')
    if (!Number.isSafeInteger(t) || t < 0)
      throw new InvalidMeshMessageError(`round must be a unix time, got ${t}`)
    const raw = BigInt(valueWh)
    if (raw < 0n || raw >= MAX_WH)
      throw new InvalidMeshMessageError(`consumption must be 0..2^32-1 Wh, got ${raw}`)
    // The share's value mod 2⁶⁴: the noisy value may be negative, the masked arithmetic does not mind.
    const value = deps.privacy === undefined ? raw : toMod(deps.privacy.release(t, raw))
    const state = rounds.round(t)
    const computed = await claimShare(t, me, state, value)
    const mine: OwnShare | undefined = mineOf(state)
    if (mine === undefined) throw tooLate(t) // claimShare either kept a share or threw
    const maskSum =
      computed !== undefined && mine.view === computed.view
        ? computed.sum
        : await masks.maskSum(selfIn(mine.view, me), mine.graph.neighbourKeys(me), t)
    const share: ShareMessage = {
      v: 2,
      type: 'share',
      area: ctx.area,
      round: t,
      meter: me,
      members: mine.members,
      value: maskShare(mine.value, [maskSum]).toString(),
    }
    state.shares.set(me, { value: BigInt(share.value), members: share.members })
    rounds.notify(state)
    // The neighbours must see the share: none of them then reveals a mask with this member (§4).
    await transport.send(share, mine.graph.neighbours(me))
    return share
  }
}
