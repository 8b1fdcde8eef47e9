/**
 * The household's mesh identity, created once and kept under `<dataDir>/mesh/keys.json` (0600):
 * never logged, never sent (only the public halves leave the node, in signed announcements).
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidInputError } from '#protocol/errors.ts'

export class MeshKeyFileError extends InvalidInputError {
  override name = 'MeshKeyFileError'
}

export interface MeshKeys {
  privateKey: PrivateKey
  x25519PrivateKey: Uint8Array
  peerId: string
}

/**
 * The mesh identity of this home, created once: the libp2p key (its peer id is what neighbours list
 * as a static peer) and the X25519 key (pair keys with every member derive from it, so a new one
 * would re-key the whole area's masks). Written whole to a private temporary file, then linked into
 * place: link() refuses an existing name, so two starts cannot make two identities, and neither can
 * read the other's file half-written (an O_EXCL create is visible, empty, before its content lands).
 */
export async function loadOrCreateMeshKeys(dataDir: string): Promise<MeshKeys> {
  const dir = join(dataDir, 'mesh')
  const file = join(dir, 'keys.json')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text === undefined) {
    const privateKey = await generateKeyPair('Ed25519')
    const body = {
      format: 'zkmeter-mesh-keys',
      version: 1,
      libp2pPrivateKey: Buffer.from(privateKeyToProtobuf(privateKey)).toString('base64'),
      x25519PrivateKey: randomBytes(32).toString('hex'),
    }
    const draft = join(dir, `keys.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    await writeFile(draft, `${JSON.stringify(body, null, 2)}\n`, { flag: 'wx', mode: 0o600 })
    try {
      await link(draft, file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      await rm(draft, { force: true })
    }
    text = await readFile(file, 'utf8')
  }
  let parsed: { format?: unknown; libp2pPrivateKey?: unknown; x25519PrivateKey?: unknown }
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new MeshKeyFileError(`${file} is not valid JSON`)
  }
  if (
    parsed.format !== 'zkmeter-mesh-keys' ||
    typeof parsed.libp2pPrivateKey !== 'string' ||
    typeof parsed.x25519PrivateKey !== 'string' ||
    !/^[0-9a-f]{64}$/.test(parsed.x25519PrivateKey)
  ) {
    throw new MeshKeyFileError(`${file} is not a zkmeter mesh key file`)
  }
  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(Buffer.from(parsed.libp2pPrivateKey, 'base64'))
  } catch {
    throw new MeshKeyFileError(`${file} holds an unreadable libp2p key`)
  }
  return {
    privateKey,
    x25519PrivateKey: new Uint8Array(Buffer.from(parsed.x25519PrivateKey, 'hex')),
    peerId: peerIdFromPrivateKey(privateKey).toString(),
  }
}
