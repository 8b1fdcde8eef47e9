/**
 * Members only (docs/mesh.md §5a). A connection from or to a peer is admitted beyond the minimal
 * handshake only once the peer has shown, over `/zkmeter/admit/1.0.0`, a credential that binds its
 * peer id (authenticated by noise) to a member of the area:
 *
 * - a membership announcement `{ area, peerId, x25519PublicKey, meter, time }` signed for a meter the
 *   ledger registers in this area (by the meter's key or its household account: mesh.md §3), checked
 *   exactly as a gossiped one (membership.receive), with `peerId` = the connection's remote peer; or
 * - an observer ticket `{ area, peerId, time }` signed by the utility (the ledger owner), for the
 *   utility's aggregation observer, which speaks for no meter.
 *
 * Until then every protocol but this one, identify and ping is held in both directions: an inbound
 * stream waits before its handler runs, an outbound stream waits before it is opened, and both go
 * ahead only once the peer is admitted — otherwise they are aborted. So a stranger cannot subscribe to
 * gossipsub topics (its subscription never reaches gossipsub, which then sends it nothing), send a
 * bitswap want-list or ask for pins, and no subscription or want-list of ours goes to it. The dialler
 * presents first; the listener answers with its own credential. A peer whose credential fails the
 * checks is disconnected, logged by peer id, and refused by the connection gater for `banMs`; one
 * whose handshake does not finish within `graceMs` is disconnected and logged but not banned (a busy
 * member is not a stranger, and it may dial again). Holding (rather than refusing) the streams of a peer whose handshake is under way is
 * what lets gossipsub and bitswap, which set up their streams once per connection, work on the same
 * connection once it is admitted.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { AnnounceMessage } from '../codec.ts'
import { parseMeshMessage } from '../codec.ts'
import type { MeshContext } from '../context.ts'
import { InvalidMeshMessageError, MeshError } from '../errors.ts'
import type { MembershipService } from '../membership.ts'
import { type Address, type MeterSigner, recoverMesh, signMesh } from '../signing.ts'
import type { BanList } from './bans.ts'
import type { MeshHost } from './host.ts'

export const ADMIT_PROTOCOL = '/zkmeter/admit/1.0.0'
/** What a peer may use before it is admitted: the admission itself, identify and ping. */
const OPEN_PROTOCOLS = ['/zkmeter/admit/', '/ipfs/id/', '/ipfs/ping/']
const MAX_FRAME = 4096

/** A peer that is not admitted tried to use a closed protocol. */
export class NotAdmittedError extends MeshError {
  override name = 'NotAdmittedError'
}

export interface ObserverTicketBody {
  area: number
  peerId: string
  time: number
}
export interface ObserverTicket {
  v: 1
  type: 'observer'
  body: ObserverTicketBody
  sig: string
}

type Credential = AnnounceMessage | ObserverTicket

export async function observerTicket(
  utility: MeterSigner,
  domain: MeshContext['domain'],
  body: ObserverTicketBody,
): Promise<ObserverTicket> {
  return { v: 1, type: 'observer', body, sig: await signMesh(utility, domain, 'observer', body) }
}

/**
 * Whether a failed handshake shows a misbehaving peer (a frame that is not JSON, or too long) rather
 * than a slow or gone one (its deadline ran out, the stream or connection closed under it).
 */
const malformed = (error: unknown) =>
  error instanceof SyntaxError ||
  error instanceof InvalidMeshMessageError ||
  (error instanceof Error && /InvalidDataLength|InvalidMessageLength/.test(error.name))

const isOpen = (protocol: string) => OPEN_PROTOCOLS.some((p) => protocol.startsWith(p))

export function createAdmission(deps: {
  libp2p: MeshHost
  ctx: Pick<MeshContext, 'area' | 'domain' | 'utility' | 'peerId' | 'log' | 'now' | 'skewS'>
  membership: Pick<MembershipService, 'receive' | 'meterOfPeer' | 'ownAnnouncement' | 'on'>
  bans: BanList
  /** The utility's key, on an observer that speaks for no meter: it presents a ticket instead. */
  utilitySigner?: MeterSigner
  graceMs: number
  banMs: number
  isRunning(): boolean
}) {
  const { libp2p, ctx, membership, bans } = deps
  const observers = new Set<string>()
  const graceTimers = new Map<string, ReturnType<typeof setTimeout>>()
  const waiters = new Map<string, Set<(ok: boolean) => void>>()
  let ownTicket: ObserverTicket | undefined

  const admitted = (peer: string) =>
    peer === ctx.peerId || membership.meterOfPeer(peer) !== undefined || observers.has(peer)

  /** Wakes the streams held for `peer` (admitted: they go ahead). */
  function settle(peer: string) {
    const held = waiters.get(peer)
    if (held === undefined) return
    waiters.delete(peer)
    const ok = admitted(peer)
    for (const wake of held) wake(ok)
  }

  /** Resolves true once `peer` is admitted, false if it is not within `graceMs` or is refused. */
  function whenAdmitted(peer: string): Promise<boolean> {
    if (admitted(peer)) return Promise.resolve(true)
    return new Promise((resolve) => {
      const held = waiters.get(peer) ?? new Set()
      waiters.set(peer, held)
      const timer = setTimeout(() => {
        held.delete(wake)
        resolve(admitted(peer))
      }, deps.graceMs)
      const wake = (ok: boolean) => {
        clearTimeout(timer)
        resolve(ok)
      }
      held.add(wake)
    })
  }

  async function credential(): Promise<Credential | undefined> {
    const announcement = await membership.ownAnnouncement()
    if (announcement !== undefined) return announcement
    if (deps.utilitySigner === undefined) return undefined
    ownTicket ??= await observerTicket(deps.utilitySigner, ctx.domain, {
      area: ctx.area,
      peerId: ctx.peerId,
      time: Math.floor(ctx.now() / 1000),
    })
    return ownTicket
  }

  /** Checks a credential presented by `peer`; on success the peer is admitted. */
  async function check(value: unknown, peer: string): Promise<boolean> {
    if (typeof value !== 'object' || value === null) return false
    const c = value as { type?: unknown; body?: unknown; sig?: unknown }
    if (c.type === 'observer') {
      const body = c.body as Partial<ObserverTicketBody> | undefined
      if (body?.area !== ctx.area || body.peerId !== peer || typeof c.sig !== 'string') return false
      if (!Number.isSafeInteger(body.time)) return false
      const ticket = { area: body.area, peerId: body.peerId, time: body.time as number }
      if (ticket.time > Math.floor(ctx.now() / 1000) + ctx.skewS) return false
      if (recoverMesh(ctx.domain, 'observer', ticket, c.sig) !== ctx.utility) return false
      observers.add(peer)
      settle(peer)
      return true
    }
    let message: AnnounceMessage
    try {
      const parsed = parseMeshMessage(new TextEncoder().encode(JSON.stringify(value)))
      if (parsed.type !== 'announce') return false
      message = parsed
    } catch (error) {
      if (error instanceof InvalidMeshMessageError) return false
      throw error
    }
    await membership.receive(message, peer)
    settle(peer)
    return membership.meterOfPeer(peer) !== undefined
  }

  /**
   * A handshake that ran out of time is not evidence of a stranger: on a busy host (or with a busy
   * neighbour) a member's handshake can take longer than `graceMs`. Banning it, as a failed check
   * does, made members refuse their own registered neighbours for `banMs` and refuse the redials
   * meanwhile — a 50-home bench at load 18 left a home isolated with every static peer banned. The
   * connection is closed (nothing was admitted, no held stream went ahead) and may be dialled again.
   */
  function drop(connectionPeer: PeerId, why: string) {
    const peer = connectionPeer.toString()
    if (admitted(peer)) return
    settle(peer)
    ctx.log.warn('disconnected a peer whose admission handshake did not finish in time (not banned)', {
      peer,
      reason: why,
    })
    for (const c of libp2p.getConnections(connectionPeer)) void c.close().catch(() => c.abort(new Error(why)))
  }

  function refuse(connectionPeer: PeerId, why: string) {
    const peer = connectionPeer.toString()
    if (admitted(peer)) return
    bans.ban(peer, deps.banMs)
    settle(peer)
    ctx.log.warn('disconnected a stranger: not a member of this area', { peer, reason: why })
    for (const c of libp2p.getConnections(connectionPeer)) void c.close().catch(() => c.abort(new Error(why)))
  }

  async function exchange(stream: Stream, payload: unknown): Promise<unknown> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const signal = AbortSignal.timeout(deps.graceMs)
    await lp.write(new TextEncoder().encode(JSON.stringify(payload)), { signal })
    const reply = await lp.read({ signal })
    return JSON.parse(new TextDecoder().decode(reply.subarray()))
  }

  /** The dialler's side: present, read the answer, admit the listener. */
  async function present(connection: Connection) {
    const remote = connection.remotePeer.toString()
    try {
      const stream = await connection.newStream(ADMIT_PROTOCOL, { signal: AbortSignal.timeout(deps.graceMs) })
      const reply = (await exchange(stream, { v: 1, credential: (await credential()) ?? null })) as {
        ok?: unknown
        credential?: unknown
      }
      await stream.close().catch(() => undefined)
      if (reply?.ok !== true) {
        ctx.log.warn('a neighbour did not admit this node', { peer: remote })
        await connection.close().catch(() => undefined)
        return
      }
      if (!(await check(reply.credential, remote))) refuse(connection.remotePeer, 'bad credential')
    } catch (error) {
      if (!deps.isRunning() || connection.status !== 'open') return
      if (!malformed(error)) return drop(connection.remotePeer, `no answer: ${String(error)}`)
      ctx.log.warn('admission handshake failed', { peer: remote, error })
      refuse(connection.remotePeer, 'handshake failed')
    }
  }

  /** The listener's side. */
  async function answer(stream: Stream, connection: Connection) {
    const remote = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const signal = AbortSignal.timeout(deps.graceMs)
    try {
      const request = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as {
        credential?: unknown
      }
      const ok = await check(request?.credential, remote)
      const own = ok ? await credential() : undefined
      await lp.write(new TextEncoder().encode(JSON.stringify({ v: 1, ok, credential: own ?? null })), {
        signal,
      })
      await stream.close().catch(() => undefined)
      if (!ok) refuse(connection.remotePeer, 'no valid membership announcement')
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
      if (!malformed(error)) drop(connection.remotePeer, `no credential: ${String(error)}`)
      else refuse(connection.remotePeer, 'malformed admission request')
    }
  }

  /** Outbound streams of closed protocols wait for the peer's admission, and are not opened without it. */
  function gateOutbound(connection: Connection) {
    const newStream = connection.newStream.bind(connection)
    connection.newStream = async (protocols, options) => {
      const list = Array.isArray(protocols) ? protocols : [protocols]
      if (!list.every(isOpen) && !(await whenAdmitted(connection.remotePeer.toString()))) {
        throw new NotAdmittedError(`peer ${connection.remotePeer} is not a member of this area`)
      }
      return newStream(protocols, options)
    }
  }

  const onOpen = (event: CustomEvent<Connection>) => {
    const connection = event.detail
    const remote = connection.remotePeer.toString()
    gateOutbound(connection)
    if (connection.direction === 'outbound') {
      void present(connection)
    } else if (!admitted(remote) && !graceTimers.has(remote)) {
      graceTimers.set(
        remote,
        setTimeout(() => {
          graceTimers.delete(remote)
          if (!admitted(remote) && libp2p.getConnections(connection.remotePeer).length > 0)
            drop(connection.remotePeer, `no membership announcement within ${deps.graceMs} ms`)
        }, deps.graceMs),
      )
    }
  }

  /**
   * Inbound streams of closed protocols from a peer that is not admitted are refused before their
   * handler runs. libp2p 3.3 looks every inbound stream's handler up in its registrar; the gate wraps
   * that lookup (its stream middleware would do, but 3.3.11 appends to the shared middleware list on
   * every inbound stream).
   */
  function gateInbound() {
    const registrar = (
      libp2p as unknown as {
        components: { registrar: { getHandler(protocol: string): { handler: unknown; options: unknown } } }
      }
    ).components.registrar
    const getHandler = registrar.getHandler.bind(registrar)
    registrar.getHandler = (protocol: string) => {
      const entry = getHandler(protocol)
      if (isOpen(protocol)) return entry
      const handler = entry.handler as (stream: Stream, connection: Connection) => void | Promise<void>
      return {
        ...entry,
        handler: async (stream: Stream, connection: Connection) => {
          const peer = connection.remotePeer.toString()
          if (await whenAdmitted(peer)) return handler(stream, connection)
          ctx.log.warn('refused a stream from a peer that is not admitted', { peer, protocol })
          stream.abort(new NotAdmittedError(`not admitted to ${protocol}`))
        },
      }
    }
  }

  const onMember = membership.on('member', (m) => settle(m.peerId))

  return {
    /** Installs the gates and the handshake; call before libp2p starts. */
    install() {
      gateInbound()
      libp2p.addEventListener('connection:open', onOpen)
    },
    async start() {
      await libp2p.handle(ADMIT_PROTOCOL, answer, { maxInboundStreams: 4 })
    },
    stop() {
      onMember()
      libp2p.removeEventListener('connection:open', onOpen)
      for (const peer of [...waiters.keys()]) settle(peer)
      for (const t of graceTimers.values()) clearTimeout(t)
      graceTimers.clear()
    },
    admitted,
    /** Observers admitted by a utility ticket (peer ids). */
    observers: (): string[] => [...observers],
  }
}

export type Admission = ReturnType<typeof createAdmission>
export type { Address }
