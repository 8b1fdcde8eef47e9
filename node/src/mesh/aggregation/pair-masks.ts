/**
 * This member's pairwise masks (docs/aggregation.md §2): pair keys derived once and cached, the signed
 * mask with one other member for a round, and the sum of them over its graph neighbours (§2a) without
 * blocking the event loop.
 */
import { maskShare, pairKey, pairMask, signedMask } from '../masking.ts'
import type { Member } from '../membership.ts'

/** Longest stretch of pair-key derivation before maskSum() lets other work (pings, gossip) run. */
const YIELD_EVERY_MS = 5
const MAX_CACHED_KEYS = 10_000

export interface PairMasks {
  /** s_ij·m_ij(t): this member's signed mask with `other` for round `t`. */
  maskWith(self: Member, other: Member, t: number): bigint
  /** Σ_j s_ij·m_ij(t) over this member's graph neighbours (`self` itself is skipped if listed). */
  maskSum(self: Member, neighbours: readonly Member[], t: number): Promise<bigint>
}

export function createPairMasks(area: number, x25519PrivateKey: Uint8Array): PairMasks {
  const pairKeys = new Map<string, Uint8Array>()

  function keyWith(self: Member, other: Member): Uint8Array {
    const id = `${other.meter}:${other.x25519PublicKey}:${self.x25519PublicKey}`
    let key = pairKeys.get(id)
    if (key === undefined) {
      key = pairKey(area, self, x25519PrivateKey, other)
      if (pairKeys.size > MAX_CACHED_KEYS) pairKeys.clear()
      pairKeys.set(id, key)
    }
    return key
  }

  function maskWith(self: Member, other: Member, t: number): bigint {
    return signedMask(self.meter, other.meter, pairMask(keyWith(self, other), area, t))
  }

  /**
   * Yields to the event loop every few milliseconds. A first round derives every neighbour's pair key
   * (HKDF, and X25519 unless cached since the announcement check): with the complete graph of a small
   * area, or a caller passing a whole view, that is up to 999 in one stretch, which starves the host's
   * libp2p timers, and a busy host then aborts connections whose keep-alive ping timed out
   * (docs/benchmarks/mesh.md).
   */
  async function maskSum(self: Member, neighbours: readonly Member[], t: number): Promise<bigint> {
    let sum = 0n
    let slice = performance.now()
    for (const other of neighbours) {
      if (other.meter === self.meter) continue
      sum = maskShare(sum, [maskWith(self, other, t)])
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve))
        slice = performance.now()
      }
    }
    return sum
  }

  return { maskWith, maskSum }
}
