/**
 * Secrets of the auth layer: random session ids, tokens and pairing codes, and how they are kept
 * (SHA-256 only: a stolen credentials file does not let anyone in) and compared (constant time).
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

/** A 256-bit random secret, base64url (a session cookie's value, a bearer token after its prefix). */
export function newSecret(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`
}

/** A short public id for listing and revoking (not a secret). */
export function newId(): string {
  return randomBytes(6).toString('hex')
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** Equal hex digests, in time independent of where they differ. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y)
}

/** Crockford base32 without I, L, O, U: easy to read aloud and type on a phone. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const PAIRING_CODE_LENGTH = 10 // 50 bits

/** A pairing code `XXXXX-XXXXX` (50 bits: with the attempt limits, unguessable in its lifetime). */
export function newPairingCode(): string {
  let code = ''
  for (let i = 0; i < PAIRING_CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

/** What a person typed, as the code it means: case, spaces and dashes ignored, O→0, I/L→1. */
export function normalizePairingCode(input: string): string {
  const compact = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  return compact.length === PAIRING_CODE_LENGTH ? `${compact.slice(0, 5)}-${compact.slice(5)}` : compact
}
