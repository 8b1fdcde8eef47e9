/**
 * A sliding-window limit on failed attempts, per key (a client address) and over all keys at once
 * (an attacker with many addresses on the LAN). Used for pairing: 5 wrong codes a minute.
 */
export interface AttemptLimiterOptions {
  perKey: number
  global: number
  windowMs: number
  now?: () => number
}

export class AttemptLimiter {
  readonly #options: Required<AttemptLimiterOptions>
  readonly #byKey = new Map<string, number[]>()
  #all: number[] = []

  constructor(options: AttemptLimiterOptions) {
    this.#options = { now: Date.now, ...options }
  }

  /** Seconds to wait before the next attempt is allowed for `key`; 0 when it may go ahead. */
  retryAfter(key: string): number {
    const now = this.#options.now()
    const mine = this.#recent(this.#byKey.get(key) ?? [], now)
    this.#all = this.#recent(this.#all, now)
    if (mine.length) this.#byKey.set(key, mine)
    else this.#byKey.delete(key)
    const waits: number[] = []
    if (mine.length >= this.#options.perKey) waits.push((mine[0] as number) + this.#options.windowMs - now)
    if (this.#all.length >= this.#options.global) {
      waits.push((this.#all[0] as number) + this.#options.windowMs - now)
    }
    return waits.length ? Math.max(1, Math.ceil(Math.max(...waits) / 1000)) : 0
  }

  /** Counts one failed attempt by `key`. */
  failed(key: string): void {
    const now = this.#options.now()
    const mine = this.#byKey.get(key) ?? []
    mine.push(now)
    this.#byKey.set(key, mine)
    this.#all.push(now)
    // Bounded memory under a flood of addresses: old windows are dropped as they pass.
    if (this.#byKey.size > 10_000) {
      for (const [k, times] of this.#byKey) if (!this.#recent(times, now).length) this.#byKey.delete(k)
    }
  }

  #recent(times: number[], now: number): number[] {
    const since = now - this.#options.windowMs
    let i = 0
    while (i < times.length && (times[i] as number) <= since) i++
    return i === 0 ? times : times.slice(i)
  }
}
