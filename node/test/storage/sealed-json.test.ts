/**
 * Sealed state files: what a thief of the data directory (or a backup of it) reads, and what a
 * tampered file does. Property tests over arbitrary JSON values and arbitrary edits.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  openStateText,
  readSealedJsonFile,
  SealedStateError,
  sealedStateKey,
  sealJson,
  writeSealedJsonAtomic,
} from '../../src/storage/sealed-json.ts'

const secret = new Uint8Array(32).fill(7)
const key = sealedStateKey(secret, 'ingest-state')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkm-sealed-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// JSON values as the state files hold them (no -0, which JSON does not keep).
const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)

describe('sealed state files', () => {
  it('round-trips any JSON value, and the text shows none of it', () => {
    fc.assert(
      fc.property(jsonValue, fc.string({ minLength: 6, maxLength: 20 }), (value, marker) => {
        const text = sealJson({ value, marker }, key, 'ingest-state')
        expect(openStateText(text, key, 'ingest-state', 'f')).toEqual({
          value: { value, marker },
          sealed: true,
        })
        expect(text.includes(JSON.stringify(marker))).toBe(false)
      }),
    )
  })

  it('refuses any edit of the ciphertext, another key and another purpose', () => {
    const text = sealJson({ readings: [428, 432, 187, 57], salt: '123' }, key, 'ingest-state')
    const envelope = JSON.parse(text) as { ciphertext: string }
    const bytes = Buffer.from(envelope.ciphertext, 'base64')
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const edited = Buffer.from(bytes)
        edited[at] = (edited[at] as number) ^ flip
        const tampered = JSON.stringify({ ...envelope, ciphertext: edited.toString('base64') })
        expect(() => openStateText(tampered, key, 'ingest-state', 'f')).toThrow(SealedStateError)
      }),
    )
    const other = sealedStateKey(new Uint8Array(32).fill(8), 'ingest-state')
    expect(() => openStateText(text, other, 'ingest-state', 'f')).toThrow(
      /does not open with this household's key/,
    )
    expect(() => openStateText(text, key, 'virtual-meter', 'f')).toThrow(SealedStateError)
    // The purpose is bound into the key too: a file moved to another purpose's name does not open.
    const relabelled = JSON.stringify({ ...JSON.parse(text), purpose: 'virtual-meter' })
    expect(() =>
      openStateText(relabelled, sealedStateKey(secret, 'virtual-meter'), 'virtual-meter', 'f'),
    ).toThrow(SealedStateError)
  })

  it('writes 0600 atomically, reads legacy plain JSON as unsealed, and undefined when absent', async () => {
    const path = join(dir, 'state.json')
    expect(await readSealedJsonFile(path, key, 'ingest-state')).toBeUndefined()
    await writeSealedJsonAtomic(path, { a: 1n }, key, 'ingest-state')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await readSealedJsonFile(path, key, 'ingest-state')).toEqual({ value: { a: '1' }, sealed: true })
    expect(await readFile(path, 'utf8')).not.toContain('"a"')
    await writeFile(path, '{"v":1,"readings":[1,2]}')
    expect(await readSealedJsonFile(path, key, 'ingest-state')).toEqual({
      value: { v: 1, readings: [1, 2] },
      sealed: false,
    })
  })

  it('derives different keys per purpose and refuses a secret that is not 32 bytes', () => {
    expect(Buffer.from(sealedStateKey(secret, 'a')).equals(Buffer.from(sealedStateKey(secret, 'b')))).toBe(
      false,
    )
    expect(() => sealedStateKey(new Uint8Array(16), 'a')).toThrow(SealedStateError)
  })
})
