/**
 * The alert ids this node has seen, each until its alert expires: receivers surface an alert once.
 * Bounded: expired ids go first, and a flood of live ones drops the oldest, so it cannot grow memory.
 */
const MAX_SEEN = 10_000

export function createSeenAlerts(nowS: () => number) {
  /** id → expiry (unix s). */
  const seen = new Map<string, number>()
  return {
    has: (id: string) => seen.has(id),
    remember(id: string, expiry: number) {
      if (seen.size >= MAX_SEEN) {
        const t = nowS()
        for (const [k, exp] of seen) if (exp < t) seen.delete(k)
        // Still full of live ids: drop the oldest, a flood cannot grow memory.
        for (const oldest of seen.keys()) {
          if (seen.size < MAX_SEEN) break
          seen.delete(oldest)
        }
      }
      seen.set(id, expiry)
    },
  }
}

export type SeenAlerts = ReturnType<typeof createSeenAlerts>
