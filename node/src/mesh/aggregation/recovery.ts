/**
 * Dropout recovery (docs/aggregation.md §3–4), both sides. The aggregator names the missing members in a
 * `recover` and waits for a `reveal` from every contributor that is a graph neighbour of a missing one;
 * such a member reveals only its masks with its missing neighbours for that round — and only if it never
 * saw any missing member's share (so a false "missing" claim cannot unmask anyone) and enough of its
 * neighbours stay present (so it cannot be cut off from every honest neighbour at once).
 */
import type { RecoverMessage, RevealMessage } from '../codec.ts'
import type { MeshContext } from '../context.ts'
import { AggregationError } from '../errors.ts'
import { MOD } from '../masking.ts'
import type { Address, Hex } from '../signing.ts'
import type { MaskingGraph } from './graph.ts'
import type { PairMasks } from './pair-masks.ts'
import type { RoundStore } from './rounds.ts'
import type { AggregationTransport, RoundState } from './types.ts'

/**
 * In a sparse graph a member reveals only while at most this fraction of its neighbours is missing.
 * Otherwise whoever can make a home's honest neighbours look missing (cutting them off the network)
 * would strip every honest mask from its share; with the rule the coalition must itself hold more than
 * two thirds of the home's neighbours (docs/aggregation.md §4). 10 % random dropouts cross it for a
 * member of degree ≥ 24 with probability < 4·10⁻⁴ (then that round fails rather than leaks).
 */
export const MAX_MISSING_NEIGHBOUR_FRACTION = 1 / 3

export interface RecoveryDeps {
  ctx: Pick<MeshContext, 'area' | 'log' | 'now'>
  transport: AggregationTransport
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
  graph: MaskingGraph
  missing: Address[]
  present: Address[]
  revealTimeoutMs: number
  recoverRetryMs: number
}

export interface Recovery {
  /** Remaining member's side: the reveal to publish, or undefined (nothing to reveal, or refused). */
  revealFor(t: number, state: RoundState, members: Hex, missing: Address[]): RevealMessage | undefined
  /** Records a reveal (ours or a member's) and wakes the round's waits. */
  storeReveal(state: RoundState, reveal: RevealMessage): void
  /** Aggregator's side: publishes the recover and returns the revealed mask sums it needs. */
  recoverDropouts(request: RecoveryRequest): Promise<bigint[]>
}

/** The contributors that must reveal, each with the key of the missing neighbours it reveals for. */
export function revealersOf(graph: MaskingGraph, present: readonly Address[], missing: readonly Address[]) {
  const missingSet = new Set(missing)
  const out = new Map<Address, string>()
  for (const p of present) {
    const gone = graph.neighbours(p).filter((m) => missingSet.has(m))
    if (gone.length > 0) out.set(p, gone.join(','))
  }
  return out
}

export function createRecovery(deps: RecoveryDeps): Recovery {
  const { ctx, transport, rounds, masks, minMembers, selfMeter } = deps

  function revealFor(t: number, state: RoundState, members: Hex, missing: Address[]) {
    const me = selfMeter()
    const mine = state.mine
    if (me === undefined || mine === undefined || mine.members !== members) return undefined
    const key = missing.join(',')
    if (state.revealed.has(key)) return state.revealed.get(key)
    // Never undefined: contribute() masks only against a view that holds this node.
    const self = mine.view.find((m) => m.meter === me)
    if (self === undefined) return undefined
    const reasons: string[] = []
    if (missing.includes(me)) reasons.push('this node is named missing but contributed')
    if (missing.some((m) => !mine.graph.has(m)))
      reasons.push('a missing meter is not in this round’s member set')
    // Revealing masks with a member whose share we hold would let anyone unmask that member's value.
    if (missing.some((m) => state.shares.has(m))) reasons.push('a "missing" member’s share was seen')
    if (mine.view.length - missing.length < minMembers) reasons.push('too few members would remain')
    const neighbours = mine.graph.neighbourKeys(me)
    const missingSet = new Set(missing)
    const gone = neighbours.filter((m) => missingSet.has(m.meter))
    if (!mine.graph.complete && gone.length > neighbours.length * MAX_MISSING_NEIGHBOUR_FRACTION) {
      reasons.push(`${gone.length} of its ${neighbours.length} neighbours would be missing`)
    }
    if (reasons.length > 0) {
      ctx.log.warn('refused to reveal masks for a dropout recovery', { round: t, reasons })
      state.revealed.set(key, undefined)
      return undefined
    }
    for (const m of missing) state.declaredMissing.add(m)
    // A member with no missing neighbour has nothing to reveal: its masks all cancel among the present.
    if (gone.length === 0) {
      state.revealed.set(key, undefined)
      return undefined
    }
    const reveal: RevealMessage = {
      v: 2,
      type: 'reveal',
      area: ctx.area,
      round: t,
      meter: me,
      members,
      masks: gone.map((other) => ({
        meter: other.meter,
        value: masks.maskWith(self, other, t).toString(),
      })),
    }
    state.revealed.set(key, reveal)
    return reveal
  }

  function storeReveal(state: RoundState, reveal: RevealMessage) {
    state.reveals.set(reveal.meter, {
      members: reveal.members,
      missing: reveal.masks.map((m) => m.meter).join(','),
      sum: reveal.masks.reduce((s, m) => (s + BigInt(m.value)) % MOD, 0n),
    })
    state.revealLog.push(reveal.meter)
    rounds.notify(state)
  }

  async function recoverDropouts(request: RecoveryRequest): Promise<bigint[]> {
    const { t, state, digest, missing, present, graph } = request
    const recover: RecoverMessage = {
      v: 2,
      type: 'recover',
      area: ctx.area,
      round: t,
      members: digest,
      missing,
    }
    // Only the present neighbours of missing members hold masks that did not cancel.
    const needed = revealersOf(graph, present, missing)
    const revealers = [...needed.keys()]
    const own = revealFor(t, state, digest, missing)
    if (own !== undefined) storeReveal(state, own)
    for (const m of missing) state.declaredMissing.add(m)
    // The missing members get it too: a member that sees itself named missing never contributes to the
    // round afterwards (a late share next to its revealed masks would unmask it).
    const audience = [...revealers, ...missing]
    await transport.send(recover, audience)
    const revealOf = (m: Address) => {
      const r = state.reveals.get(m)
      return r !== undefined && r.members === digest && r.missing === needed.get(m) ? r : undefined
    }
    const revealedBy = (m: Address) => revealOf(m) !== undefined
    // Reveals are checked as they arrive (state.revealLog), not all revealers on every arrival: with
    // 900 revealers that was ~10⁶ checks per round at the aggregator.
    const done = new Set<Address>()
    let cursor = 0
    const revealedCount = () => {
      for (; cursor < state.revealLog.length; cursor++) {
        const m = state.revealLog[cursor] as Address
        if (needed.has(m) && revealedBy(m)) done.add(m)
      }
      return done.size
    }
    const allRevealed = () => revealedCount() === revealers.length
    // Gossip is best-effort: a recover or reveal lost while a member was disconnected is never repaired
    // once it left gossipsub's 3-heartbeat message cache. So whenever no new reveal has arrived for
    // `recoverRetryMs`, publish the recover again (a new gossip message); members answer a repeated
    // recover with the reveal they already gave, which discloses nothing new. Reveals still trickling
    // in (a loaded mesh) hold the retry back rather than adding load.
    const deadlineReveals = ctx.now() + request.revealTimeoutMs
    let previous = -1
    for (;;) {
      const left = deadlineReveals - ctx.now()
      if (allRevealed() || left <= 0) break
      const count = revealedCount()
      if (count === previous)
        await transport.send(recover, [...revealers.filter((m) => !revealedBy(m)), ...missing])
      previous = count
      await rounds.waitFor(state, () => revealedCount() !== count, Math.min(left, request.recoverRetryMs))
    }
    const sums: bigint[] = []
    const silent: Address[] = []
    for (const m of revealers) {
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
