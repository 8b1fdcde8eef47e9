import { describe, expect, it } from 'vitest'
import { createManualClock, createScaledClock } from '../../src/meter/clock.ts'
import { InvalidMeterOptionError } from '../../src/meter/errors.ts'

describe('simulated clocks', () => {
  it('a manual clock moves only on advance and waits for its listeners', async () => {
    const clock = createManualClock(1000)
    const seen: number[] = []
    const unsubscribe = clock.subscribe(async (now) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      seen.push(now)
    })
    expect(clock.now()).toBe(1000)
    await clock.advance(60)
    expect(seen).toEqual([1060])
    // Queued advances are relative to each other and delivered in order.
    await Promise.all([clock.advance(10), clock.advance(10), clock.advanceTo(1100)])
    expect(seen).toEqual([1060, 1070, 1080, 1100])
    unsubscribe()
    await clock.advance(1)
    expect(seen).toHaveLength(4)
    await expect(clock.advance(-1)).rejects.toBeInstanceOf(InvalidMeterOptionError)
    await expect(clock.advanceTo(5)).rejects.toBeInstanceOf(InvalidMeterOptionError)
  })

  it('a failing listener does not wedge later advances', async () => {
    const clock = createManualClock(0)
    let calls = 0
    clock.subscribe(() => {
      calls++
      if (calls === 1) throw new Error('boom')
    })
    await expect(clock.advance(1)).rejects.toThrow('boom')
    await clock.advance(1)
    expect(calls).toBe(2)
  })

  it('a scaled clock runs speed× real time and ticks only while subscribed', async () => {
    const clock = createScaledClock({ start: 1_000_000, speed: 1440, tickMs: 20 })
    const ticks: number[] = []
    const unsubscribe = clock.subscribe((now) => {
      ticks.push(now)
    })
    await new Promise((resolve) => setTimeout(resolve, 250))
    unsubscribe()
    const count = ticks.length
    expect(count).toBeGreaterThan(3)
    expect(ticks.at(-1)! - 1_000_000).toBeGreaterThan(0.1 * 1440)
    expect(ticks.at(-1)! - 1_000_000).toBeLessThan(2 * 1440)
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(ticks.length).toBe(count)
  })

  it('a scaled clock told to start on first read holds its start until then', async () => {
    const held = createScaledClock({ start: 1_000_000, speed: 1440, startOnFirstRead: true })
    const running = createScaledClock({ start: 1_000_000, speed: 1440 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    // 100 ms at 1440× is 144 simulated seconds for the running clock; the held one starts now.
    expect(running.now() - 1_000_000).toBeGreaterThanOrEqual(0.09 * 1440)
    expect(held.now() - 1_000_000).toBeLessThan(0.09 * 1440)
    const first = held.now()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(held.now()).toBeGreaterThan(first)
  })

  it('validates its options', () => {
    expect(() => createManualClock(-1)).toThrow(InvalidMeterOptionError)
    expect(() => createScaledClock({ start: 0, speed: 0 })).toThrow(/speed/)
    expect(() => createScaledClock({ start: 0, speed: 1, tickMs: 1 })).toThrow(/tickMs/)
  })
})
