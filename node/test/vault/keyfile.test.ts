import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  CorruptKeyFileError,
  createRootKeyFile,
  InsecureDevKeyRefusedError,
  KeyFileExistsError,
  KeyFileMissingError,
  openRootKeyFile,
  type PassphraseKeyFile,
  PassphraseRequiredError,
  readKeyFileMode,
  WrongPassphraseError,
} from '../../src/vault/index.ts'

// The minimum accepted cost keeps the suite fast; the default (2^17) is exercised once below.
const FAST = { N: 2 ** 14, r: 8, p: 1 }
const PASS = 'correct horse battery staple'
let dir: string
let sealedPath: string
let rootKey: Uint8Array

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-keyfile-'))
  sealedPath = join(dir, 'root.key')
  rootKey = await createRootKeyFile(sealedPath, { passphrase: PASS, scrypt: FAST })
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function variant(name: string, edit: (file: PassphraseKeyFile) => void): Promise<string> {
  const file = JSON.parse(await readFile(sealedPath, 'utf8'))
  edit(file)
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(file))
  return path
}

async function thrown(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

describe('root key file', () => {
  it('seals a 32-byte key with the passphrase, owner-only, without the key bytes in the file', async () => {
    expect(rootKey).toHaveLength(32)
    const text = await readFile(sealedPath, 'utf8')
    expect(text).not.toContain(hex(rootKey))
    const file = JSON.parse(text)
    expect(file).toMatchObject({
      format: 'zkmeter-root-key',
      version: 1,
      mode: 'passphrase',
      kdf: { name: 'scrypt', N: FAST.N, r: 8, p: 1 },
      cipher: { name: 'xchacha20-poly1305' },
    })
    expect((await stat(sealedPath)).mode & 0o777).toBe(0o600)
    expect(await readKeyFileMode(sealedPath)).toBe('passphrase')
    expect(await openRootKeyFile(sealedPath, { passphrase: PASS })).toEqual(rootKey)
  })

  it('uses the documented default scrypt cost', async () => {
    const path = join(dir, 'default.key')
    const key = await createRootKeyFile(path, { passphrase: PASS })
    expect(JSON.parse(await readFile(path, 'utf8')).kdf).toMatchObject({ N: 2 ** 17, r: 8, p: 1 })
    expect(await openRootKeyFile(path, { passphrase: PASS })).toEqual(key)
  })

  it('names a wrong passphrase, and keeps key material out of the message', async () => {
    const err = await thrown(openRootKeyFile(sealedPath, { passphrase: 'not the passphrase' }))
    expect(err).toBeInstanceOf(WrongPassphraseError)
    expect(err.message).not.toContain(hex(rootKey))
    expect(JSON.stringify((err as WrongPassphraseError).details)).not.toContain(hex(rootKey))
    await expect(openRootKeyFile(sealedPath)).rejects.toBeInstanceOf(PassphraseRequiredError)
  })

  it('treats a tampered ciphertext, nonce or KDF parameter as not opening', async () => {
    const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1)
    for (const [name, edit] of [
      ['ct.key', (f: PassphraseKeyFile) => (f.ciphertext = flip(f.ciphertext))],
      ['nonce.key', (f: PassphraseKeyFile) => (f.cipher.nonce = flip(f.cipher.nonce))],
      ['salt.key', (f: PassphraseKeyFile) => (f.kdf.salt = flip(f.kdf.salt))],
      ['r.key', (f: PassphraseKeyFile) => (f.kdf.r = 9)],
    ] as const) {
      const path = await variant(name, edit)
      await expect(openRootKeyFile(path, { passphrase: PASS })).rejects.toBeInstanceOf(WrongPassphraseError)
    }
  })

  it('names corrupt and truncated files', async () => {
    const text = await readFile(sealedPath, 'utf8')
    const cases: Array<[string, string]> = [
      ['truncated', text.slice(0, text.length / 2)],
      ['empty', ''],
      ['garbage', 'zkmeter'],
      ['array', '[]'],
      ['other-format', JSON.stringify({ ...JSON.parse(text), format: 'something-else' })],
      ['future-version', JSON.stringify({ ...JSON.parse(text), version: 2 })],
      ['short-ct', JSON.stringify({ ...JSON.parse(text), ciphertext: 'abcd' })],
      ['weak-kdf', JSON.stringify({ ...JSON.parse(text), kdf: { ...JSON.parse(text).kdf, N: 1024 } })],
      ['huge-kdf', JSON.stringify({ ...JSON.parse(text), kdf: { ...JSON.parse(text).kdf, N: 2 ** 30 } })],
    ]
    for (const [name, contents] of cases) {
      const path = join(dir, `${name}.key`)
      await writeFile(path, contents)
      const err = await thrown(openRootKeyFile(path, { passphrase: PASS }))
      expect(err, name).toBeInstanceOf(CorruptKeyFileError)
    }
  })

  it('names a missing file and refuses to overwrite an existing one', async () => {
    await expect(openRootKeyFile(join(dir, 'nope.key'), { passphrase: PASS })).rejects.toBeInstanceOf(
      KeyFileMissingError,
    )
    await expect(createRootKeyFile(sealedPath, { passphrase: PASS, scrypt: FAST })).rejects.toBeInstanceOf(
      KeyFileExistsError,
    )
    expect(await openRootKeyFile(sealedPath, { passphrase: PASS })).toEqual(rootKey)
  })

  it('rejects short passphrases and weak parameters when creating', async () => {
    await expect(createRootKeyFile(join(dir, 'short.key'), { passphrase: 'short' })).rejects.toBeInstanceOf(
      InvalidInputError,
    )
    await expect(
      createRootKeyFile(join(dir, 'weak.key'), { passphrase: PASS, scrypt: { N: 1024, r: 8, p: 1 } }),
    ).rejects.toBeInstanceOf(InvalidInputError)
  })

  it('opens an insecure-dev key file only when dev mode is explicitly allowed', async () => {
    const path = join(dir, 'dev.key')
    const key = await createRootKeyFile(path, { insecureDev: true })
    const file = JSON.parse(await readFile(path, 'utf8'))
    expect(file.mode).toBe('insecure-dev')
    expect(file.warning).toMatch(/INSECURE/)
    expect(await readKeyFileMode(path)).toBe('insecure-dev')
    const err = await thrown(openRootKeyFile(path))
    expect(err).toBeInstanceOf(InsecureDevKeyRefusedError)
    expect(err.message).not.toContain(hex(key))
    await expect(openRootKeyFile(path, { passphrase: PASS })).rejects.toBeInstanceOf(
      InsecureDevKeyRefusedError,
    )
    expect(await openRootKeyFile(path, { allowInsecureDev: true })).toEqual(key)
  })
})
