/**
 * State files that hold private data, sealed at rest (docs/security.md, "Nothing plaintext at rest").
 *
 * The node keeps a few small working files besides the vault: the ingest checkpoint (the last
 * periods' readings and salts, so a bill can still be proved after a restart) and the virtual meter's
 * non-volatile memory (its undelivered records). They are recovery state, not an archive, but they
 * hold readings, so they are sealed: XChaCha20-Poly1305 under a key derived (HKDF-SHA256) from a key
 * the file's owner already holds — the household root key for the node's files, the meter's own key
 * for the meter's — with the file's purpose in both the derivation and the associated data, so a
 * sealed file cannot be moved to another purpose and still open.
 *
 * A file written by an older version in plain JSON is still read (and reported as not sealed, so
 * the caller rewrites it sealed at once): upgrading a node must never lose its state.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { ZkMeterError } from '#protocol/errors.ts'
import { readTextIfExists, writeFileAtomic } from './json-file.ts'

export const SEALED_STATE_FORMAT = 'zkmeter-sealed-state'
const SEALED_STATE_VERSION = 1
const KEY_LABEL = 'zkmeter/state-key/v1/'
const NONCE_BYTES = 24

/** A sealed state file that does not open: edited, truncated, or sealed under another key. */
export class SealedStateError extends ZkMeterError {
  override name = 'SealedStateError'
  override readonly category = 'internal'
}

/** The key for one purpose ("ingest-state", "virtual-meter", …) from a 32-byte secret its owner holds. */
export function sealedStateKey(secret: Uint8Array, purpose: string): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) {
    throw new SealedStateError('a state key is derived from a 32-byte secret')
  }
  return hkdf(sha256, secret, undefined, new TextEncoder().encode(`${KEY_LABEL}${purpose}`), 32)
}

interface SealedEnvelope {
  format: typeof SEALED_STATE_FORMAT
  v: typeof SEALED_STATE_VERSION
  purpose: string
  nonce: string
  ciphertext: string
}

const aad = (purpose: string) =>
  new TextEncoder().encode(`${SEALED_STATE_FORMAT}/v${SEALED_STATE_VERSION}/${purpose}`)

/** JSON (bigints as decimal strings), encrypted and authenticated, as the text of a file. */
export function sealJson(value: unknown, key: Uint8Array, purpose: string): string {
  const plaintext = new TextEncoder().encode(
    JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
  )
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
  const ciphertext = xchacha20poly1305(key, nonce, aad(purpose)).encrypt(plaintext)
  const envelope: SealedEnvelope = {
    format: SEALED_STATE_FORMAT,
    v: SEALED_STATE_VERSION,
    purpose,
    nonce: Buffer.from(nonce).toString('base64'),
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  }
  return `${JSON.stringify(envelope)}\n`
}

const isEnvelope = (value: unknown): value is SealedEnvelope =>
  typeof value === 'object' &&
  value !== null &&
  (value as { format?: unknown }).format === SEALED_STATE_FORMAT

/**
 * The value in a state file's text: `sealed: false` for a plain JSON document of an older version
 * (the caller rewrites it sealed). Throws SyntaxError for text that is not JSON, SealedStateError for
 * a sealed file that does not open under `key` for `purpose`.
 */
export function openStateText(
  text: string,
  key: Uint8Array,
  purpose: string,
  where: string,
): { value: unknown; sealed: boolean } {
  const parsed: unknown = JSON.parse(text)
  if (!isEnvelope(parsed)) return { value: parsed, sealed: false }
  if (parsed.v !== SEALED_STATE_VERSION || parsed.purpose !== purpose) {
    throw new SealedStateError(
      `${where} is a sealed ${String(parsed.purpose)} file of version ${String(parsed.v)}, not a ${purpose} file this version reads`,
    )
  }
  let plaintext: Uint8Array
  try {
    const nonce = Buffer.from(String(parsed.nonce), 'base64')
    const ciphertext = Buffer.from(String(parsed.ciphertext), 'base64')
    plaintext = xchacha20poly1305(key, nonce, aad(purpose)).decrypt(ciphertext)
  } catch (cause) {
    throw new SealedStateError(
      `${where} does not open with this household's key: it was edited, damaged, or belongs to another household`,
      { cause },
    )
  }
  return { value: JSON.parse(new TextDecoder().decode(plaintext)), sealed: true }
}

/** Seals `value` and replaces `path` atomically and durably (mode 0600). */
export async function writeSealedJsonAtomic(
  path: string,
  value: unknown,
  key: Uint8Array,
  purpose: string,
): Promise<void> {
  await writeFileAtomic(path, sealJson(value, key, purpose))
}

/** The sealed (or legacy plain) state at `path`; undefined when the file does not exist. */
export async function readSealedJsonFile(
  path: string,
  key: Uint8Array,
  purpose: string,
): Promise<{ value: unknown; sealed: boolean } | undefined> {
  const text = await readTextIfExists(path)
  return text === undefined ? undefined : openStateText(text, key, purpose, path)
}

/** The virtual meter reads its checkpoint synchronously, once, when it starts. */
export function readSealedJsonSync(
  path: string,
  key: Uint8Array,
  purpose: string,
): { value: unknown; sealed: boolean } {
  return openStateText(readFileSync(path, 'utf8'), key, purpose, path)
}
