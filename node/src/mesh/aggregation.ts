/**
 * Private aggregation over the mesh (docs/aggregation.md). A member masks its interval consumption
 * with pairwise masks against its current member view and publishes the share; an aggregator (any
 * node, member or observer) sums the shares. Shares are authenticated by the gossip author's peer id,
 * which the member's meter-signed announcement binds to its meter: a peer that is not a member, or a
 * member publishing under another meter, is rejected. If members drop out, the aggregator names the
 * missing set; each remaining member reveals only its masks with those members for that round — and
 * only if it never saw their share, so a false "missing" claim cannot unmask anyone.
 */

import type { RecoverMessage, RevealMessage, ShareMessage } from './codec.ts'
import { type MeshContext, nowS, type Verdict } from './context.ts'
import { AggregationError, EquivocationError, InvalidMeshMessageError, NotAMemberError } from './errors.ts'
import { createEmitter } from './events.ts'
import { MOD, maskShare, membersDigest, pairKey, pairMask, signedMask, unmaskTotal } from './masking.ts'
import type { Member, MembershipService } from './membership.ts'
import type { Address, Hex } from './signing.ts'

export interface AggregationOptions {
  /** Smallest member set a member contributes to (and reveals for): below it the total says too much. */
  minMembers?: number
  /** Shares are accepted for rounds within this many seconds of now (rounds are interval-end unix times). */
  roundWindowS?: number
  /** Rounds kept in memory at once (oldest dropped first). */
  maxRounds?: number
}

export interface CollectOptions {
  /** The longest wait for every member's share before declaring the rest missing. */
  shareTimeoutMs?: number
  /**
   * Declare the rest missing earlier, once no new share has arrived for this long (after the first
   * share). Adapts to load: shares still trickling in keep the round open, a silent network closes it.
   */
  shareIdleMs?: number
  /** How long to wait for the remaining members' reveals. */
  revealTimeoutMs?: number
  /** Publish the recover again when no new reveal arrived for this long (default 3000 ms). */
  recoverRetryMs?: number
}

export interface AggregateResult {
  area: number
  round: number
  /** Σ consumption of the contributors in Wh, exact. */
  totalWh: bigint
  members: number
  contributors: Address[]
  missing: Address[]
}

export interface AggregationEvents extends Record<string, unknown> {
  /**
   * A member's share for a round was accepted (its first for that round). Carries what the wire
   * already shows — round and meter, never the value — so an aggregator without interval records of
   * its own (an observer with no meter) learns which rounds are running and can collect them.
   */
  share: { round: number; meter: Address }
}

interface RoundState {
  shares: Map<Address, { value: bigint; members: Hex }>
  equivocators: Set<Address>
  reveals: Map<Address, { members: Hex; missing: string; sum: bigint }>
  declaredMissing: Set<Address>
  mine?: { value: bigint; members: Hex; view: Member[] }
  revealed: Map<string, RevealMessage>
  waiters: Set<() => void>
}

const MAX_WH = 2n ** 32n
/** Read through a call, so the compiler does not assume the field is unchanged across an await. */
const mineOf = (state: RoundState): RoundState['mine'] => state.mine
/** Longest stretch of pair-key derivation before contribute() lets other work (pings, gossip) run. */
const YIELD_EVERY_MS = 5

export function createAggregation(
  ctx: MeshContext,
  membership: MembershipService,
  x25519PrivateKey: Uint8Array,
  options: AggregationOptions = {},
) {
  const minMembers = options.minMembers ?? 3
  const roundWindowS = options.roundWindowS ?? 86_400
  const maxRounds = options.maxRounds ?? 64
  const rounds = new Map<number, RoundState>()
  const pairKeys = new Map<string, Uint8Array>()
  /** Pending waits, so stop() can release every collect() still waiting. */
  const finishers = new Set<() => void>()
  const events = createEmitter<AggregationEvents>((e) =>
    ctx.log.warn('aggregation listener threw', { error: String(e) }),
  )

  const selfMeter = (): Address | undefined => ctx.signer?.address.toLowerCase() as Address | undefined

  function round(t: number): RoundState {
    let state = rounds.get(t)
    if (state === undefined) {
      state = {
        shares: new Map(),
        equivocators: new Set(),
        reveals: new Map(),
        declaredMissing: new Set(),
        revealed: new Map(),
        waiters: new Set(),
      }
      rounds.set(t, state)
      while (rounds.size > maxRounds) rounds.delete(rounds.keys().next().value as number)
    }
    return state
  }

  function notify(state: RoundState) {
    for (const w of state.waiters) w()
  }

  function keyWith(self: Member, other: Member): Uint8Array {
    const id = `${other.meter}:${other.x25519PublicKey}:${self.x25519PublicKey}`
    let key = pairKeys.get(id)
    if (key === undefined) {
      key = pairKey(ctx.area, self, x25519PrivateKey, other)
      if (pairKeys.size > 10_000) pairKeys.clear()
      pairKeys.set(id, key)
    }
    return key
  }

  /**
   * Σ_{j≠i} s_ij·m_ij(t) over the view, yielding to the event loop every few milliseconds. A first round
   * against a large view (up to 1000 members) derives every pair key (HKDF, and X25519 unless cached
   * since the announcement check) and 999 HMACs; in one stretch that starves the host's libp2p timers,
   * and a busy host then aborts connections whose keep-alive ping timed out (docs/benchmarks/mesh.md).
   */
  async function maskSum(self: Member, view: readonly Member[], t: number): Promise<bigint> {
    let sum = 0n
    let slice = performance.now()
    for (const other of view) {
      if (other.meter === self.meter) continue
      sum = maskShare(sum, [maskWith(self, other, t)])
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve))
        slice = performance.now()
      }
    }
    return sum
  }

  function maskWith(self: Member, other: Member, t: number): bigint {
    return signedMask(self.meter, other.meter, pairMask(keyWith(self, other), ctx.area, t))
  }

  function inWindow(t: number) {
    return Math.abs(t - nowS(ctx)) <= roundWindowS
  }

  /** Remaining member's side of dropout recovery; returns the reveal to publish, or undefined to refuse. */
  function revealFor(
    t: number,
    state: RoundState,
    members: Hex,
    missing: Address[],
  ): RevealMessage | undefined {
    const me = selfMeter()
    const mine = state.mine
    if (me === undefined || mine === undefined || mine.members !== members) return undefined
    const key = missing.join(',')
    const done = state.revealed.get(key)
    if (done !== undefined) return done
    const self = mine.view.find((m) => m.meter === me) as Member
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
      masks: (others as Member[]).map((other) => ({
        meter: other.meter,
        value: maskWith(self, other, t).toString(),
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
    notify(state)
  }

  function waitFor(state: RoundState, done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        finishers.delete(finish)
        state.waiters.delete(check)
        resolve()
      }
      const check = () => {
        if (done()) finish()
      }
      const timer = setTimeout(finish, timeoutMs)
      finishers.add(finish)
      state.waiters.add(check)
      check()
    })
  }

  return {
    on: events.on,
    /**
     * Publishes this member's masked share of `valueWh` for round `t` (the interval's end, unix s).
     * Idempotent for the same value; a different value for the same round throws (it would be equivocation).
     */
    async contribute(t: number, valueWh: number | bigint): Promise<ShareMessage> {
      const me = selfMeter()
      if (me === undefined) throw new NotAMemberError('an observer node has no meter and cannot contribute')
      if (!Number.isSafeInteger(t) || t < 0)
        throw new InvalidMeshMessageError(`round must be a unix time, got ${t}`)
      const value = BigInt(valueWh)
      if (value < 0n || value >= MAX_WH)
        throw new InvalidMeshMessageError(`consumption must be 0..2^32-1 Wh, got ${value}`)
      const state = round(t)
      let masks: bigint | undefined
      let maskedView: readonly Member[] | undefined
      if (state.mine !== undefined) {
        if (state.mine.value !== value) {
          throw new AggregationError(
            `round ${t} already has a share of ${state.mine.value} Wh from this meter`,
            {
              details: { round: t },
            },
          )
        }
      } else {
        if (state.declaredMissing.has(me)) {
          throw new AggregationError(
            `round ${t} was already recovered without this meter; it is too late to contribute`,
          )
        }
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
        masks = await maskSum(self, view, t)
        maskedView = view
        // The wait above let messages in: a concurrent call may have contributed, or a recover may have
        // declared this meter missing — then it must not publish (its share would unmask it).
        const raced = mineOf(state)
        if (raced === undefined) {
          if (state.declaredMissing.has(me)) {
            throw new AggregationError(
              `round ${t} was already recovered without this meter; it is too late to contribute`,
            )
          }
          state.mine = { value, members: membersDigest(ctx.area, view), view }
        } else if (raced.value !== value) {
          throw new AggregationError(`round ${t} already has a share of ${raced.value} Wh from this meter`, {
            details: { round: t },
          })
        }
      }
      const mine = mineOf(state) as NonNullable<RoundState['mine']>
      if (masks === undefined || mine.view !== maskedView) {
        masks = await maskSum(mine.view.find((m) => m.meter === me) as Member, mine.view, t)
      }
      const share: ShareMessage = {
        v: 1,
        type: 'share',
        area: ctx.area,
        round: t,
        meter: me,
        members: mine.members,
        value: maskShare(mine.value, [masks]).toString(),
      }
      state.shares.set(me, { value: BigInt(share.value), members: share.members })
      notify(state)
      await ctx.publish('aggregate', share)
      return share
    },

    /**
     * Collects round `t`: waits for every member's share, recovers dropouts, returns the exact total.
     * Throws AggregationError (or EquivocationError) when no exact, private total can be given.
     */
    async collect(t: number, opts: CollectOptions = {}): Promise<AggregateResult> {
      const shareTimeoutMs = opts.shareTimeoutMs ?? 2000
      const revealTimeoutMs = opts.revealTimeoutMs ?? 2000
      const view = membership.list()
      if (view.length < minMembers) {
        throw new AggregationError(
          `area ${ctx.area} has ${view.length} known members, fewer than ${minMembers}`,
        )
      }
      const digest = membersDigest(ctx.area, view)
      const meters = view.map((m) => m.meter)
      const state = round(t)
      const allIn = () => meters.every((m) => state.shares.has(m) || state.equivocators.has(m))
      const idleMs = opts.shareIdleMs ?? shareTimeoutMs
      const deadline = ctx.now() + shareTimeoutMs
      let seen = -1
      for (;;) {
        const left = deadline - ctx.now()
        if (allIn() || left <= 0) break
        const count = state.shares.size
        if (count === seen && count > 0) break // idle: nothing new arrived in the last idleMs
        seen = count
        await waitFor(state, () => allIn() || state.shares.size !== count, Math.min(left, idleMs))
        // A share arrived: restart the idle clock by waiting from here.
        if (state.shares.size !== count) seen = -1
      }
      const equivocators = meters.filter((m) => state.equivocators.has(m))
      if (equivocators.length > 0) {
        throw new EquivocationError(
          `members published two different shares for round ${t}: ${equivocators.join(', ')}`,
          {
            details: { round: t, equivocators },
          },
        )
      }
      const present = meters.filter((m) => state.shares.has(m))
      const mismatched = present.filter((m) => state.shares.get(m)?.members !== digest)
      if (mismatched.length > 0) {
        throw new AggregationError(
          `membership views disagree for round ${t}: ${mismatched.length} shares were masked against another member set; wait for announcements to settle and retry the next round`,
          { details: { round: t, mismatched } },
        )
      }
      const missing = meters.filter((m) => !state.shares.has(m))
      const shares = present.map((m) => (state.shares.get(m) as { value: bigint }).value)
      if (missing.length === 0) {
        return {
          area: ctx.area,
          round: t,
          totalWh: unmaskTotal(shares, []),
          members: view.length,
          contributors: present,
          missing,
        }
      }
      if (present.length < minMembers) {
        throw new AggregationError(
          `only ${present.length} of ${view.length} members contributed to round ${t}`,
          {
            details: { round: t, missing },
          },
        )
      }
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
      const revealedBy = (m: Address) => {
        const r = state.reveals.get(m)
        return r !== undefined && r.members === digest && r.missing === missingKey
      }
      // Gossip is best-effort: a recover or reveal lost while a member was disconnected is never repaired
      // once it left gossipsub's 3-heartbeat message cache. So whenever no new reveal has arrived for
      // `recoverRetryMs`, publish the recover again (a new gossip message); members answer a repeated
      // recover with the reveal they already gave, which discloses nothing new. Reveals still trickling
      // in (a loaded mesh) hold the retry back rather than adding load.
      const retryMs = opts.recoverRetryMs ?? 3000
      const deadlineReveals = ctx.now() + revealTimeoutMs
      const revealedCount = () => present.filter(revealedBy).length
      let previous = -1
      for (;;) {
        const left = deadlineReveals - ctx.now()
        if (present.every(revealedBy) || left <= 0) break
        const count = revealedCount()
        if (count === previous) await ctx.publish('aggregate', recover)
        previous = count
        await waitFor(
          state,
          () => present.every(revealedBy) || revealedCount() !== count,
          Math.min(left, retryMs),
        )
      }
      const silent = present.filter((m) => !revealedBy(m))
      if (silent.length > 0) {
        throw new AggregationError(
          `dropout recovery of round ${t} failed: no reveal from ${silent.join(', ')}`,
          {
            details: { round: t, missing, silent },
          },
        )
      }
      const revealed = present.map((m) => (state.reveals.get(m) as { sum: bigint }).sum)
      return {
        area: ctx.area,
        round: t,
        totalWh: unmaskTotal(shares, revealed),
        members: view.length,
        contributors: present,
        missing,
      }
    },

    receiveShare(message: ShareMessage, from: string): Verdict {
      if (message.area !== ctx.area) return 'reject'
      const meter = membership.meterOfPeer(from)
      if (meter === undefined || meter !== message.meter) {
        ctx.log.warn('rejected an aggregation share from a peer that is not that member', {
          peer: from,
          meter: message.meter,
        })
        return 'reject'
      }
      if (!inWindow(message.round)) {
        ctx.log.warn('rejected an aggregation share for a round outside the window', { round: message.round })
        return 'reject'
      }
      const state = round(message.round)
      const value = BigInt(message.value)
      const known = state.shares.get(meter)
      if (known !== undefined) {
        if (known.value === value && known.members === message.members) return 'ignore'
        // Keep the first share but mark the member: the round cannot include it.
        state.equivocators.add(meter)
        ctx.log.warn('detected equivocation: a second, different share for the same round', {
          round: message.round,
          meter,
        })
        notify(state)
        return 'accept'
      }
      state.shares.set(meter, { value, members: message.members })
      notify(state)
      events.emit('share', { round: message.round, meter })
      return 'accept'
    },

    async receiveRecover(message: RecoverMessage): Promise<Verdict> {
      if (message.area !== ctx.area || !inWindow(message.round)) return 'reject'
      const state = round(message.round)
      for (const m of message.missing)
        if (m !== selfMeter() || state.mine === undefined) state.declaredMissing.add(m)
      const reveal = revealFor(message.round, state, message.members, message.missing)
      if (reveal !== undefined) {
        storeReveal(state, reveal)
        await ctx.publish('aggregate', reveal)
      }
      return 'accept'
    },

    receiveReveal(message: RevealMessage, from: string): Verdict {
      if (message.area !== ctx.area || !inWindow(message.round)) return 'reject'
      const meter = membership.meterOfPeer(from)
      if (meter === undefined || meter !== message.meter) return 'reject'
      const state = round(message.round)
      storeReveal(state, message)
      return 'accept'
    },

    stop() {
      for (const finish of [...finishers]) finish()
      rounds.clear()
      events.clear()
    },
  }
}

export type AggregationService = ReturnType<typeof createAggregation>
