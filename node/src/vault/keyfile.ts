/**
 * The household root key at rest (docs/vault.md, "Root key file").
 *
 * Passphrase mode (the default): key = scrypt(NFC(passphrase), salt, N, r, p, 32); the 32-byte root key is
 * sealed with XChaCha20-Poly1305 under it, with the format and KDF parameters as associated data so a
 * file whose parameters were edited does not open. Dev mode stores the key in the clear and must be
 * allowed explicitly when opening: it exists only for the embedded demo (`npm start`).
 *
 * Files are created with mode 0600, written to a temporary name, fsynced and hard-linked into place, so
 * an existing key is never overwritten and a crash never leaves a half-written key file.
 */
import { randomBytes, scrypt } from 'node:crypto'
import { constants } from 'node:fs'
import { link, open, readFile, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  CorruptKeyFileError,
  InsecureDevKeyRefusedError,
  KeyFileExistsError,
  KeyFileMissingError,
  PassphraseRequiredError,
  WrongPassphraseError,
} from './errors.ts'
import { KEY_BYTES } from './keys.ts'

export const KEY_FILE_FORMAT = 'zkmeter-root-key'
export const KEY_FILE_VERSION = 1

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number
  r: number
  p: number
}

/** ~0.45 s and 128 MiB on the reference 2-core machine: interactive-login strength (RFC 7914 §2). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 })
/** Files with weaker parameters are refused (a tampered file must not make brute force cheap). */
export const MIN_SCRYPT_N = 2 ** 14
/** Files with stronger parameters are refused too (an edited file must not exhaust memory). */
export const MAX_SCRYPT_N = 2 ** 20
const MAX_SCRYPT_R = 32
const MAX_SCRYPT_P = 16
export const MIN_PASSPHRASE_LENGTH = 8

export type KeyFileMode = 'passphrase' | 'insecure-dev'

export interface PassphraseKeyFile {
  format: typeof KEY_FILE_FORMAT
  version: typeof KEY_FILE_VERSION
  mode: 'passphrase'
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string }
  cipher: { name: 'xchacha20-poly1305'; nonce: string }
  ciphertext: string
}

export interface DevKeyFile {
  format: typeof KEY_FILE_FORMAT
  version: typeof KEY_FILE_VERSION
  mode: 'insecure-dev'
  warning: string
  key: string
}

export type CreateKeyFileOptions =
  | { passphrase: string; scrypt?: ScryptParams; rootKey?: Uint8Array }
  | { insecureDev: true; rootKey?: Uint8Array }

export interface OpenKeyFileOptions {
  passphrase?: string
  /** Accept an `insecure-dev` key file. Only the embedded demo sets this. */
  allowInsecureDev?: boolean
}

const DEV_WARNING =
  'INSECURE DEV KEY: this root key is stored unencrypted. Anyone who can read this file can decrypt every reading in the vault. Use only for the embedded demo; run `zkmeter init` with a passphrase for real data.'

const HEX = /^[0-9a-f]*$/

function checkScrypt(params: ScryptParams): void {
  const { N, r, p } = params
  const powerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0
  if (!powerOfTwo || N < MIN_SCRYPT_N || N > MAX_SCRYPT_N) {
    throw new InvalidInputError(`scrypt N must be a power of two in ${MIN_SCRYPT_N}..${MAX_SCRYPT_N}`)
  }
  if (
    !Number.isSafeInteger(r) ||
    r < 1 ||
    r > MAX_SCRYPT_R ||
    !Number.isSafeInteger(p) ||
    p < 1 ||
    p > MAX_SCRYPT_P
  ) {
    throw new InvalidInputError(`scrypt r must be in 1..${MAX_SCRYPT_R} and p in 1..${MAX_SCRYPT_P}`)
  }
}

function deriveKek(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const { N, r, p } = params
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(passphrase.normalize('NFC'), 'utf8'),
      salt,
      KEY_BYTES,
      { N, r, p, maxmem: 128 * N * r * p + 16 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))),
    )
  })
}

/** Associated data of the sealed root key: the parameters that produced the key-encryption key. */
function keyFileAad(kdf: PassphraseKeyFile['kdf']): Uint8Array {
  return new TextEncoder().encode(
    `${KEY_FILE_FORMAT}/v${KEY_FILE_VERSION}/scrypt/N=${kdf.N},r=${kdf.r},p=${kdf.p},salt=${kdf.salt}/xchacha20-poly1305`,
  )
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'))

/** Writes `contents` to `path` only if nothing is there yet; atomic and durable. */
async function writeNewFile(path: string, contents: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${toHex(randomBytes(6))}.tmp`)
  const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
  try {
    await handle.writeFile(contents, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileExistsError(
        `a root key file already exists at ${path}: refusing to overwrite it (that would make the stored data unreadable); move it away first if you really mean to replace it`,
        { details: { path } },
      )
    }
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/**
 * Creates a new root key (32 random bytes unless `rootKey` is given) and writes it to `path`, sealed with
 * the passphrase or, with `insecureDev`, in the clear. Returns the root key.
 */
export async function createRootKeyFile(path: string, options: CreateKeyFileOptions): Promise<Uint8Array> {
  const rootKey = options.rootKey ?? new Uint8Array(randomBytes(KEY_BYTES))
  if (!(rootKey instanceof Uint8Array) || rootKey.length !== KEY_BYTES) {
    throw new InvalidInputError(`rootKey must be ${KEY_BYTES} bytes`)
  }
  let file: PassphraseKeyFile | DevKeyFile
  if ('insecureDev' in options && options.insecureDev === true) {
    file = {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      mode: 'insecure-dev',
      warning: DEV_WARNING,
      key: toHex(rootKey),
    }
  } else if ('passphrase' in options && typeof options.passphrase === 'string') {
    if ([...options.passphrase.normalize('NFC')].length < MIN_PASSPHRASE_LENGTH) {
      throw new InvalidInputError(`the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`)
    }
    const params = options.scrypt ?? DEFAULT_SCRYPT
    checkScrypt(params)
    const salt = new Uint8Array(randomBytes(32))
    const nonce = new Uint8Array(randomBytes(24))
    const kdf = { name: 'scrypt' as const, N: params.N, r: params.r, p: params.p, salt: toHex(salt) }
    const kek = await deriveKek(options.passphrase, salt, params)
    const ciphertext = xchacha20poly1305(kek, nonce, keyFileAad(kdf)).encrypt(rootKey)
    kek.fill(0)
    file = {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      mode: 'passphrase',
      kdf,
      cipher: { name: 'xchacha20-poly1305', nonce: toHex(nonce) },
      ciphertext: toHex(ciphertext),
    }
  } else {
    throw new InvalidInputError('createRootKeyFile needs { passphrase } or { insecureDev: true }')
  }
  await writeNewFile(path, `${JSON.stringify(file, null, 2)}\n`)
  return rootKey
}

function corrupt(path: string, what: string): CorruptKeyFileError {
  return new CorruptKeyFileError(
    `${path} is not a valid zkmeter root key file (${what}); restore it from your backup`,
    { details: { path } },
  )
}

function isHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && HEX.test(value)
}

async function readKeyFile(path: string): Promise<PassphraseKeyFile | DevKeyFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyFileMissingError(
        `no root key file at ${path}: run \`zkmeter init\` first (or point to the right data directory)`,
        {
          details: { path },
        },
      )
    }
    throw err
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw corrupt(path, 'not JSON: truncated or edited?')
  }
  if (typeof parsed !== 'object' || parsed === null) throw corrupt(path, 'not a JSON object')
  const f = parsed as Record<string, unknown>
  if (f.format !== KEY_FILE_FORMAT) throw corrupt(path, `format is not "${KEY_FILE_FORMAT}"`)
  if (f.version !== KEY_FILE_VERSION) throw corrupt(path, `unsupported version ${String(f.version)}`)
  if (f.mode === 'insecure-dev') {
    if (!isHex(f.key, KEY_BYTES)) throw corrupt(path, 'key is not 32 bytes of lower-case hex')
    const warning = typeof f.warning === 'string' ? f.warning : ''
    return { format: KEY_FILE_FORMAT, version: KEY_FILE_VERSION, mode: 'insecure-dev', warning, key: f.key }
  }
  if (f.mode !== 'passphrase') throw corrupt(path, 'unknown mode')
  const kdf = f.kdf as Record<string, unknown> | null
  const cipher = f.cipher as Record<string, unknown> | null
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'scrypt' || !isHex(kdf.salt, 32)) {
    throw corrupt(path, 'kdf must be scrypt with a 32-byte salt')
  }
  // A non-number fails checkScrypt's integer checks as NaN, with the same message as any bad value.
  const asNumber = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN)
  const [N, r, p] = [asNumber(kdf.N), asNumber(kdf.r), asNumber(kdf.p)]
  try {
    checkScrypt({ N, r, p })
  } catch (err) {
    throw corrupt(path, (err as Error).message)
  }
  if (
    typeof cipher !== 'object' ||
    cipher === null ||
    cipher.name !== 'xchacha20-poly1305' ||
    !isHex(cipher.nonce, 24)
  ) {
    throw corrupt(path, 'cipher must be xchacha20-poly1305 with a 24-byte nonce')
  }
  if (!isHex(f.ciphertext, KEY_BYTES + 16)) throw corrupt(path, 'ciphertext must be 48 bytes of hex')
  return {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    mode: 'passphrase',
    kdf: { name: 'scrypt', N, r, p, salt: kdf.salt },
    cipher: { name: 'xchacha20-poly1305', nonce: cipher.nonce },
    ciphertext: f.ciphertext,
  }
}

/** Which kind of key file is at `path` (so a CLI knows whether to ask for a passphrase). */
export async function readKeyFileMode(path: string): Promise<KeyFileMode> {
  return (await readKeyFile(path)).mode
}

/** Opens the root key file and returns the 32-byte root key. */
export async function openRootKeyFile(path: string, options: OpenKeyFileOptions = {}): Promise<Uint8Array> {
  const file = await readKeyFile(path)
  if (file.mode === 'insecure-dev') {
    if (options.allowInsecureDev !== true) {
      throw new InsecureDevKeyRefusedError(
        `${path} holds an unencrypted dev-mode root key, which is only allowed for the embedded demo: create a passphrase-protected key with \`zkmeter init\`, or explicitly allow dev mode`,
        { details: { path } },
      )
    }
    return fromHex(file.key)
  }
  if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new PassphraseRequiredError(`${path} is protected by a passphrase: provide it to open the vault`, {
      details: { path },
    })
  }
  const kek = await deriveKek(options.passphrase, fromHex(file.kdf.salt), file.kdf)
  try {
    return xchacha20poly1305(kek, fromHex(file.cipher.nonce), keyFileAad(file.kdf)).decrypt(
      fromHex(file.ciphertext),
    )
  } catch {
    throw new WrongPassphraseError(
      `the passphrase does not open ${path} (wrong passphrase, or the file was altered): try again`,
      { details: { path } },
    )
  } finally {
    kek.fill(0)
  }
}
