import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MAX_SLOWDOWN, machineSlowdown } from './load.ts'
import { WaitTimeoutError, waitFor, waitUntil } from './wait.ts'

// The exact budgets below are quiet-machine figures: pin the slowdown to 1 unless a test sets it.
const saved = process.env.ZKM_TEST_SLOWDOWN
beforeEach(() => {
  process.env.ZKM_TEST_SLOWDOWN = '1'
})
afterEach(() => {
  if (saved === undefined) delete process.env.ZKM_TEST_SLOWDOWN
  else process.env.ZKM_TEST_SLOWDOWN = saved
})

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    let calls = 0
    const value = await waitFor('the third probe', () => (++calls === 3 ? { calls } : undefined), 1000)
    expect(value).toEqual({ calls: 3 })
  })

  it('awaits asynchronous probes', async () => {
    let calls = 0
    expect(await waitFor('an async probe', async () => ++calls >= 2, 1000)).toBe(true)
  })

  it('rejects with WaitTimeoutError naming what it waited for, after the whole budget', async () => {
    const started = Date.now()
    const error = await waitFor('a bill to be paid', () => undefined, 120).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WaitTimeoutError)
    expect((error as Error).message).toBe('timed out after 120 ms waiting for a bill to be paid')
    expect(Date.now() - started).toBeGreaterThanOrEqual(115)
  })

  it('probes once more at the deadline', async () => {
    const started = Date.now()
    expect(
      await waitFor('late', () => Date.now() - started >= 100 || undefined, 100, { intervalMs: 1000 }),
    ).toBe(true)
  })

  it('fails at once when the probe throws', async () => {
    const started = Date.now()
    await expect(
      waitFor(
        'a broken probe',
        () => {
          throw new Error('boom')
        },
        5000,
      ),
    ).rejects.toThrow('boom')
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

describe('waitUntil', () => {
  it('resolves once the condition holds, and names the condition on timeout', async () => {
    let n = 0
    await waitUntil(() => ++n > 2, 1000)
    await expect(waitUntil(() => false, 50, 'the meter to go offline')).rejects.toThrow(
      'timed out after 50 ms waiting for the meter to go offline',
    )
  })
})

describe('budgets on a busy machine', () => {
  it('measures the slowdown from the load per core, between 1 and the cap', () => {
    delete process.env.ZKM_TEST_SLOWDOWN
    const slowdown = machineSlowdown()
    expect(slowdown).toBeGreaterThanOrEqual(1)
    expect(slowdown).toBeLessThanOrEqual(MAX_SLOWDOWN)
    process.env.ZKM_TEST_SLOWDOWN = '100'
    expect(machineSlowdown()).toBe(MAX_SLOWDOWN)
  })
})
