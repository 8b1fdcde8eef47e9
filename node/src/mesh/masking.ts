/**
 * The arithmetic of pairwise-mask aggregation (docs/aggregation.md). Everything is mod 2^64.
 *
 * - pair key  k_ij = HKDF-SHA256(X25519(x_i, X_j), salt = "zkmeter/agg/v1",
 *                                info = be32(area) ‖ lo.meter ‖ hi.meter ‖ lo.X ‖ hi.X)   (32 bytes)
 * - mask      m_ij(t) = first 8 bytes (big-endian) of HMAC-SHA256(k_ij, "mask" ‖ be32(area) ‖ be64(t))
 * - sign      s_ij = +1 if meter_i < meter_j (lowercase hex order) else −1
 * - share     y_i(t) = r_i(t) + Σ_{j≠i} s_ij · m_ij(t)
 * Σ_i y_i = Σ_i r_i because s_ij · m_ij + s_ji · m_ji = 0 for every pair.
 *
 * node:crypto does X25519/HKDF/HMAC natively: 100 members × 99 pairs per round stays in milliseconds.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto'
import { InvalidMeshMessageError } from './errors.ts'
import type { Address, Hex } from './signing.ts'

export const MOD = 1n << 64n
const encoder = new TextEncoder()

export interface X25519KeyPair {
  privateKey: Uint8Array
  publicKey: Uint8Array
}

// PKCS#8 / SPKI prefixes for a raw 32-byte X25519 key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

export function x25519PublicKeyOf(privateKey: Uint8Array): Uint8Array {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, privateKey]),
    format: 'der',
    type: 'pkcs8',
  })
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(SPKI_PREFIX.length))
}

export function generateX25519KeyPair(): X25519KeyPair {
  const privateKey = new Uint8Array(randomBytes(32))
  return { privateKey, publicKey: x25519PublicKeyOf(privateKey) }
}

// Parsing a raw key into an OpenSSL key object costs as much as the agreement itself: keep ours parsed.
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>()
// Shared secrets per (our private key, their public key). A member's secret is first computed when its
// announcement is checked (docs/mesh.md §5: its key must give a proper shared secret) and reused for the
// pair key, so a round never runs an X25519 agreement. Bounded: a cleared cache only costs recomputation.
const sharedSecrets = new WeakMap<Uint8Array, Map<string, Uint8Array>>()
const MAX_CACHED_SECRETS = 10_000

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  let key = privateKeyObjects.get(privateKey)
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' })
    privateKeyObjects.set(privateKey, key)
  }
  return key
}

/**
 * X25519(privateKey, publicKey), refusing low-order keys. Memoised per key pair (the same inputs always
 * give the same secret); callers must not mutate `privateKey` afterwards or the returned bytes.
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new InvalidMeshMessageError('an X25519 public key is 32 bytes')
  let cache = sharedSecrets.get(privateKey)
  if (cache === undefined) {
    cache = new Map()
    sharedSecrets.set(privateKey, cache)
  }
  const id = Buffer.from(publicKey).toString('hex')
  const cached = cache.get(id)
  if (cached !== undefined) return cached
  let secret: Buffer
  try {
    secret = diffieHellman({
      privateKey: privateKeyObject(privateKey),
      publicKey: createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, publicKey]),
        format: 'der',
        type: 'spki',
      }),
    })
  } catch (cause) {
    // OpenSSL refuses low-order points itself ("failed during derivation").
    throw new InvalidMeshMessageError('X25519 public key is of low order or invalid', { cause })
  }
  // A low-order public key gives an all-zero secret: anyone could compute the masks (RFC 7748 §6.1).
  if (secret.every((b) => b === 0)) throw new InvalidMeshMessageError('X25519 public key is of low order')
  if (cache.size >= MAX_CACHED_SECRETS) cache.clear()
  const result = new Uint8Array(secret)
  cache.set(id, result)
  return result
}

export interface MemberKey {
  meter: Address
  x25519PublicKey: Hex
}

function be32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

function be64(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}

const hexBuf = (h: string) => Buffer.from(h.slice(2), 'hex')

export function pairKey(
  area: number,
  self: MemberKey,
  selfPrivate: Uint8Array,
  other: MemberKey,
): Uint8Array {
  const shared = x25519SharedSecret(selfPrivate, hexBuf(other.x25519PublicKey))
  const [lo, hi] = self.meter < other.meter ? [self, other] : [other, self]
  const info = Buffer.concat([
    be32(area),
    hexBuf(lo.meter),
    hexBuf(hi.meter),
    hexBuf(lo.x25519PublicKey),
    hexBuf(hi.x25519PublicKey),
  ])
  return new Uint8Array(hkdfSync('sha256', shared, encoder.encode('zkmeter/agg/v1'), info, 32))
}

export function pairMask(key: Uint8Array, area: number, round: number): bigint {
  const mac = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from('mask'), be32(area), be64(round)]))
    .digest()
  return mac.readBigUInt64BE(0)
}

/** s_ij · m_ij mod 2^64: what member i adds to its share for pair (i, j), and what it reveals if j drops. */
export function signedMask(selfMeter: Address, otherMeter: Address, mask: bigint): bigint {
  return selfMeter < otherMeter ? mask : (MOD - mask) % MOD
}

export function maskShare(value: bigint, signedMasks: Iterable<bigint>): bigint {
  let y = value % MOD
  for (const m of signedMasks) y = (y + m) % MOD
  return y
}

export function sumMod(values: Iterable<bigint>): bigint {
  let s = 0n
  for (const v of values) s = (s + v) % MOD
  return s
}

/** The total once the revealed masks of present members with missing ones are taken out. */
export function unmaskTotal(shares: Iterable<bigint>, revealed: Iterable<bigint>): bigint {
  return (sumMod(shares) - sumMod(revealed) + MOD) % MOD
}

/** Digest of a member set (meters sorted, each with its X25519 key): shares carry it so views can be compared. */
export function membersDigest(area: number, members: readonly MemberKey[]): Hex {
  // One buffer, one update: a member hashes this every round (1000 members: 52 KB).
  const sorted = [...members].sort((a, b) => (a.meter < b.meter ? -1 : 1))
  const body = Buffer.from(sorted.map((m) => m.meter.slice(2) + m.x25519PublicKey.slice(2)).join(''), 'hex')
  const h = createHash('sha256').update('zkmeter/agg/members/v1').update(be32(area)).update(body)
  return `0x${h.digest('hex')}`
}
