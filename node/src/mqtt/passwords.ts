/**
 * MQTT passwords: random ones, ones derived from the household's root key, and their hashes in
 * Mosquitto 2's `$7$` format (PBKDF2-HMAC-SHA512: `$7$<iterations>$<base64 salt>$<base64 hash>`,
 * what `mosquitto_passwd` writes). One format for both brokers: the embedded broker checks it, and
 * `zkmeter broker-config` copies it into a Mosquitto password file without ever knowing a password.
 */
import { hkdfSync, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { InvalidInputError } from '#protocol/errors.ts'

const pbkdf2Async = promisify(pbkdf2)

/**
 * Every password the node makes has 192 random bits, so the hash needs no stretching to resist
 * guessing; the iterations only slow a stolen file's use against a password a person chose.
 * Above mosquitto_passwd's 101, low enough that a CONNECT costs a few milliseconds.
 */
export const PBKDF2_ITERATIONS = 10_000
const SALT_BYTES = 12
const HASH_BYTES = 64
const HASH_RE = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/

/** A fresh random password: 24 bytes as 32 URL-safe characters (no quoting in shells or configs). */
export function newPassword(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * The password of a client the node itself runs (its own session, its virtual meter), derived from
 * the household's root key: stable across restarts, so an external Mosquitto configured once keeps
 * accepting it, and never written anywhere in plaintext.
 */
export function derivedPassword(rootKey: Uint8Array, username: string): string {
  const bytes = hkdfSync('sha256', rootKey, 'zkmeter mqtt', `password for ${username}`, 24)
  return Buffer.from(bytes).toString('base64url')
}

/** `$7$…` hash of a password, with a fresh salt. */
export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await pbkdf2Async(password, salt, iterations, HASH_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`
}

/** Whether a stored hash has the `$7$` shape (a damaged file is refused, not half-trusted). */
export function isPasswordHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_RE.test(value)
}

/** Compares in constant time; false for any malformed hash. */
export async function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const match = HASH_RE.exec(stored)
  if (!match) return false
  const iterations = Number(match[1])
  if (iterations < 1) return false
  const salt = Buffer.from(match[2] as string, 'base64')
  const expected = Buffer.from(match[3] as string, 'base64')
  if (expected.length === 0) return false
  const actual = await pbkdf2Async(password, salt, iterations, expected.length, 'sha512')
  return timingSafeEqual(actual, expected)
}

/** Username rules shared by both brokers: one topic level, no wildcard, no ACL `%` expansion. */
export const USERNAME_RE = /^[A-Za-z0-9_-]{1,64}$/

export function checkUsername(username: string): string {
  if (typeof username !== 'string' || !USERNAME_RE.test(username)) {
    throw new InvalidInputError(
      `MQTT user name ${JSON.stringify(String(username).slice(0, 80))} must be 1 to 64 letters, digits, _ or -`,
    )
  }
  return username
}
