/**
 * One-time pairing codes: issued to someone who can already reach the node (its terminal, the CLI
 * with the admin token, a resident's session), short-lived, single use, kept only as SHA-256 in
 * memory (a restart voids them), and compared in constant time.
 */
import type { Role } from '#protocol/api/types.ts'
import { hashSecret, newPairingCode, normalizePairingCode, sameDigest } from './secrets.ts'

export const PAIRING_CODE_TTL_MS = 10 * 60_000

interface PendingCode {
  digest: string
  role: Role
  expiresAt: number
}

export class PairingCodes {
  readonly #pending: PendingCode[] = []
  readonly #now: () => number
  readonly #ttlMs: number

  constructor(options: { now?: () => number; ttlMs?: number } = {}) {
    this.#now = options.now ?? Date.now
    this.#ttlMs = options.ttlMs ?? PAIRING_CODE_TTL_MS
  }

  issue(role: Role): { code: string; role: Role; expiresAt: number } {
    this.#prune()
    const code = newPairingCode()
    const expiresAt = this.#now() + this.#ttlMs
    this.#pending.push({ digest: hashSecret(code), role, expiresAt })
    // A handful of live codes at most: the oldest goes first.
    if (this.#pending.length > 20) this.#pending.shift()
    return { code, role, expiresAt }
  }

  /** The role the code grants, consuming it; undefined for a wrong, used or expired code. */
  redeem(input: string): Role | undefined {
    this.#prune()
    const digest = hashSecret(normalizePairingCode(input))
    // Every pending code is compared (constant time each), whichever matches.
    let match = -1
    this.#pending.forEach((pending, i) => {
      if (sameDigest(pending.digest, digest)) match = i
    })
    if (match < 0) return undefined
    const [used] = this.#pending.splice(match, 1)
    return used?.role
  }

  #prune(): void {
    const now = this.#now()
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      if ((this.#pending[i] as PendingCode).expiresAt <= now) this.#pending.splice(i, 1)
    }
  }
}
