/**
 * Dropout recovery (docs/aggregation.md §4), both sides. The aggregator names the missing members in a
 * `recover` and waits for every contributor's `reveal`; a remaining member reveals only its masks with
 * those members for that round — and only if it never saw their share, so a false "missing" claim
 * cannot unmask anyone.
 */
import type { RecoverMessage, RevealMessage } from '../codec.ts'
import type { MeshContext } from '../context.ts'
import { AggregationError } from '../errors.ts'
import { MOD } from '../masking.ts'
import type { Member } from '../membership.ts'
import type { Address, Hex } from '../signing.ts'
import type { PairMasks } from './pair-masks.ts'
import type { RoundStore } from './rounds.ts'
import type { RoundState } from './types.ts'

export interface RecoveryDeps {
  ctx: Pick<MeshContext, 'area' | 'log' | 'publish' | 'now'>
  rounds: Pick<RoundStore, 'notify' | 'waitFor'>
  masks: Pick<PairMasks, 'maskWith'>
  minMembers: number
  /** This node's meter (lowercase), undefined for an observer. */
  selfMeter(): Address | undefined
}

/** The aggregator's recovery of one round: who is missing, who contributed, against which view. */
export interface RecoveryRequest {
  t: number
  state: RoundState
  digest: Hex
  missing: Address[]
  present: Address[]
  revealTimeoutMs: number
  recoverRetryMs: number
}

export interface Recovery {
  /** Remaining member's side: the reveal to publish, or undefined to refuse. */
  revealFor(t: number, state: RoundState, members: Hex, missing: Address[]): RevealMessage | undefined
  /** Records a reveal (ours or a member's) and wakes the round's waits. */
  storeReveal(state: RoundState, reveal: RevealMessage): void
  /** Aggregator's side: publishes the recover and returns each contributor's revealed mask sum. */
  recoverDropouts(request: RecoveryRequest): Promise<bigint[]>
}

export function createRecovery(deps: RecoveryDeps): Recovery {
  const { ctx, rounds, masks, minMembers, selfMeter } = deps

  function revealFor(t: number, state: RoundState, members: Hex, missing: Address[]) {
    const me = selfMeter()
    const mine = state.mine
    if (me === undefined || mine === undefined || mine.members !== members) return undefined
    const key = missing.join(',')
    const done = state.revealed.get(key)
    if (done !== undefined) return done
    // Never undefined: contribute() masks only against a view that holds this node.
    const self = mine.view.find((m) => m.meter === me)
    if (self === undefined) return undefined
    const reasons: string[] = []
    if (missing.includes(me)) reasons.push('this node is named missing but contributed')
    const others = missing.map((meter) => mine.view.find((m) => m.meter === meter))
    if (others.some((m) => m === undefined)) reasons.push('a missing meter is not in this round’s member set')
    // Revealing masks with a member whose share we hold would let anyone unmask that member's value.
    if (missing.some((m) => state.shares.has(m))) reasons.push('a "missing" member’s share was seen')
    if (mine.view.length - missing.length < minMembers) reasons.push('too few members would remain')
    if (reasons.length > 0) {
      ctx.log.warn('refused to reveal masks for a dropout recovery', { round: t, reasons })
      return undefined
    }
    const reveal: RevealMessage = {
      v: 1,
      type: 'reveal',
      area: ctx.area,
      round: t,
      meter: me,
      members,
      masks: others
        .filter((other): other is Member => other !== undefined)
        .map((other) => ({
          meter: other.meter,
          value: masks.maskWith(self, other, t).toString(),
        })),
    }
    state.revealed.set(key, reveal)
    for (const m of missing) state.declaredMissing.add(m)
    return reveal
  }

  function storeReveal(state: RoundState, reveal: RevealMessage) {
    state.reveals.set(reveal.meter, {
      members: reveal.members,
      missing: reveal.masks.map((m) => m.meter).join(','),
      sum: reveal.masks.reduce((s, m) => (s + BigInt(m.value)) % MOD, 0n),
    })
    rounds.notify(state)
  }

  async function recoverDropouts(request: RecoveryRequest): Promise<bigint[]> {
    const { t, state, digest, missing, present } = request
    const recover: RecoverMessage = {
      v: 1,
      type: 'recover',
      area: ctx.area,
      round: t,
      members: digest,
      missing,
    }
    const missingKey = missing.join(',')
    const own = revealFor(t, state, digest, missing)
    if (own !== undefined) storeReveal(state, own)
    for (const m of missing) state.declaredMissing.add(m)
    await ctx.publish('aggregate', recover)
    const revealOf = (m: Address) => {
      const r = state.reveals.get(m)
      return r !== undefined && r.members === digest && r.missing === missingKey ? r : undefined
    }
    const revealedBy = (m: Address) => revealOf(m) !== undefined
    // Gossip is best-effort: a recover or reveal lost while a member was disconnected is never repaired
    // once it left gossipsub's 3-heartbeat message cache. So whenever no new reveal has arrived for
    // `recoverRetryMs`, publish the recover again (a new gossip message); members answer a repeated
    // recover with the reveal they already gave, which discloses nothing new. Reveals still trickling
    // in (a loaded mesh) hold the retry back rather than adding load.
    const deadlineReveals = ctx.now() + request.revealTimeoutMs
    const revealedCount = () => present.filter(revealedBy).length
    let previous = -1
    for (;;) {
      const left = deadlineReveals - ctx.now()
      if (present.every(revealedBy) || left <= 0) break
      const count = revealedCount()
      if (count === previous) await ctx.publish('aggregate', recover)
      previous = count
      await rounds.waitFor(
        state,
        () => present.every(revealedBy) || revealedCount() !== count,
        Math.min(left, request.recoverRetryMs),
      )
    }
    const sums: bigint[] = []
    const silent: Address[] = []
    for (const m of present) {
      const reveal = revealOf(m)
      if (reveal === undefined) silent.push(m)
      else sums.push(reveal.sum)
    }
    if (silent.length > 0) {
      throw new AggregationError(
        `dropout recovery of round ${t} failed: no reveal from ${silent.join(', ')}`,
        {
          details: { round: t, missing, silent },
        },
      )
    }
    return sums
  }

  return { revealFor, storeReveal, recoverDropouts }
}
