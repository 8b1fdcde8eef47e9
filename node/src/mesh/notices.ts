/**
 * Utility notices (docs/mesh.md §7): outage / maintenance / price-signal, signed by the utility key
 * (the ledger owner's address is configured on every node). A node surfaces a notice only if the
 * signature recovers to that address, the notice is for this area, it has not expired, it is not
 * dated in the future, and its id has not been seen before (a replay). Everything refused is logged
 * and emitted as `rejected`, so the UI or an operator can see forgeries.
 */
import { randomBytes } from 'node:crypto'
import type { Eip712Domain } from '#protocol/eip712.ts'
import type { NoticeBody, NoticeKind, NoticeMessage } from './codec.ts'
import { MAX_NOTICE_TEXT, NOTICE_KINDS } from './codec.ts'
import { type MeshContext, nowS, type Verdict } from './context.ts'
import { InvalidMeshMessageError } from './errors.ts'
import { createEmitter } from './events.ts'
import { type Hex, type MeterSigner, recoverMesh, signMesh } from './signing.ts'

export type Notice = NoticeBody

export type NoticeRejection = 'wrong-area' | 'forged' | 'expired' | 'future' | 'replayed'

export interface NoticesEvents extends Record<string, unknown> {
  notice: Notice
  rejected: { id: Hex; reason: NoticeRejection }
}

export interface NoticeInput {
  area: number
  kind: NoticeKind
  text: string
  startsAt: number
  endsAt: number
  /** Defaults to now (unix s). */
  issuedAt?: number
  /** Defaults to endsAt (a notice is moot once its window ended). */
  expiresAt?: number
  priceWeiPerWh?: bigint
}

/** The utility console's side: builds and signs a notice with the utility key. */
export async function createNotice(
  utility: MeterSigner,
  domain: Eip712Domain,
  input: NoticeInput,
): Promise<NoticeMessage> {
  if (!NOTICE_KINDS.includes(input.kind))
    throw new InvalidMeshMessageError(`notice kind must be one of ${NOTICE_KINDS.join(', ')}`)
  if (typeof input.text !== 'string' || input.text.length === 0 || input.text.length > MAX_NOTICE_TEXT) {
    throw new InvalidMeshMessageError(`notice text must be 1..${MAX_NOTICE_TEXT} characters`)
  }
  if ((input.kind === 'price-signal') !== (input.priceWeiPerWh !== undefined)) {
    throw new InvalidMeshMessageError(
      'a price-signal notice needs priceWeiPerWh, and only a price-signal may have one',
    )
  }
  const issuedAt = input.issuedAt ?? Math.floor(Date.now() / 1000)
  const body: NoticeBody = {
    id: `0x${randomBytes(16).toString('hex')}`,
    area: input.area,
    kind: input.kind,
    text: input.text,
    startsAt: input.startsAt,
    endsAt: input.endsAt,
    issuedAt,
    expiresAt: input.expiresAt ?? Math.max(input.endsAt, issuedAt + 1),
  }
  if (input.priceWeiPerWh !== undefined) body.priceWeiPerWh = input.priceWeiPerWh.toString()
  return { v: 1, type: 'notice', body, sig: await signMesh(utility, domain, 'notice', body) }
}

const MAX_SEEN = 10_000

export function createNotices(ctx: MeshContext) {
  const events = createEmitter<NoticesEvents>((e) => ctx.log.warn('notice listener threw', { error: e }))
  const seen = new Map<string, number>()

  function reject(body: NoticeBody, reason: NoticeRejection): Verdict {
    ctx.log.warn(`rejected a utility notice: ${reason}`, { id: body.id, kind: body.kind })
    events.emit('rejected', { id: body.id, reason })
    return reason === 'forged' || reason === 'wrong-area' ? 'reject' : 'ignore'
  }

  return {
    on: events.on,
    /** Publishes a notice already signed by the utility (any node may relay one; only the signature counts). */
    async publish(message: NoticeMessage): Promise<void> {
      await ctx.publish('notices', message)
    },
    receive(message: NoticeMessage): Verdict {
      const b = message.body
      const t = nowS(ctx)
      if (b.area !== ctx.area) return reject(b, 'wrong-area')
      if (recoverMesh(ctx.domain, 'notice', b, message.sig) !== ctx.utility) return reject(b, 'forged')
      if (b.expiresAt <= t) return reject(b, 'expired')
      if (b.issuedAt > t + ctx.skewS) return reject(b, 'future')
      if (seen.has(b.id)) return reject(b, 'replayed')
      if (seen.size >= MAX_SEEN) {
        for (const [k, exp] of seen) if (exp <= t) seen.delete(k)
        while (seen.size >= MAX_SEEN) seen.delete(seen.keys().next().value as string)
      }
      // Kept until expiry: after that, the expiry check alone refuses a replay.
      seen.set(b.id, b.expiresAt)
      events.emit('notice', { ...b })
      return 'accept'
    },
    stop() {
      events.clear()
    },
  }
}

export type NoticesService = ReturnType<typeof createNotices>
