/**
 * Wire format of every mesh message (docs/mesh.md §4) and its strict parser: the mesh is a hostile
 * boundary, so a size cap comes before JSON.parse, every object must have exactly its keys, and every
 * field its type and range. Any failure is an InvalidMeshMessageError naming the field — never a raw
 * SyntaxError/TypeError — so a handler can drop the message and keep running.
 */
import { createHash } from 'node:crypto'
import { InvalidMeshMessageError } from './errors.ts'
import type { Address, Hex } from './signing.ts'

export const WIRE_VERSION = 1
/**
 * Aggregation messages (share, recover, reveal) have their own version: v2 masks with the neighbours of
 * a sparse graph (docs/aggregation.md §2a), v1 masked with every member. A v1 share summed with v2
 * shares would give a wrong total, so a message of the other version is refused by name at parse time.
 */
export const AGGREGATION_WIRE_VERSION = 2
const AGGREGATION_TYPES: readonly unknown[] = ['share', 'recover', 'reveal']
/**
 * Default cap on one mesh message. The largest legitimate ones: a recover naming 10 % of 1000 members
 * (~4.5 KiB); a reveal holds at most 48 masks (~4 KiB: all others in a complete-graph area of 49, a
 * third of a sparse neighbourhood).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024
/** An area is the ledger's uint32 areaId. */
export const MAX_AREA = 0xffff_ffff
export const ALERT_KINDS = ['fire', 'flood', 'gas'] as const
export const NOTICE_KINDS = ['outage', 'maintenance', 'price-signal'] as const
export const MAX_ALERT_TTL_S = 24 * 3600
export const MAX_NOTICE_TEXT = 1000
export const MAX_MEMBERS = 1000
const U64_MAX = (1n << 64n) - 1n

export type AlertKind = (typeof ALERT_KINDS)[number]
export type NoticeKind = (typeof NOTICE_KINDS)[number]

export interface AnnounceBody {
  area: number
  peerId: string
  x25519PublicKey: Hex
  meter: Address
  time: number
}
export interface AlertBody {
  id: Hex
  area: number
  kind: AlertKind
  meter: Address
  time: number
  ttl: number
}
export interface AckBody {
  id: Hex
  area: number
  meter: Address
  to: Address
  time: number
}
export interface NoticeBody {
  id: Hex
  area: number
  kind: NoticeKind
  text: string
  startsAt: number
  endsAt: number
  issuedAt: number
  expiresAt: number
  /** price-signal only: wei per Wh during [startsAt, endsAt), as a decimal string (uint64). */
  priceWeiPerWh?: string
}
export interface ShareMessage {
  v: 2
  type: 'share'
  area: number
  round: number
  meter: Address
  members: Hex
  value: string
}
export interface RecoverMessage {
  v: 2
  type: 'recover'
  area: number
  round: number
  members: Hex
  missing: Address[]
}
export interface RevealMessage {
  v: 2
  type: 'reveal'
  area: number
  round: number
  meter: Address
  members: Hex
  masks: { meter: Address; value: string }[]
}
export interface Signed<T extends string, B> {
  v: 1
  type: T
  body: B
  sig: Hex
}
export type AnnounceMessage = Signed<'announce', AnnounceBody>
export type AlertMessage = Signed<'alert', AlertBody>
export type AckMessage = Signed<'ack', AckBody>
export type NoticeMessage = Signed<'notice', NoticeBody>
export type MeshMessage =
  | AnnounceMessage
  | AlertMessage
  | AckMessage
  | NoticeMessage
  | ShareMessage
  | RecoverMessage
  | RevealMessage

function fail(path: string, what: string): never {
  throw new InvalidMeshMessageError(`mesh message field ${path}: ${what}`, { details: { path } })
}

function obj(value: unknown, path: string, keys: readonly string[], optional: readonly string[] = []) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object')
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!keys.includes(key) && !optional.includes(key)) fail(`${path}.${key}`, 'unknown field')
  }
  for (const key of keys) if (!(key in record)) fail(`${path}.${key}`, 'missing')
  return record
}

function int(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(path, `must be an integer in [${min}, ${max}]`)
  }
  return value
}

function hex(value: unknown, path: string, bytes: number): Hex {
  if (typeof value !== 'string' || value.length !== 2 + 2 * bytes || !/^0x[0-9a-f]*$/.test(value)) {
    fail(path, `must be ${bytes} bytes as lowercase 0x-hex`)
  }
  return value as Hex
}

const address = (value: unknown, path: string): Address => hex(value, path, 20)
const sig = (value: unknown, path: string): Hex => {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(value))
    fail(path, 'must be a 65-byte 0x-hex signature')
  return value as Hex
}

function u64(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(value) || BigInt(value) > U64_MAX) {
    fail(path, 'must be a uint64 as a decimal string')
  }
  return value
}

function oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    fail(path, `must be one of ${options.join(', ')}`)
  }
  return value as T
}

function text(value: unknown, path: string, max: number, pattern?: RegExp): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > max ||
    (pattern && !pattern.test(value))
  ) {
    fail(
      path,
      `must be a non-empty string of at most ${max} characters${pattern ? ` matching ${pattern}` : ''}`,
    )
  }
  return value
}

const TIME_MAX = 2 ** 40
const area = (v: unknown, path: string) => int(v, path, 0, MAX_AREA)
const time = (v: unknown, path: string) => int(v, path, 0, TIME_MAX)
// base58btc peer ids (Ed25519 "12D3Koo…", RSA "Qm…"): bounded charset and length.
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{40,100}$/

function sortedUnique(list: unknown, path: string, max: number): Address[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > max)
    fail(path, `must be a list of 1..${max} addresses`)
  const out = list.map((m, i) => address(m, `${path}[${i}]`))
  for (let i = 1; i < out.length; i++) {
    if ((out[i - 1] as string) >= (out[i] as string))
      fail(path, 'must be sorted ascending without duplicates')
  }
  return out
}

function parseBody(type: string, body: unknown): unknown {
  switch (type) {
    case 'announce': {
      const b = obj(body, 'body', ['area', 'peerId', 'x25519PublicKey', 'meter', 'time'])
      return {
        area: area(b.area, 'body.area'),
        peerId: text(b.peerId, 'body.peerId', 100, PEER_ID),
        x25519PublicKey: hex(b.x25519PublicKey, 'body.x25519PublicKey', 32),
        meter: address(b.meter, 'body.meter'),
        time: time(b.time, 'body.time'),
      } satisfies AnnounceBody
    }
    case 'alert': {
      const b = obj(body, 'body', ['id', 'area', 'kind', 'meter', 'time', 'ttl'])
      return {
        id: hex(b.id, 'body.id', 16),
        area: area(b.area, 'body.area'),
        kind: oneOf(b.kind, 'body.kind', ALERT_KINDS),
        meter: address(b.meter, 'body.meter'),
        time: time(b.time, 'body.time'),
        ttl: int(b.ttl, 'body.ttl', 1, MAX_ALERT_TTL_S),
      } satisfies AlertBody
    }
    case 'ack': {
      const b = obj(body, 'body', ['id', 'area', 'meter', 'to', 'time'])
      return {
        id: hex(b.id, 'body.id', 16),
        area: area(b.area, 'body.area'),
        meter: address(b.meter, 'body.meter'),
        to: address(b.to, 'body.to'),
        time: time(b.time, 'body.time'),
      } satisfies AckBody
    }
    case 'notice': {
      const b = obj(
        body,
        'body',
        ['id', 'area', 'kind', 'text', 'startsAt', 'endsAt', 'issuedAt', 'expiresAt'],
        ['priceWeiPerWh'],
      )
      const kind = oneOf(b.kind, 'body.kind', NOTICE_KINDS)
      const out: NoticeBody = {
        id: hex(b.id, 'body.id', 16),
        area: area(b.area, 'body.area'),
        kind,
        text: text(b.text, 'body.text', MAX_NOTICE_TEXT),
        startsAt: time(b.startsAt, 'body.startsAt'),
        endsAt: time(b.endsAt, 'body.endsAt'),
        issuedAt: time(b.issuedAt, 'body.issuedAt'),
        expiresAt: time(b.expiresAt, 'body.expiresAt'),
      }
      if (out.endsAt < out.startsAt) fail('body.endsAt', 'must not be before startsAt')
      if (out.expiresAt <= out.issuedAt) fail('body.expiresAt', 'must be after issuedAt')
      if (kind === 'price-signal') out.priceWeiPerWh = u64(b.priceWeiPerWh, 'body.priceWeiPerWh')
      else if ('priceWeiPerWh' in b) fail('body.priceWeiPerWh', 'only a price-signal carries a price')
      return out
    }
    default:
      return fail('type', `unknown signed message type ${describeType(type)}`)
  }
}

/** Parses and validates one mesh message; throws InvalidMeshMessageError on anything unexpected. */
export function parseMeshMessage(data: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): MeshMessage {
  if (!(data instanceof Uint8Array)) fail('(message)', 'must be bytes')
  if (data.byteLength > maxBytes)
    fail('(message)', `is ${data.byteLength} bytes, above the ${maxBytes}-byte cap`)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch {
    fail('(message)', 'is not UTF-8 JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('(message)', 'must be a JSON object')
  const head = value as Record<string, unknown>
  const type = head.type
  if (AGGREGATION_TYPES.includes(type)) {
    if (head.v === 1) {
      fail(
        'v',
        `this ${String(type)} is aggregation protocol v1 (masks with every member); this node speaks v${AGGREGATION_WIRE_VERSION} (sparse masking graph) and cannot sum the two: upgrade the sender`,
      )
    }
    if (head.v !== AGGREGATION_WIRE_VERSION)
      fail('v', `must be ${AGGREGATION_WIRE_VERSION} for ${String(type)}`)
  } else if (head.v !== WIRE_VERSION) fail('v', `must be ${WIRE_VERSION}`)
  switch (type) {
    case 'announce':
    case 'alert':
    case 'ack':
    case 'notice': {
      const m = obj(value, '(message)', ['v', 'type', 'body', 'sig'])
      return { v: 1, type, body: parseBody(type, m.body), sig: sig(m.sig, 'sig') } as MeshMessage
    }
    case 'share': {
      const m = obj(value, '(message)', ['v', 'type', 'area', 'round', 'meter', 'members', 'value'])
      return {
        v: 2,
        type,
        area: area(m.area, 'area'),
        round: time(m.round, 'round'),
        meter: address(m.meter, 'meter'),
        members: hex(m.members, 'members', 32),
        value: u64(m.value, 'value'),
      }
    }
    case 'recover': {
      const m = obj(value, '(message)', ['v', 'type', 'area', 'round', 'members', 'missing'])
      return {
        v: 2,
        type,
        area: area(m.area, 'area'),
        round: time(m.round, 'round'),
        members: hex(m.members, 'members', 32),
        missing: sortedUnique(m.missing, 'missing', MAX_MEMBERS),
      }
    }
    case 'reveal': {
      const m = obj(value, '(message)', ['v', 'type', 'area', 'round', 'meter', 'members', 'masks'])
      if (!Array.isArray(m.masks) || m.masks.length === 0 || m.masks.length > MAX_MEMBERS) {
        fail('masks', `must be a list of 1..${MAX_MEMBERS} masks`)
      }
      const masks = m.masks.map((entry, i) => {
        const e = obj(entry, `masks[${i}]`, ['meter', 'value'])
        return { meter: address(e.meter, `masks[${i}].meter`), value: u64(e.value, `masks[${i}].value`) }
      })
      sortedUnique(
        masks.map((x) => x.meter),
        'masks[].meter',
        MAX_MEMBERS,
      )
      return {
        v: 2,
        type,
        area: area(m.area, 'area'),
        round: time(m.round, 'round'),
        meter: address(m.meter, 'meter'),
        members: hex(m.members, 'members', 32),
        masks,
      }
    }
    default:
      return fail('type', `unknown message type ${describeType(type)}`)
  }
}

const encoder = new TextEncoder()
export function encodeMeshMessage(message: MeshMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/** The fields of a gossipsub RPC message (`RPC.Message` of @libp2p/gossipsub), as the wire carries them. */
export interface GossipWireMessage {
  from?: Uint8Array
  data?: Uint8Array
  seqno?: Uint8Array
  topic: string
  signature?: Uint8Array
  key?: Uint8Array
}

const ABSENT = Buffer.from([0xff, 0xff, 0xff, 0xff])

/**
 * gossipsub's `fastMsgIdFn`: an id of the exact bytes of a received message, so that the 2nd..Dth copy
 * of a message (every home receives one from each of ~D mesh peers) is dropped as a duplicate *before*
 * gossipsub verifies its Ed25519 signature again. Without it gossipsub checks the signature of every
 * copy and only then looks the message up in its seen cache: that was ~45 % of a 50-home round's CPU
 * (docs/benchmarks/mesh.md).
 *
 * Safe because the id covers every field, signature included, with each field length-prefixed (absent ≠
 * empty): a forged copy (same author and seqno, other data or a bad signature) has another id, so it
 * cannot pre-empt the genuine message; a byte-identical copy is valid exactly when the first was.
 */
export function gossipFastMessageId(message: GossipWireMessage): string {
  const h = createHash('sha256')
  const field = (bytes: Uint8Array | undefined) => {
    if (bytes === undefined) {
      h.update(ABSENT)
      return
    }
    const len = Buffer.alloc(4)
    len.writeUInt32BE(bytes.byteLength)
    h.update(len).update(bytes)
  }
  field(message.from)
  field(message.seqno)
  field(Buffer.from(message.topic, 'utf8'))
  field(message.data)
  field(message.signature)
  field(message.key)
  return h.digest('base64')
}

/**
 * The offending `type` in words, without converting it: String() of a stranger's JSON can throw
 * (`[{"toString":0}]` has no usable toString), which would escape as a TypeError instead of the
 * codec's named error.
 */
function describeType(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.slice(0, 20))
  if (typeof type === 'number' || typeof type === 'boolean') return JSON.stringify(type)
  if (type === null) return 'null'
  return Array.isArray(type) ? 'an array' : `a value of type ${typeof type}`
}
