/**
 * Incoming aggregation messages (the gossip validators' verdicts). A share or reveal counts only from
 * the gossip author whose member announcement binds it to that meter; a second, different share from
 * a member marks it an equivocator; a recover is answered with this member's reveal when it may give one.
 */
import type { RecoverMessage, RevealMessage, ShareMessage } from '../codec.ts'
import type { MeshContext, Verdict } from '../context.ts'
import type { Emitter } from '../events.ts'
import type { Address } from '../signing.ts'
import type { Recovery } from './recovery.ts'
import type { RoundStore } from './rounds.ts'
import type { AggregationEvents, AggregationMembership, AggregationTransport } from './types.ts'

export interface ReceiveDeps {
  ctx: Pick<MeshContext, 'area' | 'log'>
  transport: AggregationTransport
  membership: Pick<AggregationMembership, 'meterOfPeer'>
  rounds: Pick<RoundStore, 'round' | 'inWindow' | 'notify'>
  recovery: Pick<Recovery, 'revealFor' | 'storeReveal'>
  events: Pick<Emitter<AggregationEvents>, 'emit'>
  selfMeter(): Address | undefined
}

export function createReceivers(deps: ReceiveDeps) {
  const { ctx, transport, membership, rounds, recovery, events, selfMeter } = deps

  return {
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
      if (!rounds.inWindow(message.round)) {
        ctx.log.warn('rejected an aggregation share for a round outside the window', { round: message.round })
        return 'reject'
      }
      const state = rounds.round(message.round)
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
        rounds.notify(state)
        return 'accept'
      }
      state.shares.set(meter, { value, members: message.members })
      rounds.notify(state)
      events.emit('share', { round: message.round, meter })
      return 'accept'
    },

    /** `from`: the recover's author, the aggregator the reveal is for. */
    async receiveRecover(message: RecoverMessage, from?: string): Promise<Verdict> {
      if (message.area !== ctx.area || !rounds.inWindow(message.round)) return 'reject'
      const state = rounds.round(message.round)
      for (const m of message.missing)
        if (m !== selfMeter() || state.mine === undefined) state.declaredMissing.add(m)
      const reveal = recovery.revealFor(message.round, state, message.members, message.missing)
      if (reveal !== undefined) {
        recovery.storeReveal(state, reveal)
        await transport.send(reveal, [], from)
      }
      return 'accept'
    },

    receiveReveal(message: RevealMessage, from: string): Verdict {
      if (message.area !== ctx.area || !rounds.inWindow(message.round)) return 'reject'
      const meter = membership.meterOfPeer(from)
      if (meter === undefined || meter !== message.meter) return 'reject'
      recovery.storeReveal(rounds.round(message.round), message)
      return 'accept'
    },
  }
}
