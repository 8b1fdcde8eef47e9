import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Alarm, AlarmNotFoundError, createAlarmManager } from '../../src/automation/alarms.ts'
import { createFakeClock } from '../../src/automation/clock.ts'
import type { Reading, RelayCommand } from '../../src/automation/reading.ts'

const base: Reading = {
  time: 0,
  powerW: 0,
  temperatureCenti: 2400,
  light: 500,
  gas: 0,
  water: 0,
  hazards: 0,
  relays: 0b1000_0000,
  fanSpeed: 0,
}
const SAFE_GAS = 0b0100_0000 // buzzer (7) on, appliances (8) off, nothing else switched
const LATCHED = 0b0000_0000 // gas cleared: the buzzer stops, the meter keeps the sockets off
const SAFE_FLAME = 0b1110_0000 // sprinkler (6) + buzzer (7) on, appliances still on

function setup(opts: Parameters<typeof createAlarmManager>[0] extends infer O ? Partial<O> : never = {}) {
  const clock = createFakeClock(1_000_000)
  const sent: RelayCommand[] = []
  const broadcasts: string[] = []
  const manager = createAlarmManager({
    clock,
    sendCommand: (c) => sent.push(c),
    raiseAfterReadings: 3,
    raiseAfterS: 5,
    clearAfterReadings: 3,
    clearAfterS: 20,
    confirmDeadlineS: 2,
    maxResends: 2,
    broadcast: (a, e) => broadcasts.push(`${e}:${a.hazard}:${a.severity}`),
    ...opts,
  })
  manager.start()
  const feed = (fields: Partial<Reading>, advanceMs = 1000) => {
    clock.advance(advanceMs)
    manager.observeReading({ ...base, ...fields })
  }
  return { clock, sent, broadcasts, manager, feed }
}

describe('hazard alarms', () => {
  it('raises after K consecutive readings, confirms the device reacted, latches until acknowledged', () => {
    const t = setup()
    const events: string[] = []
    for (const e of ['raised', 'reacted', 'cleared', 'acknowledged', 'closed'] as const) {
      t.manager.events.on(e, (a: Alarm) => events.push(`${e}:${a.hazard}`))
    }
    t.feed({ hazards: 2, relays: SAFE_GAS })
    t.feed({ hazards: 2, relays: SAFE_GAS })
    expect(t.manager.list()).toEqual([])
    t.feed({ hazards: 2, relays: SAFE_GAS })
    const [alarm] = t.manager.list()
    expect(alarm).toMatchObject({ hazard: 'gas', severity: 'alarm', active: true, reacted: true })
    expect(t.broadcasts).toEqual(['raised:gas:alarm'])
    // The hazard goes away: the alarm stays listed (latched) until acknowledged.
    for (let i = 0; i < 10; i++) t.feed({ hazards: 0, relays: LATCHED })
    expect(t.manager.list()).toMatchObject([{ id: alarm!.id, active: false }])
    t.clock.advance(3_600_000)
    expect(t.manager.list()).toHaveLength(1)
    const acked = t.manager.acknowledge(alarm!.id, 'resident')
    expect(acked).toMatchObject({ acknowledgedBy: 'resident', closedAt: t.clock.now() })
    expect(t.manager.list()).toEqual([])
    expect(t.manager.list({ includeClosed: true })).toHaveLength(1)
    expect(events).toEqual(['raised:gas', 'reacted:gas', 'cleared:gas', 'acknowledged:gas', 'closed:gas'])
    expect(t.broadcasts).toEqual(['raised:gas:alarm', 'closed:gas:alarm'])
    // Closed: the sockets the meter latched off come back (no calm reading was seen before this
    // alarm, so "before" is the normal state: sockets on).
    expect(t.sent).toEqual([{ kind: 'power', channel: 8, on: true }])
    expect(acked.restored).toEqual([{ kind: 'power', channel: 8, on: true }])
  })

  it('raises after T seconds of continuous presence even with fewer readings', () => {
    const t = setup({ raiseAfterReadings: 100 })
    t.feed({ hazards: 1, relays: SAFE_FLAME })
    t.feed({ hazards: 1, relays: SAFE_FLAME }, 4999)
    expect(t.manager.list()).toEqual([])
    t.feed({ hazards: 1, relays: SAFE_FLAME }, 1)
    expect(t.manager.list()).toMatchObject([{ hazard: 'flame' }])
  })

  it('escalates when the device did not react by the deadline: re-sends and raises severity', () => {
    const t = setup()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 1 }) // flame, relays untouched: firmware failed
    expect(t.manager.list()).toMatchObject([{ hazard: 'flame', severity: 'alarm', reacted: false }])
    t.clock.advance(1999)
    expect(t.sent).toEqual([])
    t.clock.advance(1)
    expect(t.sent).toEqual([
      { kind: 'power', channel: 6, on: true },
      { kind: 'power', channel: 7, on: true },
    ])
    expect(t.manager.list()).toMatchObject([{ severity: 'deviceDidNotReact', resends: 1 }])
    expect(t.broadcasts).toEqual(['raised:flame:alarm', 'escalated:flame:deviceDidNotReact'])
    // The buzzer answers on stat/, the sprinkler still does not: only the sprinkler is re-sent.
    t.manager.observeRelay(7, true)
    t.clock.advance(2000)
    expect(t.sent.slice(2)).toEqual([{ kind: 'power', channel: 6, on: true }])
    t.clock.advance(10_000) // maxResends 2 reached: no more re-sends
    expect(t.sent).toHaveLength(3)
    t.manager.observeRelay(6, true)
    expect(t.manager.list()).toMatchObject([{ reacted: true, severity: 'deviceDidNotReact' }])
    t.manager.stop()
    expect(t.clock.pendingTimers()).toBe(0)
  })

  it('confirms from stat/ messages before the deadline without re-sending', () => {
    const t = setup()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 4 })
    t.manager.observeRelay(8, false)
    t.manager.observeRelay(7, true)
    expect(t.manager.list()).toMatchObject([{ hazard: 'water', reacted: true }])
    t.clock.advance(10_000)
    expect(t.sent).toEqual([])
  })

  it('acknowledging an active alarm keeps it open until the hazard clears', () => {
    const t = setup()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 2, relays: SAFE_GAS })
    const id = t.manager.list()[0]!.id
    t.manager.acknowledge(id)
    expect(t.manager.list()).toHaveLength(1)
    for (let i = 0; i < 3; i++) t.feed({ hazards: 0, relays: SAFE_GAS })
    expect(t.manager.list()).toEqual([])
    expect(t.manager.get(id)).toMatchObject({ closedAt: expect.any(Number) })
    expect(() => t.manager.acknowledge('nope')).toThrow(AlarmNotFoundError)
    expect(() => t.manager.get('nope')).toThrow(AlarmNotFoundError)
  })

  it('a hazard returning before acknowledgement reactivates the same latched alarm', () => {
    const t = setup()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 2, relays: SAFE_GAS })
    for (let i = 0; i < 3; i++) t.feed({ hazards: 0, relays: SAFE_GAS })
    const id = t.manager.list()[0]!.id
    for (let i = 0; i < 3; i++) t.feed({ hazards: 2, relays: SAFE_GAS })
    expect(t.manager.list()).toMatchObject([{ id, active: true }])
  })

  it('property: on/off noise shorter than the debounce never raises an alarm (only lists blips)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ bits: fc.integer({ min: 0, max: 7 }), gapMs: fc.integer({ min: 0, max: 2000 }) }),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 2, max: 6 }),
        (noise, k) => {
          const t = setup({ raiseAfterReadings: k, raiseAfterS: 5 })
          // Noise: a hazard bit is never set in k consecutive readings nor continuously for 5 s.
          const streak = { flame: [0, 0], gas: [0, 0], water: [0, 0] } as Record<string, [number, number]>
          for (const { bits, gapMs } of noise) {
            const now = t.clock.now() + gapMs
            let value = bits
            for (const [i, h] of (['flame', 'gas', 'water'] as const).entries()) {
              const s = streak[h]!
              const on = (value >> i) & 1
              if (on && (s[0] + 1 >= k || (s[0] > 0 && now - s[1] >= 5000))) value &= ~(1 << i)
              if ((value >> i) & 1) {
                if (s[0] === 0) s[1] = now
                s[0]++
              } else s[0] = 0
            }
            t.feed({ hazards: value }, gapMs)
          }
          // Nothing raised nor sent to the neighbours; the meter's reactions to the blips are
          // only listed as cleared blips (alarm-persistence.test.ts), one per hazard at most.
          const listed = t.manager.list()
          expect(listed.every((a) => a.blip !== undefined && !a.active)).toBe(true)
          expect(new Set(listed.map((a) => a.hazard)).size).toBe(listed.length)
          expect(t.broadcasts).toEqual([])
        },
      ),
      { numRuns: 300 },
    )
  })

  it('property: a latched alarm never clears without acknowledgement', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ bits: fc.integer({ min: 0, max: 7 }), gapMs: fc.integer({ min: 0, max: 60_000 }) }),
          {
            maxLength: 80,
          },
        ),
        (sequence) => {
          const t = setup()
          for (let i = 0; i < 3; i++) t.feed({ hazards: 7 })
          const ids = t.manager.list().map((a) => a.id)
          expect(ids).toHaveLength(3)
          for (const { bits, gapMs } of sequence) {
            t.feed({ hazards: bits, relays: bits === 0 ? 0 : 0xff }, gapMs)
            const open = t.manager.list().map((a) => a.id)
            for (const id of ids) expect(open).toContain(id)
          }
          for (let i = 0; i < 3; i++) t.feed({ hazards: 0 })
          for (const id of ids) t.manager.acknowledge(id)
          expect(t.manager.list()).toEqual([])
        },
      ),
      { numRuns: 200 },
    )
  })
})
