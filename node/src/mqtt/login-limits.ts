/**
 * Limits on failed MQTT logins, per client address and per user name, with exponential backoff.
 *
 * Passwords are 192 random bits (passwords.ts), so guessing one is hopeless; what a login flood
 * costs is PBKDF2 time (a few ms of a core per CONNECT) and log noise, and a person-chosen password
 * (an external Mosquitto's, or one set by hand) would be guessable. So:
 *
 * - **Per address.** After `addressFailures` failed logins from one address, that address must wait
 *   `baseDelayMs`, doubling with every further failure up to `maxAddressDelayMs`. While it waits,
 *   every CONNECT from it is refused at once — even with the right password, so the refusal tells a
 *   guesser nothing — and costs no PBKDF2. A successful login clears the address's record.
 * - **Per user name** (names that exist: an unknown name costs no PBKDF2 and gets no state, so a
 *   flood of invented names cannot grow the table). After `userFailures` failures for one name
 *   from any addresses (an attacker with many addresses on the LAN), attempts on that name are
 *   checked one at a time, spaced `baseDelayMs` apart, doubling per further failure up to
 *   `maxUserDelayMs`; they wait their turn rather than being refused, so the real meter, logging in
 *   from its own address with its own password, still gets in (after at most the waiting queue).
 *   At most `maxWaiting` attempts from addresses with failures on record wait per name; more are
 *   refused at once. An address without failures is not refused for a queue others filled.
 *
 * Failures are forgotten `forgetAfterMs` after the last one. State is in memory (a restart forgets
 * it) and bounded: at most `maxAddresses` addresses are tracked, the least recently failing dropped.
 */
import { ZkMeterError } from '#protocol/errors.ts'

export interface LoginLimitOptions {
  /** Failed logins from one address before it has to wait. Default 5. */
  addressFailures?: number
  /** Failed logins for one user name (any address) before its attempts are spaced out. Default 10. */
  userFailures?: number
  /** The first wait; it doubles with every further failure. Default 1 s. */
  baseDelayMs?: number
  /** The longest an address is made to wait. Default 15 minutes. */
  maxAddressDelayMs?: number
  /** The longest spacing between two checked attempts on one user name. Default 4 s. */
  maxUserDelayMs?: number
  /** Failures older than this (since the last one) are forgotten. Default 15 minutes. */
  forgetAfterMs?: number
  /**
   * Attempts that may wait for one user name; more are refused (from an address with failures on
   * record; a clean address may wait among up to 8× as many). Default 4.
   */
  maxWaiting?: number
  /** Addresses tracked at most. Default 10,000. */
  maxAddresses?: number
  now?: () => number
}

/** A CONNECT refused by the limits (CONNACK 3, "server unavailable": try again later). */
export class TooManyLoginAttemptsError extends ZkMeterError {
  override name = 'TooManyLoginAttemptsError'
  readonly returnCode = 3
  readonly retryAfterMs: number
  constructor(message: string, retryAfterMs: number) {
    super(message, { details: { retryAfterMs } })
    this.retryAfterMs = retryAfterMs
  }
}

/** The outcome of a checked attempt: undefined when it was not checked after all (client gone). */
export type LoginOutcome = 'success' | 'failure' | undefined

export interface LoginLimits {
  /**
   * Waits until an attempt by `username` from `address` may be checked, and resolves with the
   * function to report its outcome (which must be called exactly once); rejects with
   * TooManyLoginAttemptsError when it is refused without a check. `username` undefined: the name
   * is unknown (only the address limit applies).
   */
  admit(address: string, username: string | undefined): Promise<(outcome: LoginOutcome) => void>
}

interface AddressRecord {
  failures: number
  last: number
}

interface UserRecord {
  failures: number
  last: number
  /** When the next attempt may be checked. */
  nextAt: number
  checking: boolean
  waiting: (() => void)[]
}

/**
 * Whose failures an attempt counts against: its client address, as `admit` takes it. A LAN address
 * is one device. Every program on the node's own machine shares a loopback address — the node's
 * own sessions, the virtual meter, Home Assistant, tools — so there it is the address and user
 * name: a tool with a stale password locks out itself, not the node's ingest session.
 */
export function limitKeyFor(address: string, username: string | undefined): string {
  const loopback = address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
  return loopback ? `${address} ${String(username ?? '').slice(0, 64)}` : address
}

export function createLoginLimits(options: LoginLimitOptions = {}): LoginLimits {
  const o = {
    addressFailures: 5,
    userFailures: 10,
    baseDelayMs: 1000,
    maxAddressDelayMs: 15 * 60_000,
    maxUserDelayMs: 4000,
    forgetAfterMs: 15 * 60_000,
    maxWaiting: 4,
    maxAddresses: 10_000,
    now: Date.now,
    ...options,
  }
  for (const [name, value] of Object.entries(o)) {
    if (name !== 'now' && (!Number.isInteger(value) || (value as number) < 1)) {
      throw new RangeError(`login limit ${name} must be a positive integer, got ${String(value)}`)
    }
  }
  const addresses = new Map<string, AddressRecord>()
  const users = new Map<string, UserRecord>()

  const backoff = (failures: number, threshold: number, max: number): number =>
    failures < threshold ? 0 : Math.min(max, o.baseDelayMs * 2 ** Math.min(30, failures - threshold))

  const fresh = <R extends { last: number }>(map: Map<string, R>, key: string, now: number) => {
    const r = map.get(key)
    if (r !== undefined && now - r.last > o.forgetAfterMs) {
      map.delete(key)
      return undefined
    }
    return r
  }

  const addressWait = (address: string, now: number): number => {
    const r = fresh(addresses, address, now)
    if (r === undefined) return 0
    return Math.max(0, r.last + backoff(r.failures, o.addressFailures, o.maxAddressDelayMs) - now)
  }

  const failedFrom = (address: string, now: number): void => {
    const r = fresh(addresses, address, now) ?? { failures: 0, last: now }
    r.failures++
    r.last = now
    // Re-inserted so the map's order is least recently failing first: the one dropped when full.
    addresses.delete(address)
    addresses.set(address, r)
    if (addresses.size > o.maxAddresses) {
      const oldest = addresses.keys().next().value
      if (oldest !== undefined) addresses.delete(oldest)
    }
  }

  const userRecord = (username: string, now: number): UserRecord => {
    let r = users.get(username)
    if (r !== undefined && !r.checking && r.waiting.length === 0 && now - r.last > o.forgetAfterMs) {
      users.delete(username)
      r = undefined
    }
    if (r === undefined) {
      r = { failures: 0, last: now, nextAt: 0, checking: false, waiting: [] }
      users.set(username, r)
    }
    return r
  }

  /** Lets the next waiting attempt on this name go once the spacing has passed. */
  const next = (r: UserRecord): void => {
    if (r.checking || r.waiting.length === 0) return
    const wait = r.nextAt - o.now()
    if (wait > 0) {
      setTimeout(() => next(r), wait).unref()
      return
    }
    r.checking = true
    r.waiting.shift()?.()
  }

  return {
    async admit(address, username) {
      const now = o.now()
      const wait = addressWait(address, now)
      if (wait > 0) {
        throw new TooManyLoginAttemptsError(
          `too many failed logins from ${address}; try again in ${Math.ceil(wait / 1000)} s`,
          wait,
        )
      }
      const r = username === undefined ? undefined : userRecord(username, now)
      const spaced = r !== undefined && r.failures >= o.userFailures
      if (r !== undefined && spaced) {
        // An address with no failures on record (the meter's own, usually) is not turned away by a
        // queue full of others' attempts; the hard cap only bounds memory.
        const clean = fresh(addresses, address, now) === undefined
        if (r.waiting.length >= (clean ? o.maxWaiting * 8 : o.maxWaiting)) {
          const spacing = backoff(r.failures, o.userFailures, o.maxUserDelayMs)
          throw new TooManyLoginAttemptsError(
            `too many logins as ${username} are waiting; try again in ${Math.ceil(spacing / 1000)} s`,
            spacing * r.waiting.length,
          )
        }
        await new Promise<void>((resolve) => {
          r.waiting.push(resolve)
          next(r)
        })
        // Its own failures may have locked the address while this attempt waited.
        const late = addressWait(address, o.now())
        if (late > 0) {
          r.checking = false
          next(r)
          throw new TooManyLoginAttemptsError(
            `too many failed logins from ${address}; try again in ${Math.ceil(late / 1000)} s`,
            late,
          )
        }
      }
      let reported = false
      return (outcome) => {
        if (reported) return
        reported = true
        const at = o.now()
        if (outcome === 'failure') failedFrom(address, at)
        if (outcome === 'success') addresses.delete(address)
        if (r === undefined) return
        if (outcome === 'failure') {
          r.failures++
          r.last = at
        }
        if (outcome === 'success') r.failures = 0
        if (spaced) {
          r.checking = false
          // An attempt that was not checked after all cost nothing: the next one need not wait.
          if (outcome !== undefined) r.nextAt = at + backoff(r.failures, o.userFailures, o.maxUserDelayMs)
          next(r)
        }
      }
    },
  }
}
