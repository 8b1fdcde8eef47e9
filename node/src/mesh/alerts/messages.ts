/**
 * Signed alert and ack messages (docs/mesh.md §3, §6), signed for this node's meter by the meter key
 * or the household account the registry binds to it.
 */
import { randomBytes } from 'node:crypto'
import type { AckBody, AckMessage, AlertBody, AlertKind, AlertMessage } from '../codec.ts'
import { ALERT_KINDS, MAX_ALERT_TTL_S } from '../codec.ts'
import { type MeshContext, nowS } from '../context.ts'
import { InvalidMeshMessageError } from '../errors.ts'
import { type Address, type MeterSigner, signMesh } from '../signing.ts'

type SigningContext = Pick<MeshContext, 'area' | 'domain' | 'now'>

/** A new alert of `kind` from this meter, valid for `ttlS` seconds; throws on a bad kind or ttl. */
export async function signAlert(
  ctx: SigningContext,
  signer: MeterSigner,
  kind: AlertKind,
  ttlS: number,
): Promise<AlertMessage> {
  if (!ALERT_KINDS.includes(kind)) {
    throw new InvalidMeshMessageError(
      `alert kind must be one of ${ALERT_KINDS.join(', ')}, got ${String(kind)}`,
    )
  }
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_ALERT_TTL_S) {
    throw new InvalidMeshMessageError(`alert ttl must be 1..${MAX_ALERT_TTL_S} seconds, got ${ttlS}`)
  }
  const body: AlertBody = {
    id: `0x${randomBytes(16).toString('hex')}`,
    area: ctx.area,
    kind,
    meter: signer.address.toLowerCase() as Address,
    time: nowS(ctx),
    ttl: ttlS,
  }
  return { v: 1, type: 'alert', body, sig: await signMesh(signer, ctx.domain, 'alert', body) }
}

/** This meter's ack of `alert`, addressed to its sender. */
export async function signAck(
  ctx: SigningContext,
  signer: MeterSigner,
  alert: AlertBody,
): Promise<AckMessage> {
  const body: AckBody = {
    id: alert.id,
    area: ctx.area,
    meter: signer.address.toLowerCase() as Address,
    to: alert.meter,
    time: nowS(ctx),
  }
  return { v: 1, type: 'ack', body, sig: await signMesh(signer, ctx.domain, 'ack', body) }
}
