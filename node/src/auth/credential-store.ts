/**
 * Sessions (paired browsers) and bearer tokens (CLI, Home Assistant), kept in
 * `<dataDir>/auth/credentials.json` (0600, in a 0700 directory, replaced atomically) so they
 * survive a restart. Only the SHA-256 of each secret is stored: the file lets nobody in.
 */
import { chmod, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Role } from '#protocol/api/types.ts'
import { CorruptStateFileError, readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'

export type CredentialKind = 'session' | 'token'

export interface StoredCredential {
  kind: CredentialKind
  /** Public: what a list shows and `revoke` takes. */
  id: string
  /** SHA-256 (hex) of the secret. */
  digest: string
  name: string
  role: Role
  /** Unix ms. */
  createdAt: number
  /** Unix ms; tokens last until revoked. */
  expiresAt?: number
}

interface CredentialsFile {
  version: 1
  credentials: StoredCredential[]
}

export function authDir(dataDir: string): string {
  return join(dataDir, 'auth')
}

function isCredential(value: unknown): value is StoredCredential {
  const c = value as StoredCredential
  return (
    !!c &&
    (c.kind === 'session' || c.kind === 'token') &&
    typeof c.id === 'string' &&
    /^[0-9a-f]{64}$/.test(c.digest) &&
    typeof c.name === 'string' &&
    (c.role === 'resident' || c.role === 'read-only') &&
    typeof c.createdAt === 'number' &&
    (c.expiresAt === undefined || typeof c.expiresAt === 'number')
  )
}

export class CredentialStore {
  readonly #file: string
  readonly #byDigest = new Map<string, StoredCredential>()
  readonly #now: () => number
  #writing: Promise<void> = Promise.resolve()

  private constructor(file: string, now: () => number) {
    this.#file = file
    this.#now = now
  }

  static async open(dataDir: string, now: () => number = Date.now): Promise<CredentialStore> {
    const dir = authDir(dataDir)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
    const store = new CredentialStore(join(dir, 'credentials.json'), now)
    const doc = (await readJsonFile(store.#file)) as CredentialsFile | undefined
    if (doc !== undefined) {
      if (doc?.version !== 1 || !Array.isArray(doc.credentials) || !doc.credentials.every(isCredential)) {
        throw new CorruptStateFileError(
          `${store.#file} is not a credentials file: remove it (every device then pairs again)`,
        )
      }
      for (const credential of doc.credentials) store.#byDigest.set(credential.digest, credential)
    }
    return store
  }

  /** The live credential with this secret digest (an expired one is dropped on sight). */
  find(digest: string): StoredCredential | undefined {
    const credential = this.#byDigest.get(digest)
    if (!credential) return undefined
    if (credential.expiresAt !== undefined && credential.expiresAt <= this.#now()) {
      this.#byDigest.delete(digest)
      void this.#persist()
      return undefined
    }
    return credential
  }

  async add(credential: StoredCredential): Promise<void> {
    this.#byDigest.set(credential.digest, credential)
    await this.#persist()
  }

  /** Removes a credential by its public id; false when there is none of that kind. */
  async revoke(kind: CredentialKind, id: string): Promise<boolean> {
    for (const [digest, credential] of this.#byDigest) {
      if (credential.kind === kind && credential.id === id) {
        this.#byDigest.delete(digest)
        await this.#persist()
        return true
      }
    }
    return false
  }

  list(kind: CredentialKind): StoredCredential[] {
    const now = this.#now()
    return [...this.#byDigest.values()]
      .filter((c) => c.kind === kind && (c.expiresAt === undefined || c.expiresAt > now))
      .sort((a, b) => a.createdAt - b.createdAt)
  }

  /** Writes in order, one at a time: the file always holds a state the node was in. */
  #persist(): Promise<void> {
    const now = this.#now()
    const credentials = [...this.#byDigest.values()].filter(
      (c) => c.expiresAt === undefined || c.expiresAt > now,
    )
    const doc: CredentialsFile = { version: 1, credentials }
    const write = this.#writing.then(() => writeJsonAtomic(this.#file, doc))
    this.#writing = write.catch(() => undefined)
    return write
  }
}
