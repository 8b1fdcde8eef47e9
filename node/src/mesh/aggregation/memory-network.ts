/**
 * A point-to-point network in memory for the aggregation protocol (docs/aggregation.md §6): the real
 * protocol code, crypto and wire format (every message is encoded, and parsed by the strict codec at
 * each recipient), with delivery between services of one process instead of gossipsub. Used by the
 * tests of areas of hundreds of homes and by the 1000-home figures of `npm run bench:mesh`, where a
 * libp2p host per home would measure the machine rather than the protocol.
 *
 * It delivers each message to the audience the protocol names (AggregationTransport) and to every
 * aggregator, asynchronously and in order, and accounts per node: bytes sent (message bytes × number of
 * recipients, as point-to-point links would carry them) and main-thread CPU spent in its handlers.
 */
import { silentLogger } from '../../log/logger.ts'
import { createAggregation } from '../aggregation.ts'
import { encodeMeshMessage, parseMeshMessage } from '../codec.ts'
import type { MeshContext } from '../context.ts'
import type { Member } from '../membership.ts'
import type { Address, MeterSigner } from '../signing.ts'
import type { AggregationMessage, AggregationOptions, AggregationTransport } from './types.ts'

type Service = ReturnType<typeof createAggregation>

export interface MemoryNode {
  peerId: string
  /** Undefined for an aggregator that speaks for no meter (the utility's observer). */
  meter: Address | undefined
  aggregation: Service
}

/** What a test may watch: every message as it is delivered (a coalition's or an eavesdropper's view). */
export type Tap = (delivery: { from: string; to: string; message: AggregationMessage }) => void

const cpuMs = () => {
  // Main-thread CPU where the runtime has it (Node ≥ 23.9), else the process's.
  const usage = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

export function createMemoryNetwork(options: { area: number; now?: () => number }) {
  const area = options.area
  const now = options.now ?? Date.now
  const nodes = new Map<string, MemoryNode>()
  const peerOfMeter = new Map<Address, string>()
  const aggregators = new Set<string>()
  const members: Member[] = []
  const queue: { from: string; to: string; bytes: Uint8Array }[] = []
  const bytesSent = new Map<string, number>()
  const cpu = new Map<string, number>()
  const taps = new Set<Tap>()
  const idleWaiters: (() => void)[] = []
  let pumping = false

  const membership = {
    list: () => members,
    meterOfPeer: (peerId: string) => nodes.get(peerId)?.meter,
  }

  /** Every ms charged so far: `as` subtracts what was charged to others while its work ran. */
  let charged = 0
  function charge(peerId: string, ms: number) {
    cpu.set(peerId, (cpu.get(peerId) ?? 0) + ms)
    charged += ms
  }

  function deliver(to: MemoryNode, from: string, bytes: Uint8Array) {
    const started = cpuMs()
    const message = parseMeshMessage(bytes) as AggregationMessage
    for (const tap of taps) tap({ from, to: to.peerId, message })
    let pending: Promise<unknown> | undefined
    if (message.type === 'share') to.aggregation.receiveShare(message, from)
    else if (message.type === 'reveal') to.aggregation.receiveReveal(message, from)
    else pending = to.aggregation.receiveRecover(message, from)
    charge(to.peerId, cpuMs() - started)
    // A recover's answer is sent synchronously inside the handler; only its settling is awaited here.
    return pending
  }

  async function pump() {
    if (pumping) return
    pumping = true
    try {
      for (let delivered = 1; queue.length > 0; delivered++) {
        const { from, to, bytes } = queue.shift() as (typeof queue)[number]
        const node = nodes.get(to)
        if (node !== undefined) await deliver(node, from, bytes)
        // Let timers and the aggregator's continuations run between deliveries, as a network would.
        if (delivered % 256 === 0) await new Promise((r) => setImmediate(r))
      }
    } finally {
      pumping = false
      for (const wake of idleWaiters.splice(0)) wake()
    }
  }

  function transportFor(peerId: string): AggregationTransport {
    return {
      async send(message, audience) {
        const bytes = encodeMeshMessage(message)
        const to = new Set<string>()
        for (const a of aggregators) if (a !== peerId) to.add(a)
        for (const meter of audience) {
          const peer = peerOfMeter.get(meter)
          if (peer !== undefined && peer !== peerId) to.add(peer)
        }
        bytesSent.set(peerId, (bytesSent.get(peerId) ?? 0) + bytes.byteLength * to.size)
        for (const target of to) queue.push({ from: peerId, to: target, bytes })
        setImmediate(() => void pump())
      },
    }
  }

  function contextFor(peerId: string, signer: MeterSigner | undefined): MeshContext {
    return {
      area,
      domain: { chainId: 0n, verifyingContract: '0x0000000000000000000000000000000000000000' },
      signer,
      utility: '0x0000000000000000000000000000000000000000',
      registry: { isMember: async () => true },
      peerId,
      log: silentLogger,
      now,
      skewS: 30,
      publish: async () => {
        throw new Error('the in-memory network carries aggregation messages only')
      },
    }
  }

  return {
    /**
     * Adds a member (meter with its X25519 key) or, with `meter` undefined, an aggregator that receives
     * every message. Members are kept sorted by meter, as the member table lists them.
     */
    add(
      peerId: string,
      member: { meter: Address; x25519PublicKey: `0x${string}`; x25519PrivateKey: Uint8Array } | undefined,
      aggregationOptions: AggregationOptions = {},
      x25519PrivateKey: Uint8Array = new Uint8Array(32).fill(9),
    ): MemoryNode {
      const signer: MeterSigner | undefined =
        member === undefined
          ? undefined
          : {
              address: member.meter,
              signDigest: () => {
                throw new Error('aggregation never signs')
              },
            }
      const aggregation = createAggregation(
        contextFor(peerId, signer),
        membership,
        member?.x25519PrivateKey ?? x25519PrivateKey,
        aggregationOptions,
        transportFor(peerId),
      )
      const node: MemoryNode = { peerId, meter: member?.meter, aggregation }
      nodes.set(peerId, node)
      if (member === undefined) aggregators.add(peerId)
      else {
        peerOfMeter.set(member.meter, peerId)
        members.push({ meter: member.meter, x25519PublicKey: member.x25519PublicKey, peerId, time: 0 })
        members.sort((a, b) => (a.meter < b.meter ? -1 : 1))
      }
      return node
    },
    /**
     * Runs `work` as node `peerId` and charges it the main-thread CPU spent meanwhile, less what was
     * charged to others in that time (deliveries the network made while the work waited). Work running
     * concurrently with it unaccounted (another `as`) would be charged to both: run one at a time.
     */
    async as<T>(peerId: string, work: () => Promise<T>): Promise<T> {
      const started = cpuMs()
      const others = charged
      try {
        return await work()
      } finally {
        charge(peerId, cpuMs() - started - (charged - others))
      }
    },
    /** Resolves once every queued message is delivered. */
    idle(): Promise<void> {
      if (queue.length === 0 && !pumping) return Promise.resolve()
      return new Promise((resolve) => idleWaiters.push(resolve))
    },
    /** Sends a message as node `peerId` (a test's attacker: a second share, a false recover). */
    sendAs(peerId: string, message: AggregationMessage, audience: readonly Address[]): Promise<void> {
      return transportFor(peerId).send(message, audience)
    },
    tap(listener: Tap): () => void {
      taps.add(listener)
      return () => taps.delete(listener)
    },
    /** Bytes each node sent and CPU (ms) each spent since the last reset. */
    usage(peerId: string) {
      return { bytesSent: bytesSent.get(peerId) ?? 0, cpuMs: cpu.get(peerId) ?? 0 }
    },
    resetUsage() {
      bytesSent.clear()
      cpu.clear()
    },
    members: () => members,
    stop() {
      for (const n of nodes.values()) n.aggregation.stop()
    },
  }
}

export type MemoryNetwork = ReturnType<typeof createMemoryNetwork>
