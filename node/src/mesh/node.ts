/**
 * The neighbourhood mesh node (docs/mesh.md): one libp2p 3 host (TCP + WebSockets on loopback by
 * default, noise, yamux, identify, optional mDNS, a static peer list) running gossipsub with
 * one topic per area and purpose, and the four services on top: membership, safety alerts, utility
 * notices and private aggregation. The libp2p instance is exposed so the household node can share it
 * with Helia (one identity, one set of connections).
 *
 * Every incoming message goes through a gossipsub topic validator: per-author rate limit, size cap,
 * strict parse, then the owning service's checks. Only accepted messages are forwarded, so malformed,
 * forged or replayed messages die at the first honest hop; nothing a peer sends can throw out of here.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { type GossipSub, gossipsub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { meshTopic } from '#protocol/topics.ts'
import { type AggregationOptions, createAggregation } from './aggregation.ts'
import { type AlertRetryOptions, createAlerts } from './alerts.ts'
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeMeshMessage,
  gossipFastMessageId,
  MAX_AREA,
  type MeshMessage,
  parseMeshMessage,
} from './codec.ts'
import {
  consoleLogger,
  type MeshContext,
  type MeshLogger,
  TOPIC_KINDS,
  type TopicKind,
  type Verdict,
} from './context.ts'
import { InvalidMeshMessageError, MeshNotRunningError } from './errors.ts'
import { createRateLimiter } from './events.ts'
import { generateX25519KeyPair, x25519PublicKeyOf, x25519SharedSecret } from './masking.ts'
import { createMembership } from './membership.ts'
import { createNotices } from './notices.ts'
import type { MeterRegistry } from './registry.ts'
import { type Address, bytesToHexLower, type MeshIdentity, type MeterSigner } from './signing.ts'

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
   * be raised when many nodes share one IP, as on loopback in tests and benches.
   */
  connectionManager?: {
    maxConnections?: number
    inboundConnectionThreshold?: number
    maxIncomingPendingConnections?: number
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
  redialIntervalMs?: number
  /** Tolerated clock skew for timestamps from other nodes. */
  skewS?: number
  alerts?: AlertRetryOptions
  aggregation?: AggregationOptions
  logger?: MeshLogger
  now?: () => number
}

type Services = { pubsub: GossipSub; identify: ReturnType<ReturnType<typeof identify>> }

function validateOptions(options: MeshNodeOptions) {
  if (!Number.isInteger(options.area) || options.area < 0 || options.area > MAX_AREA) {
    throw new InvalidMeshMessageError(`area must be the ledger's uint32 areaId, got ${options.area}`)
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(options.utility)) {
    throw new InvalidMeshMessageError('utility must be the 0x address of the utility key (the ledger owner)')
  }
  if (options.x25519PrivateKey !== undefined && options.x25519PrivateKey.length !== 32) {
    throw new InvalidMeshMessageError('x25519PrivateKey must be 32 bytes')
  }
}

/**
 * The signer the services use: its `address` is the meter this node speaks for, whichever key signs
 * (context.ts `signer`). A plain `MeterSigner` is the meter's own key.
 */
function actingSigner(meter: MeterSigner | MeshIdentity | undefined): MeterSigner | undefined {
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

export async function createMeshNode(options: MeshNodeOptions) {
  validateOptions(options)
  const signer = actingSigner(options.meter)
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const log = options.logger ?? consoleLogger
  const now = options.now ?? Date.now
  const x25519 =
    options.x25519PrivateKey === undefined
      ? generateX25519KeyPair()
      : { privateKey: options.x25519PrivateKey, publicKey: x25519PublicKeyOf(options.x25519PrivateKey) }
  const privateKey = options.privateKey ?? (await generateKeyPair('Ed25519'))
  const mdnsInit =
    options.mdns === true
      ? {}
      : options.mdns === false || options.mdns === undefined
        ? undefined
        : options.mdns
  const peerDiscovery = mdnsInit === undefined ? [] : [mdns(mdnsInit)]

  const libp2p: Libp2p<Services> = await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] },
    ...(options.connectionManager ? { connectionManager: options.connectionManager } : {}),
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // One RPC may batch several messages; ours are capped individually in the validator.
        maxInboundDataLength: Math.max(4 * maxMessageBytes, 256 * 1024),
        allowedTopics: TOPIC_KINDS.map((k) => meshTopic(options.area, k)),
        ignoreDuplicatePublishError: true,
        // Drop duplicate copies before gossipsub re-verifies their signature (codec.ts explains why it is safe).
        fastMsgIdFn: gossipFastMessageId,
        // No IDONTWANT: gossipsub sends one to every mesh peer on first receipt of a message ≥ 512 bytes
        // (reveals are ~600 B–8 KiB). Built for large blocks; for ours the control message costs each
        // peer a frame and a write, as much as the duplicate it may prevent: 16 % of a 50-home round's CPU.
        idontwantMinDataSize: Number.MAX_SAFE_INTEGER,
        // No IP-colocation penalty: it guards open networks against Sybils by source IP, but our members
        // are authenticated by the ledger registry, and homes behind one NAT (or nodes on one host, as in
        // tests) would be graylisted by each other: with libp2p's default, more than 14 peers on one IP
        // score below the graylist threshold and are silently ignored (seen at 100 nodes on loopback).
        scoreParams: { IPColocationFactorWeight: 0 },
        ...options.gossip,
      }),
    },
  })
  const pubsub = libp2p.services.pubsub
  const peerId = libp2p.peerId.toString()

  let running = false
  const ctx: MeshContext = {
    area: options.area,
    domain: options.domain,
    signer,
    utility: options.utility.toLowerCase() as Address,
    registry: options.registry,
    peerId,
    log,
    now,
    skewS: options.skewS ?? 30,
    async publish(kind: TopicKind, message: MeshMessage) {
      if (!running) throw new MeshNotRunningError('the mesh node is not started: call start() first')
      const bytes = encodeMeshMessage(message)
      if (bytes.byteLength > maxMessageBytes) {
        throw new InvalidMeshMessageError(
          `a ${message.type} message of ${bytes.byteLength} bytes exceeds the ${maxMessageBytes}-byte cap`,
        )
      }
      await pubsub.publish(meshTopic(options.area, kind), bytes)
    },
  }

  const membership = createMembership(ctx, bytesToHexLower(x25519.publicKey), (publicKey) => {
    try {
      x25519SharedSecret(x25519.privateKey, Buffer.from(publicKey.slice(2), 'hex'))
      return true
    } catch {
      return false
    }
  })
  const alerts = createAlerts(ctx, membership, options.alerts)
  const notices = createNotices(ctx)
  const aggregation = createAggregation(ctx, membership, x25519.privateKey, options.aggregation)
  const limit = createRateLimiter(options.rateLimit?.burst ?? 200, options.rateLimit?.perSecond ?? 100, now)
  const stats = { accepted: 0, ignored: 0, rejected: 0 }

  async function route(kind: TopicKind, message: MeshMessage, from: string): Promise<Verdict> {
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
        return kind === 'aggregate' ? aggregation.receiveRecover(message) : 'reject'
      case 'reveal':
        return kind === 'aggregate' ? aggregation.receiveReveal(message, from) : 'reject'
    }
  }

  async function validate(kind: TopicKind, message: Message): Promise<TopicValidatorResult> {
    // Our topics are StrictSign: the author is authenticated by gossipsub; unsigned ones never reach here.
    if (message.type !== 'signed') return TopicValidatorResult.Reject
    const from = message.from.toString()
    let verdict: Verdict
    if (!limit(from)) {
      verdict = 'ignore'
    } else {
      try {
        verdict = await route(kind, parseMeshMessage(message.data, maxMessageBytes), from)
      } catch (error) {
        if (!(error instanceof InvalidMeshMessageError))
          log.warn('a mesh handler failed', { error: String(error) })
        else log.warn('rejected a malformed mesh message', { peer: from, error: error.message })
        verdict = 'reject'
      }
    }
    if (verdict === 'accept') stats.accepted++
    else if (verdict === 'ignore') stats.ignored++
    else stats.rejected++
    return verdict === 'accept'
      ? TopicValidatorResult.Accept
      : verdict === 'ignore'
        ? TopicValidatorResult.Ignore
        : TopicValidatorResult.Reject
  }

  const onDiscovery = (event: CustomEvent<{ id: PeerId }>) => {
    if (!running) return
    libp2p.dial(event.detail.id).catch(() => undefined)
  }
  // A peer joining a topic triggers our announcement, so newcomers learn members without waiting a period.
  let announceSoon: ReturnType<typeof setTimeout> | undefined
  const onSubscription = () => {
    if (!running || announceSoon !== undefined) return
    announceSoon = setTimeout(() => {
      announceSoon = undefined
      if (running) membership.announce().catch(() => undefined)
    }, 50)
  }
  let announceTimer: ReturnType<typeof setInterval> | undefined
  let redialTimer: ReturnType<typeof setInterval> | undefined

  async function dialStatic() {
    await Promise.all(
      (options.peers ?? []).map(async (addr) => {
        try {
          const ma = multiaddr(addr)
          const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
          if (id !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === id)) return
          await libp2p.dial(ma)
        } catch (error) {
          log.warn('could not dial a static peer', { addr, error: String(error) })
        }
      }),
    )
  }

  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const node = {
    libp2p,
    peerId,
    area: options.area,
    /** The meter this node speaks for (whichever key signs for it); undefined for an observer. */
    meter: signer?.address as Address | undefined,
    x25519PublicKey: bytesToHexLower(x25519.publicKey),
    members: {
      list: membership.list,
      get: membership.get,
      meterOfPeer: membership.meterOfPeer,
      on: membership.on,
    },
    alerts: { on: alerts.on, raise: alerts.raise },
    notices: { on: notices.on, publish: notices.publish },
    aggregation: {
      contribute: aggregation.contribute,
      collect: aggregation.collect,
      /** 'share': a member's share for a round arrived (round and meter only), e.g. for an observer. */
      on: aggregation.on,
    },
    /** Counts of validator verdicts since start (for tests, benches and health pages). */
    stats,
    get running() {
      return running
    },
    multiaddrs: (): string[] => libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async dial(addr: string): Promise<void> {
      await libp2p.dial(multiaddr(addr))
    },
    /** Re-sends this node's announcement now (it is also sent periodically and when peers join). */
    announce: () => membership.announce(),
    async start(): Promise<void> {
      if (running) return
      if (starting !== undefined) return starting
      starting = (async () => {
        if (stopping !== undefined) await stopping
        await libp2p.start()
        for (const kind of TOPIC_KINDS) {
          const topic = meshTopic(options.area, kind)
          pubsub.topicValidators.set(topic, (_peer, message) => validate(kind, message))
          pubsub.subscribe(topic)
        }
        libp2p.addEventListener('peer:discovery', onDiscovery)
        pubsub.addEventListener('subscription-change', onSubscription)
        running = true
        await dialStatic()
        await membership.announce()
        announceTimer = setInterval(
          () => membership.announce().catch(() => undefined),
          options.announceIntervalMs ?? 10_000,
        )
        redialTimer = setInterval(() => void dialStatic(), options.redialIntervalMs ?? 5000)
      })()
      try {
        await starting
      } finally {
        starting = undefined
      }
    },
    async stop(): Promise<void> {
      if (starting !== undefined) await starting.catch(() => undefined)
      if (!running) return stopping
      running = false
      stopping = (async () => {
        clearInterval(announceTimer)
        clearInterval(redialTimer)
        clearTimeout(announceSoon)
        announceSoon = undefined
        alerts.stop()
        notices.stop()
        aggregation.stop()
        membership.clear()
        libp2p.removeEventListener('peer:discovery', onDiscovery)
        pubsub.removeEventListener('subscription-change', onSubscription)
        await libp2p.stop()
      })()
      await stopping
    },
  }
  return node
}

export type MeshNode = Awaited<ReturnType<typeof createMeshNode>>
