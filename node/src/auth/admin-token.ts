/**
 * The node's admin token: a fresh bearer token written at every start to
 * `<dataDir>/auth/admin-token` (0600), the way Jupyter and Docker hand their local CLI a
 * credential. Whoever can read the data directory already holds the household's keys; the token
 * gives the local `zkmeter status|bills|pay|tokens|pair …` the resident role, and nobody else.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/json-file.ts'
import { authDir } from './credential-store.ts'
import { newSecret } from './secrets.ts'

export const ADMIN_TOKEN_PREFIX = 'zkma_'

export function adminTokenFile(dataDir: string): string {
  return join(authDir(dataDir), 'admin-token')
}

export async function writeAdminToken(dataDir: string): Promise<string> {
  const token = newSecret(ADMIN_TOKEN_PREFIX)
  await writeFileAtomic(adminTokenFile(dataDir), `${token}\n`, 0o600)
  return token
}

/** The running node's admin token, or undefined when no node has started with this data dir. */
export async function readAdminToken(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(adminTokenFile(dataDir), 'utf8')).trim() || undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
