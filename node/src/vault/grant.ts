/**
 * Disclosure grants (docs/vault.md, "Disclosure grant"): one period's key, wrapped to a recipient's
 * X25519 public key, so that party (e.g. the utility in a dispute) can read that period and no other.
 *
 *   eph          = fresh X25519 key pair per grant
 *   shared       = X25519(eph.private, recipient)                 (all-zero results are refused)
 *   wrapKey      = HKDF-SHA256(ikm = shared, salt = eph.public ‖ recipient, info = GRANT_LABEL ‖ manifestCid bytes)
 *   wrappedKey   = XChaCha20-Poly1305(wrapKey, nonce, aad).encrypt(periodKey)
 *   aad          = GRANT_LABEL ‖ manifestCid bytes ‖ meter(20) ‖ be64(periodStart) ‖ be64(periodEnd)
 *
 * The grant names its manifest: changing the CID, meter or period in the JSON makes it fail to open.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { randomBytes } from '@noble/ciphers/utils.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { CID } from 'multiformats/cid'
import { InvalidInputError } from '#protocol/errors.ts'
import { InvalidGrantError } from './errors.ts'
import {
  be64,
  concatBytes,
  KEY_BYTES,
  type MeterAddress,
  meterBytes,
  normalizeMeter,
  normalizeTime,
} from './keys.ts'
import { parseCid } from './manifest.ts'

export const GRANT_FORMAT = 'zkmeter-grant'
export const GRANT_VERSION = 1
export const GRANT_LABEL = 'zkmeter/vault/grant/v1'

/** A disclosure grant as JSON (all byte fields lower-case hex). */
export interface Grant {
  format: typeof GRANT_FORMAT
  version: typeof GRANT_VERSION
  manifestCid: string
  meter: MeterAddress
  periodStart: number
  periodEnd: number
  recipient: string
  ephemeralPublicKey: string
  nonce: string
  wrappedKey: string
}

export interface OpenedGrant {
  manifestCid: CID
  meter: MeterAddress
  periodStart: number
  periodEnd: number
  periodKey: Uint8Array
}

export interface GrantKeyPair {
  privateKey: Uint8Array
  publicKey: Uint8Array
}

const encoder = new TextEncoder()
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const HEX = /^[0-9a-f]*$/

/** A recipient key pair (X25519). The recipient keeps the private key; the resident gets the public one. */
export function generateGrantKeyPair(): GrantKeyPair {
  const { secretKey, publicKey } = x25519.keygen()
  return { privateKey: secretKey, publicKey }
}

function sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array
  try {
    shared = x25519.getSharedSecret(privateKey, publicKey)
  } catch (err) {
    throw new InvalidInputError('invalid X25519 key (a low-order public key gives a known shared secret)', {
      cause: err,
    })
  }
  // A low-order public key yields an all-zero secret: refuse it rather than wrap under a known key.
  if (shared.every((b) => b === 0)) throw new InvalidInputError('X25519 public key is of low order')
  return shared
}

function wrapping(
  grant: Omit<Grant, 'nonce' | 'wrappedKey'>,
  shared: Uint8Array,
  ephPub: Uint8Array,
  recipient: Uint8Array,
) {
  const cidBytes = parseCid(grant.manifestCid).bytes
  const key = hkdf(
    sha256,
    shared,
    concatBytes(ephPub, recipient),
    concatBytes(encoder.encode(GRANT_LABEL), cidBytes),
    KEY_BYTES,
  )
  const aad = concatBytes(
    encoder.encode(GRANT_LABEL),
    cidBytes,
    meterBytes(grant.meter),
    be64(grant.periodStart),
    be64(grant.periodEnd),
  )
  return { key, aad }
}

export interface WrapGrantInput {
  manifestCid: CID | string
  meter: string
  periodStart: number
  periodEnd: number
  periodKey: Uint8Array
  recipientPublicKey: Uint8Array
}

/** Wraps a period key to a recipient. `vault.grant()` calls this with the key derived from the root key. */
export function wrapGrant(input: WrapGrantInput): Grant {
  const recipient = input.recipientPublicKey
  if (!(recipient instanceof Uint8Array) || recipient.length !== 32) {
    throw new InvalidInputError('the recipient public key must be a 32-byte X25519 public key')
  }
  if (!(input.periodKey instanceof Uint8Array) || input.periodKey.length !== KEY_BYTES) {
    throw new InvalidInputError(`period key must be ${KEY_BYTES} bytes`)
  }
  const eph = x25519.keygen()
  const head = {
    format: GRANT_FORMAT,
    version: GRANT_VERSION,
    manifestCid: parseCid(input.manifestCid).toString(),
    meter: normalizeMeter(input.meter),
    periodStart: normalizeTime(input.periodStart),
    periodEnd: normalizeTime(input.periodEnd, 'periodEnd'),
    recipient: toHex(recipient),
    ephemeralPublicKey: toHex(eph.publicKey),
  } as const
  const shared = sharedSecret(eph.secretKey, recipient)
  const { key, aad } = wrapping(head, shared, eph.publicKey, recipient)
  const nonce = randomBytes(24)
  const wrappedKey = xchacha20poly1305(key, nonce, aad).encrypt(input.periodKey)
  eph.secretKey.fill(0)
  return { ...head, nonce: toHex(nonce), wrappedKey: toHex(wrappedKey) }
}

const bad = (what: string): InvalidGrantError => new InvalidGrantError(`not a valid zkmeter grant: ${what}`)
const isHex = (v: unknown, bytes: number): v is string =>
  typeof v === 'string' && v.length === bytes * 2 && HEX.test(v)

/** Validates a grant given as an object or as its JSON text. */
export function parseGrant(input: unknown): Grant {
  let g = input
  if (typeof input === 'string') {
    try {
      g = JSON.parse(input)
    } catch {
      throw bad('not JSON')
    }
  }
  if (typeof g !== 'object' || g === null) throw bad('not an object')
  const o = g as Record<string, unknown>
  if (o.format !== GRANT_FORMAT) throw bad(`format is not "${GRANT_FORMAT}"`)
  if (o.version !== GRANT_VERSION) throw bad(`unsupported version ${String(o.version)}`)
  if (
    !isHex(o.recipient, 32) ||
    !isHex(o.ephemeralPublicKey, 32) ||
    !isHex(o.nonce, 24) ||
    !isHex(o.wrappedKey, 48)
  ) {
    throw bad(
      'recipient, ephemeralPublicKey, nonce and wrappedKey must be lower-case hex of 32, 32, 24 and 48 bytes',
    )
  }
  try {
    const manifestCid = parseCid(o.manifestCid as string).toString()
    const meter = normalizeMeter(o.meter)
    const periodStart = normalizeTime(o.periodStart)
    const periodEnd = normalizeTime(o.periodEnd, 'periodEnd')
    if (typeof o.manifestCid !== 'string' || manifestCid !== o.manifestCid || meter !== o.meter) {
      throw new InvalidInputError('manifestCid and meter must be in canonical form')
    }
    return {
      format: GRANT_FORMAT,
      version: GRANT_VERSION,
      manifestCid,
      meter,
      periodStart,
      periodEnd,
      recipient: o.recipient,
      ephemeralPublicKey: o.ephemeralPublicKey,
      nonce: o.nonce,
      wrappedKey: o.wrappedKey,
    }
  } catch (err) {
    if (err instanceof InvalidGrantError) throw err
    throw bad((err as Error).message)
  }
}

/** Unwraps a grant with the recipient's X25519 private key. Throws InvalidGrantError if it does not open. */
export function openGrant(grant: Grant | string, recipientPrivateKey: Uint8Array): OpenedGrant {
  const g = parseGrant(grant)
  if (!(recipientPrivateKey instanceof Uint8Array) || recipientPrivateKey.length !== 32) {
    throw new InvalidInputError('the recipient private key must be 32 bytes (X25519)')
  }
  const ephPub = Uint8Array.from(Buffer.from(g.ephemeralPublicKey, 'hex'))
  const recipient = Uint8Array.from(Buffer.from(g.recipient, 'hex'))
  const failure = () =>
    new InvalidGrantError(
      'this grant does not open with the given private key (it was made for another recipient, or it was altered)',
      { details: { manifestCid: g.manifestCid } },
    )
  let periodKey: Uint8Array
  try {
    const shared = sharedSecret(recipientPrivateKey, ephPub)
    const { key, aad } = wrapping(g, shared, ephPub, recipient)
    periodKey = xchacha20poly1305(key, Buffer.from(g.nonce, 'hex'), aad).decrypt(
      Buffer.from(g.wrappedKey, 'hex'),
    )
  } catch {
    throw failure()
  }
  return {
    manifestCid: parseCid(g.manifestCid),
    meter: g.meter,
    periodStart: g.periodStart,
    periodEnd: g.periodEnd,
    periodKey,
  }
}
