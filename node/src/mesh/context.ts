/** What every mesh service (membership, alerts, notices, aggregation) shares: identity, clock, log, publish. */
import type { Eip712Domain } from '#protocol/eip712.ts'
import { MESH_TOPIC_KINDS, type MeshTopicKind } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import type { MeshMessage } from './codec.ts'
import type { MeterRegistry } from './registry.ts'
import type { Address, MeterSigner } from './signing.ts'

/** The purposes the mesh has a topic for; the topic strings themselves come from protocol/topics.ts. */
export type TopicKind = MeshTopicKind
export const TOPIC_KINDS: readonly TopicKind[] = MESH_TOPIC_KINDS

/** The verdict a service gives an incoming message; maps to gossipsub's accept / ignore / reject. */
export type Verdict = 'accept' | 'ignore' | 'reject'

export interface MeshContext {
  area: number
  domain: Eip712Domain
  /**
   * Signs for this node's meter: `address` is the meter (the member this node is on the mesh), the
   * key behind `signDigest` is the meter's own or the household account registered for it (node.ts
   * builds it from a `MeshIdentity`). Absent for an observer (e.g. the utility console): it listens
   * and aggregates, never contributes.
   */
  signer: MeterSigner | undefined
  utility: Address
  registry: MeterRegistry
  peerId: string
  /** Where the services report what they refused, so an operator can see attacks and misconfiguration. */
  log: Logger
  /** Unix milliseconds. */
  now(): number
  /** Maximum tolerated clock skew for timestamps from other nodes, seconds. */
  skewS: number
  publish(kind: TopicKind, message: MeshMessage): Promise<void>
}

export const nowS = (ctx: Pick<MeshContext, 'now'>): number => Math.floor(ctx.now() / 1000)
