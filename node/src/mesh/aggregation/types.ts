/** Options, results and the per-round state the aggregation modules share (docs/aggregation.md). */
import type { RecoverMessage, RevealMessage, ShareMessage } from '../codec.ts'
import type { Member } from '../membership.ts'
import type { Address, Hex } from '../signing.ts'
import type { MaskingGraph } from './graph.ts'
import type { PrivacyOptions } from './privacy/release.ts'

export type AggregationMessage = ShareMessage | RecoverMessage | RevealMessage

/**
 * How aggregation messages travel: the seam between the protocol and the network. The mesh node's
 * default publishes on the area's gossipsub `aggregate` topic, where every node (aggregators included)
 * receives every message and the audience is only a hint. A point-to-point network (the in-memory one
 * of tests and the 1000-home bench, memory-network.ts) delivers to the audience and to the aggregators.
 */
export interface AggregationTransport {
  /**
   * Sends `message` to the members in `audience` (meters) and to every aggregator. Audiences: a share
   * goes to its sender's graph neighbours (they must see it, so they never reveal masks for a member
   * whose share exists: §4), a recover to the contributors that must reveal, a reveal to nobody but
   * the aggregators. `replyTo`, on a reveal: the peer whose recover it answers (the mesh node sends it
   * there directly instead of gossiping it).
   */
  send(message: AggregationMessage, audience: readonly Address[], replyTo?: string): Promise<void>
}

export interface AggregationOptions {
  /** Smallest member set a member contributes to (and reveals for): below it the total says too much. */
  minMembers?: number
  /** Shares are accepted for rounds within this many seconds of now (rounds are interval-end unix times). */
  roundWindowS?: number
  /** Rounds kept in memory at once (oldest dropped first). */
  maxRounds?: number
  /**
   * Distributed differential privacy (docs/aggregation.md §7): each share carries the reading clamped
   * and plus discrete Gaussian noise, charged to the daily ε budget. On by default; `false` sends exact
   * readings (tests of the masking arithmetic, and the utility's own fake members in the Sybil test).
   */
  privacy?: PrivacyOptions | false
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
  /**
   * Σ of the contributors' shares in Wh: the exact sum of their readings without privacy noise, or of
   * their clamped readings plus their noise with it (then it may even be negative).
   */
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

/** What aggregation needs of the member table: the current view, and which meter a gossip author is. */
export interface AggregationMembership {
  list(): Member[]
  meterOfPeer(peerId: string): Address | undefined
}

/** This node's own share of a round: its value, the member view it was masked against and its graph. */
export interface OwnShare {
  value: bigint
  members: Hex
  view: Member[]
  graph: MaskingGraph<Member>
}

export interface RoundState {
  shares: Map<Address, { value: bigint; members: Hex }>
  equivocators: Set<Address>
  reveals: Map<Address, { members: Hex; missing: string; sum: bigint }>
  /** Who revealed, in order of arrival (a member revealing again appears again). */
  revealLog: Address[]
  declaredMissing: Set<Address>
  mine?: OwnShare
  /** This member's answer per missing set: its reveal, or undefined when it had none or refused. */
  revealed: Map<string, RevealMessage | undefined>
  waiters: Set<() => void>
}

/** Read through a call, so the compiler does not assume the field is unchanged across an await. */
export const mineOf = (state: RoundState): OwnShare | undefined => state.mine
