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
 *
 * This module is the composition: createMeshNode wires the pieces in node/, one job each (docs/mesh.md
 * §1): options.ts (options, checks, the acting signer), host.ts (the libp2p host), gossip.ts (publish,
 * validators, subscriptions), peers.ts (static and discovered peers), announcer.ts (when to announce),
 * lifecycle.ts (idempotent start/stop).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { silentLogger } from '../log/logger.ts'
import { createAggregation } from './aggregation.ts'
import { createAlerts } from './alerts.ts'
import { DEFAULT_MAX_MESSAGE_BYTES } from './codec.ts'
import type { MeshContext } from './context.ts'
import { createRateLimiter } from './events.ts'
import { x25519SharedSecret } from './masking.ts'
import { createMembership } from './membership.ts'
import { createAdmission } from './node/admission.ts'
import { createAnnouncer } from './node/announcer.ts'
import { createBanList } from './node/bans.ts'
import { createDirectAcks } from './node/direct-acks.ts'
import { createDirectRecovers } from './node/direct-recovers.ts'
import { createDirectReveals } from './node/direct-reveals.ts'
import { createDirectShares } from './node/direct-shares.ts'
import {
  createPublisher,
  createValidator,
  reportingLimit,
  subscribeTopics,
  type VerdictStats,
} from './node/gossip.ts'
import { createOutboundStreamWatch } from './node/gossip-streams.ts'
import { createMeshHost } from './node/host.ts'
import { createLifecycle } from './node/lifecycle.ts'
import { actingSigner, type MeshNodeOptions, validateOptions, x25519KeyPair } from './node/options.ts'
import { createPacer } from './node/pacing.ts'
import { createPeerDialer } from './node/peers.ts'
import { createNotices } from './notices.ts'
import { type Address, bytesToHexLower, type Hex } from './signing.ts'

export type { MeshNodeOptions } from './node/options.ts'

/** libp2p 3's default bound on an outbound stream's protocol negotiation (PROTOCOL_NEGOTIATION_TIMEOUT). */
const PROTOCOL_NEGOTIATION_MS = 10_000

export async function createMeshNode(options: MeshNodeOptions) {
  validateOptions(options)
  const signer = actingSigner(options.meter)
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const log = options.log ?? silentLogger
  const now = options.now ?? Date.now
  const x25519 = x25519KeyPair(options.x25519PrivateKey)
  const privateKey = options.privateKey ?? (await generateKeyPair('Ed25519'))
  const bans = createBanList()
  const libp2p = await createMeshHost(options, privateKey, maxMessageBytes, bans)
  const pubsub = libp2p.services.pubsub
  const peerId = libp2p.peerId.toString()
  const lifecycle = createLifecycle({ start: (markRunning) => start(markRunning), stop: () => stop() })
  const { isRunning } = lifecycle
  const rateLimit = options.rateLimit ?? { burst: 200, perSecond: 100 }
  // What this node sends stays under what its peers accept from one author (node/pacing.ts).
  const pacer = createPacer(rateLimit, now)

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
    publish: createPublisher({ pubsub, area: options.area, maxMessageBytes, isRunning, pacer }),
  }
  // A member's X25519 key is usable when it gives a proper shared secret (not of low order).
  const usableKey = (publicKey: Hex) => {
    try {
      x25519SharedSecret(x25519.privateKey, Buffer.from(publicKey.slice(2), 'hex'))
      return true
    } catch {
      return false
    }
  }
  const membership = createMembership(ctx, bytesToHexLower(x25519.publicKey), usableKey)
  // Acks go straight to the alert's sender where connected (node/direct-acks.ts); declared below.
  const alerts = createAlerts(ctx, membership, options.alerts, (ack) => directAcks.send(ack))
  const notices = createNotices(ctx)
  const stats: VerdictStats = { accepted: 0, ignored: 0, rejected: 0, limited: 0 }
  const limit = reportingLimit({
    limit: createRateLimiter(rateLimit.burst, rateLimit.perSecond, now),
    log,
    stats,
    now,
  })
  // Reveals go to the aggregator that asked, on a stream; everything else (and a reveal that cannot be
  // delivered directly) on the area's gossip topic (aggregation.md §6).
  const directReveals = createDirectReveals({
    libp2p,
    log,
    maxMessageBytes,
    limit,
    pacer,
    receive: (message, from) => aggregation.receiveReveal(message, from),
    timeoutMs: 5000,
  })
  // Shares go directly to the masking-graph neighbours and the aggregators when this home is connected
  // to every neighbour; otherwise (and if a write fails) on the gossip topic (node/direct-shares.ts,
  // aggregation.md §6).
  const directShares = createDirectShares({
    libp2p,
    log,
    maxMessageBytes,
    limit,
    pacer,
    receive: (message, from) => aggregation.receiveShare(message, from),
    admitted: (peer) => admission.admitted(peer),
    peerOfMeter: (meter) => membership.get(meter)?.peerId,
    observers: () => admission.observers(),
    collector: options.collector === true,
    timeoutMs: 5000,
  })
  const directAcks = createDirectAcks({
    libp2p,
    log,
    maxMessageBytes,
    limit,
    pacer,
    receive: (message) => alerts.receiveAck(message),
    self: () => signer?.address.toLowerCase() as Address | undefined,
    admitted: (peer) => admission.admitted(peer),
    peerOfMeter: (meter) => membership.get(meter)?.peerId,
    timeoutMs: 5000,
  })
  // A recover goes to its audience (the revealers and the missing) directly when this node is
  // connected to each of them; otherwise on the gossip topic (node/direct-recovers.ts).
  const directRecovers = createDirectRecovers({
    libp2p,
    log,
    maxMessageBytes,
    limit,
    pacer,
    receive: (message, from) => aggregation.receiveRecover(message, from),
    admitted: (peer) => admission.admitted(peer),
    peerOfMeter: (meter) => membership.get(meter)?.peerId,
    timeoutMs: 5000,
  })
  const aggregation = createAggregation(ctx, membership, x25519.privateKey, options.aggregation, {
    async send(message, audience, replyTo) {
      if (message.type === 'reveal' && replyTo !== undefined && replyTo !== peerId) {
        if (await directReveals.send(replyTo, message)) return
      }
      if (message.type === 'share' && isRunning() && (await directShares.send(message, audience))) return
      if (message.type === 'recover' && isRunning() && (await directRecovers.send(message, audience))) return
      await ctx.publish('aggregate', message)
    },
  })
  const validate = createValidator({
    services: { membership, alerts, notices, aggregation },
    log,
    maxMessageBytes,
    limit,
    stats,
  })
  const peers = createPeerDialer({
    libp2p,
    peers: options.peers ?? [],
    redialIntervalMs: options.redialIntervalMs ?? 5000,
    log,
    isRunning,
  })
  const graceMs = options.admission?.graceMs ?? 5000
  const admission = createAdmission({
    libp2p,
    ctx,
    membership,
    bans,
    ...(options.admission?.utilitySigner ? { utilitySigner: options.admission.utilitySigner } : {}),
    graceMs,
    banMs: options.admission?.banMs ?? 30_000,
    isRunning,
  })
  admission.install()
  // gossipsub opens its outbound stream to a peer once per connection and never again; the watch
  // re-opens one that has been missing longer than gossipsub's own attempt can last: the admission wait
  // (graceMs) plus libp2p's protocol negotiation timeout (10 s), twice over (node/gossip-streams.ts).
  const streamWatch = createOutboundStreamWatch({
    libp2p,
    log,
    admitted: (peer) => admission.admitted(peer),
    reopenAfterMs: options.gossipReopenMs ?? Math.max(30_000, 2 * (graceMs + PROTOCOL_NEGOTIATION_MS)),
    now,
  })
  const announcer = createAnnouncer({
    pubsub,
    area: options.area,
    membership,
    announceIntervalMs: options.announceIntervalMs ?? 10_000,
    isRunning,
  })

  async function start(markRunning: () => void) {
    // The admission protocol is served from the first connection on.
    await admission.start()
    await directReveals.install()
    await directRecovers.install()
    await directAcks.install()
    await directShares.install()
    await libp2p.start()
    subscribeTopics(pubsub, options.area, validate)
    peers.listen()
    announcer.listen()
    directShares.listen(options.redialIntervalMs ?? 5000)
    streamWatch.start()
    markRunning()
    await peers.dialStatic()
    await announcer.announce()
    peers.keepRedialling()
  }

  async function stop() {
    pacer.stop()
    streamWatch.stop()
    directShares.stop()
    directReveals.stop()
    directRecovers.stop()
    directAcks.stop()
    admission.stop()
    peers.stop()
    announcer.stop()
    alerts.stop()
    notices.stop()
    aggregation.stop()
    membership.clear()
    await libp2p.stop()
  }

  return {
    libp2p,
    peerId,
    area: options.area,
    /** The meter this node speaks for (whichever key signs for it); undefined for an observer. */
    meter: signer?.address,
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
      /** The privacy noise's calibration and the ε spent per day; undefined with `privacy: false`. */
      privacy: aggregation.privacy,
    },
    /** Whether a peer is admitted (a member, this node, or the utility's observer): docs/mesh.md §5a. */
    admitted: admission.admitted,
    /** Counts of validator verdicts since start (for tests, benches and health pages). */
    stats,
    /** Gossip streams the node re-opened after they went missing on a live connection (node/gossip-streams.ts). */
    gossipStreamStats: streamWatch.stats,
    /** Shares that came in on direct streams, and streams closed for a bad one (node/direct-shares.ts). */
    directShareStats: directShares.stats,
    /** Peers that asked this node for its shares (collectors, node/direct-shares.ts). */
    shareCollectors: directShares.collectors,
    get running() {
      return isRunning()
    },
    multiaddrs: (): string[] => libp2p.getMultiaddrs().map((ma) => ma.toString()),
    async dial(addr: string): Promise<void> {
      await libp2p.dial(multiaddr(addr))
    },
    /** Re-sends this node's announcement now (it is also sent periodically and when peers join). */
    announce: () => membership.announce(),
    start: lifecycle.start,
    stop: lifecycle.stop,
  }
}

export type MeshNode = Awaited<ReturnType<typeof createMeshNode>>
