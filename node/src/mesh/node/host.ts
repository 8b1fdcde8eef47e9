/**
 * The libp2p 3 host of a mesh node (docs/mesh.md §2): TCP + WebSockets (loopback by default), noise,
 * yamux, identify (and push), optional mDNS, and gossipsub restricted to the area's topics. Built with
 * `start: false`; the node's lifecycle starts it.
 */
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { meshTopic } from '#protocol/topics.ts'
import { gossipFastMessageId } from '../codec.ts'
import { TOPIC_KINDS } from '../context.ts'
import { type BanList, banGater } from './bans.ts'
import type { MeshNodeOptions } from './options.ts'

export type MeshServices = {
  pubsub: GossipSub
  identify: ReturnType<ReturnType<typeof identify>>
  identifyPush: ReturnType<ReturnType<typeof identifyPush>>
}
export type MeshHost = Libp2p<MeshServices>

type HostOptions = Pick<MeshNodeOptions, 'area' | 'listen' | 'mdns' | 'connectionManager' | 'gossip'>

function peerDiscovery(option: MeshNodeOptions['mdns']) {
  if (option === false || option === undefined) return []
  return [mdns(option === true ? {} : option)]
}

export function createMeshHost(
  options: HostOptions,
  privateKey: PrivateKey,
  maxMessageBytes: number,
  bans: BanList,
): Promise<MeshHost> {
  return createLibp2p({
    start: false,
    privateKey,
    // Strangers that failed admission (admission.ts) are refused at dial and after the noise handshake.
    connectionGater: banGater(bans),
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] },
    ...(options.connectionManager ? { connectionManager: options.connectionManager } : {}),
    // libp2p pings every connection every 10 s by default, on a new stream each time (and this host
    // serves no ping protocol, so each is a multistream negotiation answered "not supported"). A home
    // connected to every other home of its area (mDNS on one network; shares on direct streams need
    // connections to the masking-graph neighbours) had 49 of them at 50 homes: 245 negotiations per
    // second in a one-process 50-home mesh, most of its idle CPU, and on a starved host the pings
    // timed out and aborted connections, which were then redialled and re-admitted. Once a minute is
    // enough to notice a dead connection (gossip, shares and admission notice a broken one sooner).
    //
    // A failed ping no longer aborts the connection: on a starved host (a busy home box, the
    // one-process bench) the ping's answer is late, not lost, and every aborted connection to a
    // masking-graph neighbour sent that home's shares to the gossip fallback until the redial
    // (docs/mesh.md §13: 724 of 744 connections lost at once at 100 homes). A dead connection still
    // fails its next write, and yamux keeps its own keep-alive.
    connectionMonitor: { pingInterval: 60_000, abortConnectionOnPingFailure: false },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: peerDiscovery(options.mdns),
    services: {
      identify: identify(),
      // Protocols registered after a connection is up (the vault's bitswap, backups) reach the peers
      // only by identify push: libp2p tells a topology about a peer's protocols on identify alone, so
      // a neighbour connected before this home started bitswap never sent it a want, and every
      // backup pin it was asked for timed out (node/test/mesh/late-bitswap.test.ts).
      identifyPush: identifyPush(),
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
}
