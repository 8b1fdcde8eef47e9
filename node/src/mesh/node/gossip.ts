/**
 * The gossipsub side of the node's messages. Outgoing: encode, enforce the size cap, publish on the
 * area's topic (only while running). Incoming: every message goes through a topic validator —
 * per-author rate limit, size cap, strict parse, then the owning service's checks — so only accepted
 * messages are forwarded: malformed, forged or replayed messages die at the first honest hop, and
 * nothing a peer sends can throw out of here.
 */
import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { meshTopic } from '#protocol/topics.ts'
import type { Logger } from '../../log/logger.ts'
import type { AggregationService } from '../aggregation.ts'
import type { AlertsService } from '../alerts.ts'
import { encodeMeshMessage, type MeshMessage, parseMeshMessage } from '../codec.ts'
import { TOPIC_KINDS, type TopicKind, type Verdict } from '../context.ts'
import { InvalidMeshMessageError, MeshNotRunningError } from '../errors.ts'
import type { MembershipService } from '../membership.ts'
import type { NoticesService } from '../notices.ts'
import type { Pacer } from './pacing.ts'

/** The services that own the incoming message types: the validator hands each message to one of them. */
export interface MessageOwners {
  membership: Pick<MembershipService, 'receive'>
  alerts: Pick<AlertsService, 'receiveAlert' | 'receiveAck'>
  notices: Pick<NoticesService, 'receive'>
  aggregation: Pick<AggregationService, 'receiveShare' | 'receiveRecover' | 'receiveReveal'>
}

/** Counts of validator verdicts since start (for tests, benches and health pages). */
export interface VerdictStats {
  accepted: number
  /** Includes `limited`. */
  ignored: number
  rejected: number
  /** Ignored because their author was over the per-author rate limit (also counted in `ignored`). */
  limited: number
}

export function createPublisher(deps: {
  pubsub: GossipSub
  area: number
  maxMessageBytes: number
  isRunning(): boolean
  /** This node's own send budget, under what its peers accept from one author (pacing.ts). */
  pacer: Pick<Pacer, 'take'>
}) {
  const notRunning = () => new MeshNotRunningError('the mesh node is not started: call start() first')
  return async function publish(kind: TopicKind, message: MeshMessage): Promise<void> {
    if (!deps.isRunning()) throw notRunning()
    const bytes = encodeMeshMessage(message)
    if (bytes.byteLength > deps.maxMessageBytes) {
      throw new InvalidMeshMessageError(
        `a ${message.type} message of ${bytes.byteLength} bytes exceeds the ${deps.maxMessageBytes}-byte cap`,
      )
    }
    // Over the peers' per-author limit a message would be ignored by every one of them: wait instead.
    // Safety alerts and acks go ahead of shares and announcements already waiting.
    await deps.pacer.take(kind === 'alerts')
    if (!deps.isRunning()) throw notRunning()
    await deps.pubsub.publish(meshTopic(deps.area, kind), bytes)
  }
}

/**
 * The receiver's per-author limit, reporting what it drops: an ignored message is lost for good (a
 * share then makes its home missing), so the operator must see it. One warning per author per
 * `reportEveryMs`, so a flood cannot flood the log.
 */
export function reportingLimit(deps: {
  limit(from: string): boolean
  log: Logger
  stats: Pick<VerdictStats, 'limited'>
  now(): number
  reportEveryMs?: number
}) {
  const every = deps.reportEveryMs ?? 10_000
  const reported = new Map<string, { at: number; dropped: number }>()
  return (from: string): boolean => {
    if (deps.limit(from)) return true
    deps.stats.limited++
    const t = deps.now()
    const last = reported.get(from)
    if (last !== undefined && t - last.at < every) {
      last.dropped++
      return false
    }
    if (reported.size >= 10_000) reported.clear()
    reported.set(from, { at: t, dropped: 0 })
    deps.log.warn('ignored messages from a peer over the per-author rate limit', {
      peer: from,
      droppedSinceLastReport: (last?.dropped ?? 0) + 1,
    })
    return false
  }
}

/** Hands a parsed message to the service that owns its type, if it came on that service's topic. */
async function route(
  services: MessageOwners,
  kind: TopicKind,
  message: MeshMessage,
  from: string,
): Promise<Verdict> {
  const { membership, alerts, notices, aggregation } = services
  switch (message.type) {
    case 'announce':
      return kind === 'members' ? membership.receive(message, from) : 'reject'
    case 'alert':
      return kind === 'alerts' ? alerts.receiveAlert(message) : 'reject'
    case 'ack':
      return kind === 'alerts' ? alerts.receiveAck(message) : 'reject'
    case 'notice':
      return kind === 'notices' ? notices.receive(message) : 'reject'
    case 'share':
      return kind === 'aggregate' ? aggregation.receiveShare(message, from) : 'reject'
    case 'recover':
      return kind === 'aggregate' ? aggregation.receiveRecover(message, from) : 'reject'
    case 'reveal':
      return kind === 'aggregate' ? aggregation.receiveReveal(message, from) : 'reject'
  }
}

const RESULT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}
const STAT: Record<Verdict, keyof VerdictStats> = {
  accept: 'accepted',
  ignore: 'ignored',
  reject: 'rejected',
}

export function createValidator(deps: {
  services: MessageOwners
  log: Logger
  maxMessageBytes: number
  /** Per-author rate limit: false when this author is over its budget. */
  limit(from: string): boolean
  stats: VerdictStats
}) {
  const { services, log, maxMessageBytes, limit, stats } = deps
  return async function validate(kind: TopicKind, message: Message): Promise<TopicValidatorResult> {
    // Our topics are StrictSign: the author is authenticated by gossipsub; unsigned ones never reach here.
    if (message.type !== 'signed') return TopicValidatorResult.Reject
    const from = message.from.toString()
    let verdict: Verdict
    if (!limit(from)) {
      verdict = 'ignore'
    } else {
      try {
        verdict = await route(services, kind, parseMeshMessage(message.data, maxMessageBytes), from)
      } catch (error) {
        if (!(error instanceof InvalidMeshMessageError)) log.warn('a mesh handler failed', { error })
        else log.warn('rejected a malformed mesh message', { peer: from, error })
        verdict = 'reject'
      }
    }
    stats[STAT[verdict]]++
    return RESULT[verdict]
  }
}

/** Installs the validator on each of the area's topics and subscribes to them. */
export function subscribeTopics(
  pubsub: GossipSub,
  area: number,
  validate: (kind: TopicKind, message: Message) => Promise<TopicValidatorResult>,
) {
  for (const kind of TOPIC_KINDS) {
    const topic = meshTopic(area, kind)
    pubsub.topicValidators.set(topic, (_peer, message) => validate(kind, message))
    pubsub.subscribe(topic)
  }
}
