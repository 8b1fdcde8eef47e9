/** A tiny typed listener registry: `on` returns its own unsubscribe, and a throwing listener is contained. */
export interface Emitter<E extends Record<string, unknown>> {
  on<K extends keyof E>(event: K, listener: (value: E[K]) => void): () => void
  emit<K extends keyof E>(event: K, value: E[K]): void
  clear(): void
}

export function createEmitter<E extends Record<string, unknown>>(onListenerError: (error: unknown) => void) {
  const listeners = new Map<keyof E, Set<(value: never) => void>>()
  const emitter: Emitter<E> = {
    on(event, listener) {
      let set = listeners.get(event)
      if (set === undefined) {
        set = new Set()
        listeners.set(event, set)
      }
      set.add(listener as (value: never) => void)
      return () => {
        set.delete(listener as (value: never) => void)
      }
    },
    emit(event, value) {
      for (const listener of listeners.get(event) ?? []) {
        try {
          ;(listener as (value: E[typeof event]) => void)(value)
        } catch (error) {
          onListenerError(error)
        }
      }
    },
    clear() {
      listeners.clear()
    },
  }
  return emitter
}

/** Per-key token buckets: a peer may burst `burst` messages, then `perSecond`; bounded key count. */
export function createRateLimiter(burst: number, perSecond: number, now: () => number, maxKeys = 10_000) {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return (key: string): boolean => {
    const t = now()
    let b = buckets.get(key)
    if (b === undefined) {
      if (buckets.size >= maxKeys) buckets.clear()
      b = { tokens: burst, at: t }
      buckets.set(key, b)
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond)
    b.at = t
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }
}
