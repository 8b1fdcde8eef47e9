/**
 * Area membership (docs/mesh.md §5). A member announces `{ area, peerId, x25519PublicKey, meter, time }`
 * signed by its meter key or by the household account the registry binds to that meter; a node
 * accepts it only if the signature recovers to one of those two, the gossip
 * author is `peerId` (so an announcement cannot be replayed by another peer to hijack a meter's
 * shares), and the registry says the meter is a registered, active meter of this area. The newest
 * announcement per meter wins. Re-announcements reuse the same signed bytes, so receivers that already
 * hold them skip the signature check.
 */
import type { AnnounceBody, AnnounceMessage } from './codec.ts'
import { type MeshContext, nowS, type Verdict } from './context.ts'
import { createEmitter } from './events.ts'
import type { MemberKey } from './masking.ts'
import { signsFor } from './registry.ts'
import { type Address, type Hex, recoverMesh, signMesh } from './signing.ts'

export interface Member extends MemberKey {
  peerId: string
  time: number
}

export interface MembershipEvents extends Record<string, unknown> {
  member: Member
}

export interface Membership {
  /** Current members sorted by meter, this node included once its own announcement is signed. */
  list(): Member[]
  get(meter: Address): Member | undefined
  meterOfPeer(peerId: string): Address | undefined
  on: ReturnType<typeof createEmitter<MembershipEvents>>['on']
}

/** `usableKey` says whether a member's X25519 key gives a proper shared secret (not of low order). */
export function createMembership(
  ctx: MeshContext,
  x25519PublicKey: Hex,
  usableKey: (publicKey: Hex) => boolean,
) {
  const byMeter = new Map<string, Member & { sig: string }>()
  const byPeer = new Map<string, Address>()
  const events = createEmitter<MembershipEvents>((e) =>
    ctx.log.warn('membership listener threw', { error: e }),
  )
  let own: AnnounceMessage | undefined

  function store(body: AnnounceBody, sig: string) {
    const previous = byMeter.get(body.meter)
    if (previous !== undefined && byPeer.get(previous.peerId) === body.meter) byPeer.delete(previous.peerId)
    // A peer speaks for one meter: a newer announcement for another meter from the same peer replaces it.
    const formerMeter = byPeer.get(body.peerId)
    if (formerMeter !== undefined && formerMeter !== body.meter) byMeter.delete(formerMeter)
    const member: Member & { sig: string } = {
      meter: body.meter,
      x25519PublicKey: body.x25519PublicKey,
      peerId: body.peerId,
      time: body.time,
      sig,
    }
    byMeter.set(body.meter, member)
    byPeer.set(body.peerId, body.meter)
    events.emit('member', {
      meter: member.meter,
      x25519PublicKey: member.x25519PublicKey,
      peerId: member.peerId,
      time: member.time,
    })
  }

  async function announcement(): Promise<AnnounceMessage | undefined> {
    if (ctx.signer === undefined) return undefined
    if (own === undefined) {
      const body: AnnounceBody = {
        area: ctx.area,
        peerId: ctx.peerId,
        x25519PublicKey,
        meter: ctx.signer.address.toLowerCase() as Address,
        time: nowS(ctx),
      }
      own = { v: 1, type: 'announce', body, sig: await signMesh(ctx.signer, ctx.domain, 'announce', body) }
      store(body, own.sig)
    }
    return own
  }

  return {
    list: () =>
      [...byMeter.values()].map(({ sig: _sig, ...m }) => m).sort((a, b) => (a.meter < b.meter ? -1 : 1)),
    get(meter: Address) {
      const m = byMeter.get(meter.toLowerCase())
      if (m === undefined) return undefined
      const { sig: _sig, ...member } = m
      return member
    },
    meterOfPeer: (peerId: string) => byPeer.get(peerId),
    on: events.on,
    /** This node's signed announcement (undefined for an observer): what it presents to be admitted. */
    ownAnnouncement: announcement,
    /** Publishes this node's announcement (signed once, then re-sent as is). No-op for an observer. */
    async announce(): Promise<void> {
      const message = await announcement()
      if (message !== undefined) await ctx.publish('members', message)
    },
    async receive(message: AnnounceMessage, from: string): Promise<Verdict> {
      const body = message.body
      if (body.area !== ctx.area) return 'reject'
      if (body.peerId !== from) return 'reject'
      const known = byMeter.get(body.meter)
      if (known !== undefined && known.sig === message.sig && known.peerId === from) return 'accept'
      if (known !== undefined && known.time >= body.time) return 'ignore'
      if (body.time > nowS(ctx) + ctx.skewS) return 'reject'
      const signer = recoverMesh(ctx.domain, 'announce', body, message.sig)
      if (!(await signsFor(ctx.registry, body.meter, signer))) {
        ctx.log.warn('rejected a membership announcement with a bad signature', {
          meter: body.meter,
          peer: from,
        })
        return 'reject'
      }
      // A member with an unusable key would make every honest member's masking fail: keep it out.
      if (!usableKey(body.x25519PublicKey)) {
        ctx.log.warn('rejected a membership announcement with an unusable X25519 key', { meter: body.meter })
        return 'reject'
      }
      if (!(await ctx.registry.isMember(body.meter, ctx.area))) {
        ctx.log.warn('rejected a membership announcement from a meter not registered in this area', {
          meter: body.meter,
          area: ctx.area,
        })
        return 'reject'
      }
      store(body, message.sig)
      return 'accept'
    },
    clear() {
      events.clear()
    },
  }
}

export type MembershipService = ReturnType<typeof createMembership>
