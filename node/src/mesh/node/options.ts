/**
 * What a mesh node is told (`MeshNodeOptions`) and the checks that run before anything is built: the
 * area, the utility key, the X25519 key, and who this node speaks for (`actingSigner`).
 */
import type { PrivateKey } from '@libp2p/interface'
import type { Eip712Domain } from '#protocol/eip712.ts'
import type { Logger } from '../../log/logger.ts'
import type { AggregationOptions } from '../aggregation.ts'
import type { AlertRetryOptions } from '../alerts.ts'
import { MAX_AREA } from '../codec.ts'
import { InvalidMeshMessageError } from '../errors.ts'
import { generateX25519KeyPair, type X25519KeyPair, x25519PublicKeyOf } from '../masking.ts'
import type { MeterRegistry } from '../registry.ts'
import type { Address, MeshIdentity, MeterSigner } from '../signing.ts'

export interface MeshNodeOptions {
  /** The ledger's areaId of this home (uint32). */
  area: number
  /** Binds every signature to one deployment: the ledger's chain id and address. */
  domain: Eip712Domain
  /** The utility's address (the ledger owner): the only valid signer of notices. */
  utility: Address
  registry: MeterRegistry
  /**
   * Who this node speaks for, and the key that signs its announcements, alerts and acks: the meter's
   * own key (a `MeterSigner` whose address is the meter), or `{ meter, signer }` with the household
   * account the ledger registers for that meter (a hardware meter keeps its key: docs/mesh.md §3).
   * Omit for an observer node (utility console).
   */
  meter?: MeterSigner | MeshIdentity
  /** libp2p identity; a fresh Ed25519 key if omitted (persist it to keep the same peer id across restarts). */
  privateKey?: PrivateKey
  /** X25519 private key for pairwise masks (32 bytes); fresh if omitted. */
  x25519PrivateKey?: Uint8Array
  /** Listen multiaddrs; default TCP and WebSockets on 127.0.0.1, port 0. */
  listen?: string[]
  /** Multiaddrs (with /p2p/<id>) dialled at start and re-dialled while disconnected. */
  peers?: string[]
  /** Discover peers on the LAN with mDNS (off by default: a node binds loopback unless told otherwise). */
  mdns?: boolean | { interval?: number; serviceTag?: string }
  /**
   * libp2p connection limits. `inboundConnectionThreshold` (libp2p default 5 per second per host) must
   * be raised when many nodes share one IP, as on loopback in tests and benches. `dialTimeout`,
   * `addressDialTimeout` and `inboundUpgradeTimeout` (libp2p defaults 10 s, 6 s, 10 s) bound a
   * connection's TCP + noise + yamux set-up: a host starved of CPU (many nodes in one process on a
   * loaded machine) needs longer.
   */
  connectionManager?: {
    maxConnections?: number
    inboundConnectionThreshold?: number
    maxIncomingPendingConnections?: number
    dialTimeout?: number
    addressDialTimeout?: number
    inboundUpgradeTimeout?: number
  }
  /**
   * Gossipsub mesh degree (D, bounds Dlo/Dhi, gossip fan-out Dlazy). Lower D sends fewer duplicate
   * copies of every message (cheaper per home) at the price of less redundancy; defaults are libp2p's 6/4/12/6.
   */
  gossip?: { D?: number; Dlo?: number; Dhi?: number; Dlazy?: number }
  maxMessageBytes?: number
  /** Messages per second (and burst) accepted from one author before the rest are ignored. */
  rateLimit?: { perSecond: number; burst: number }
  announceIntervalMs?: number
  /**
   * How long gossipsub's outbound stream to a connected, admitted peer may be missing before the node
   * re-opens it (node/gossip-streams.ts). Default: twice the longest gossipsub's own attempt can take
   * (admission graceMs + libp2p's 10 s protocol negotiation), at least 30 s. Shorter values stay safe
   * (re-opens go through gossipsub's one-at-a-time queue), they just try sooner.
   */
  gossipReopenMs?: number
  redialIntervalMs?: number
  /** Tolerated clock skew for timestamps from other nodes. */
  skewS?: number
  alerts?: AlertRetryOptions
  aggregation?: AggregationOptions
  /**
   * This node collects aggregation rounds (`aggregation.collect`): it asks every member it is connected
   * to for its shares on a standing `/zkmeter/agg-collect/2.0.0` stream (node/direct-shares.ts). Needed
   * by an aggregating member of an area above 49 homes, where it is not every home's masking-graph
   * neighbour; the utility's ticket observers get shares without it. Default false.
   */
  collector?: boolean
  /**
   * Members only (docs/mesh.md §5a): a peer is admitted beyond the handshake once it presents a
   * membership announcement (or, for the utility's observer, a ticket signed by `utilitySigner`);
   * strangers are disconnected after `graceMs` (default 5 s) and refused for `banMs` (default 30 s).
   */
  admission?: { utilitySigner?: MeterSigner; graceMs?: number; banMs?: number }
  /** Where the node reports what it refused (default: silent). */
  log?: Logger
  now?: () => number
}

export function validateOptions(options: MeshNodeOptions) {
  if (!Number.isInteger(options.area) || options.area < 0 || options.area > MAX_AREA) {
    throw new InvalidMeshMessageError(`area must be the ledger's uint32 areaId, got ${options.area}`)
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(options.utility)) {
    throw new InvalidMeshMessageError('utility must be the 0x address of the utility key (the ledger owner)')
  }
  if (options.x25519PrivateKey !== undefined && options.x25519PrivateKey.length !== 32) {
    throw new InvalidMeshMessageError('x25519PrivateKey must be 32 bytes')
  }
  const reopen = options.gossipReopenMs
  if (reopen !== undefined && !(Number.isFinite(reopen) && reopen > 0)) {
    throw new InvalidMeshMessageError(
      `gossipReopenMs must be a positive number of milliseconds, got ${reopen}`,
    )
  }
  const limit = options.rateLimit
  if (limit !== undefined && !(limit.burst >= 2 && limit.perSecond > 0)) {
    throw new InvalidMeshMessageError(
      `rateLimit needs burst ≥ 2 and perSecond > 0 (a node sends at most half the burst at once), got ${JSON.stringify(limit)}`,
    )
  }
}

/** The node's X25519 key pair for pairwise masks: the given private key's, or a fresh one. */
export function x25519KeyPair(privateKey: Uint8Array | undefined): X25519KeyPair {
  return privateKey === undefined
    ? generateX25519KeyPair()
    : { privateKey, publicKey: x25519PublicKeyOf(privateKey) }
}

/**
 * The signer the services use: its `address` is the meter this node speaks for, whichever key signs
 * (context.ts `signer`). A plain `MeterSigner` is the meter's own key.
 */
export function actingSigner(meter: MeterSigner | MeshIdentity | undefined): MeterSigner | undefined {
  if (meter === undefined) return undefined
  const identity = 'signer' in meter ? meter : { meter: meter.address, signer: meter }
  if (typeof identity.meter !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(identity.meter)) {
    throw new InvalidMeshMessageError('meter must be the 0x address of the meter this node speaks for')
  }
  const { signer } = identity
  if (typeof signer?.signDigest !== 'function' || !/^0x[0-9a-fA-F]{40}$/.test(signer.address)) {
    throw new InvalidMeshMessageError('the mesh signer must have a 0x address and a signDigest function')
  }
  return {
    address: identity.meter.toLowerCase() as Address,
    signDigest: (digest) => signer.signDigest(digest),
  }
}
