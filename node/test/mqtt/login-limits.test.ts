/**
 * Brute-forcing MQTT logins against the embedded broker (docs/security.md, "The MQTT broker"):
 * a loop of wrong passwords from one address is refused after five without its passwords being
 * checked (no PBKDF2), even the right password while it waits; many addresses against one user
 * name are slowed to one check at a time with doubling spacing; and the right login from another
 * address still gets in. Before the limits every attempt was checked, at full speed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Broker, createBroker } from '../../src/mqtt/broker.ts'
import type { CredentialStore } from '../../src/mqtt/credentials.ts'
import {
  createLoginLimits,
  type LoginLimitOptions,
  limitKeyFor,
  TooManyLoginAttemptsError,
} from '../../src/mqtt/login-limits.ts'
import { connackCode } from './raw-connect.ts'
import { createTestUsers, type TestUsers } from './users.ts'

let users: TestUsers
const brokers: Broker[] = []
beforeAll(async () => {
  users = await createTestUsers()
})
afterAll(() => users.remove())
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.stop()
})

/** The broker on a store that notes every password check (each one is a PBKDF2). */
async function brokerWithChecks(loginLimits: LoginLimitOptions) {
  const checks: { username: string; at: number }[] = []
  const store: Pick<CredentialStore, 'authenticate' | 'get'> = {
    get: (name) => users.store.get(name),
    async authenticate(username, password) {
      checks.push({ username: String(username), at: performance.now() })
      return users.store.authenticate(username, password)
    },
  }
  const broker = createBroker({ port: 0, credentials: store, loginLimits })
  brokers.push(broker)
  await broker.start()
  return { broker, checks }
}

describe('failed MQTT logins from one address', () => {
  it('refuses a brute-force loop after five failures without checking, and lets another address in', async () => {
    let now = 1_000_000
    const { broker, checks } = await brokerWithChecks({ now: () => now })
    const login = await users.meter('meter-brute-1')
    const attempt = (localAddress: string, password: string) =>
      connackCode({
        port: broker.port,
        localAddress,
        clientId: login.username,
        username: login.username,
        password,
      })

    const codes: (number | 'closed')[] = []
    for (let i = 0; i < 20; i++) codes.push(await attempt('127.0.0.1', `guess-${i}`))
    expect(codes.slice(0, 5)).toEqual([4, 4, 4, 4, 4])
    expect(codes.slice(5)).toEqual(Array(15).fill(3))
    expect(checks).toHaveLength(5)
    // Locked: even the right password is refused there, and not checked (no oracle, no PBKDF2).
    expect(await attempt('127.0.0.1', login.password)).toBe(3)
    expect(checks).toHaveLength(5)
    // The meter, from its own address, logs in.
    expect(await attempt('127.0.0.2', login.password)).toBe(0)
    // On the node's own machine every program shares the loopback address: another user there
    // (the node's own session) is not locked out by this one's failures.
    expect(
      await connackCode({
        port: broker.port,
        localAddress: '127.0.0.1',
        clientId: 'zkmeter-node-ingest',
        ...users.node,
      }),
    ).toBe(0)
    // The locked address waits 1 s after its fifth failure; then it may try again.
    now += 1000
    expect(await attempt('127.0.0.1', login.password)).toBe(0)
  })
})

describe('failed MQTT logins for one user name from many addresses', () => {
  it('checks them one at a time with doubling spacing, and the right login still gets in', async () => {
    const base = 100
    const { broker, checks } = await brokerWithChecks({
      addressFailures: 2,
      userFailures: 3,
      baseDelayMs: base,
      maxUserDelayMs: 4 * base,
    })
    const login = await users.meter('meter-brute-2')
    const attempt = (localAddress: string, password: string) =>
      connackCode({
        port: broker.port,
        localAddress,
        clientId: login.username,
        username: login.username,
        password,
      })
    // Three failures from three addresses: below the per-name limit, checked at once.
    for (let i = 1; i <= 3; i++) expect(await attempt(`127.0.1.${i}`, 'wrong')).toBe(4)
    // Now eight addresses at once: queued, one check at a time, the spacing doubling per failure.
    const started = performance.now()
    const codes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => attempt(`127.0.2.${i + 1}`, `guess-${i}`)),
    )
    expect(codes).toEqual(Array(8).fill(4))
    // Then the meter, from an address of its own, with its password: it waits its turn and gets in.
    expect(await attempt('127.0.3.1', login.password)).toBe(0)
    const spaced = checks.filter((c) => c.at >= started).map((c) => c.at)
    expect(spaced).toHaveLength(9)
    // After failure n (n ≥ 3) the next check waits base · 2^(n−3), at most 4 · base.
    for (let i = 1; i < spaced.length; i++) {
      const wait = Math.min(4 * base, base * 2 ** i)
      expect(spaced[i]! - spaced[i - 1]!).toBeGreaterThanOrEqual(wait - 2)
    }
  })
})

describe('createLoginLimits', () => {
  it('counts a LAN address as one device, and loopback per user name', () => {
    expect(limitKeyFor('192.168.1.40', 'meter-a')).toBe(limitKeyFor('192.168.1.40', 'homeassistant'))
    expect(limitKeyFor('fd00::40', 'meter-a')).toBe('fd00::40')
    for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1'])
      expect(limitKeyFor(local, 'homeassistant')).not.toBe(limitKeyFor(local, 'node'))
  })

  it('doubles an address wait with every failure, forgets after a success or in time', async () => {
    let now = 0
    const limits = createLoginLimits({ now: () => now, forgetAfterMs: 60_000 })
    const fail = async (address = 'a') => (await limits.admit(address, undefined))('failure')
    const waitOf = async (address = 'a') => {
      try {
        ;(await limits.admit(address, undefined))(undefined)
        return 0
      } catch (error) {
        expect(error).toBeInstanceOf(TooManyLoginAttemptsError)
        return (error as TooManyLoginAttemptsError).retryAfterMs
      }
    }
    for (let i = 0; i < 4; i++) await fail()
    expect(await waitOf()).toBe(0)
    await fail()
    expect(await waitOf()).toBe(1000)
    now += 1000
    await fail()
    expect(await waitOf()).toBe(2000)
    now += 2000
    await fail()
    expect(await waitOf()).toBe(4000)
    expect(await waitOf('b')).toBe(0)
    // Forgotten a minute after the last failure.
    now += 60_001
    expect(await waitOf()).toBe(0)
    for (let i = 0; i < 5; i++) await fail()
    now += 1000
    ;(await limits.admit('a', undefined))('success')
    await fail()
    expect(await waitOf()).toBe(0)
  })

  it('refuses attempts beyond the waiting queue from addresses that have failed', async () => {
    const limits = createLoginLimits({
      userFailures: 1,
      addressFailures: 100,
      baseDelayMs: 60_000,
      maxWaiting: 2,
    })
    ;(await limits.admit('x', 'u'))('failure')
    // The next attempt is checked at once (nothing checked since), the following ones wait.
    const first = await limits.admit('x', 'u')
    const waiting = [limits.admit('x', 'u'), limits.admit('x', 'u')]
    await expect(limits.admit('x', 'u')).rejects.toBeInstanceOf(TooManyLoginAttemptsError)
    // A clean address still gets a place in the queue.
    const clean = limits.admit('y', 'u')
    first(undefined)
    for (const w of waiting) (await w)(undefined)
    ;(await clean)('success')
  })
})
