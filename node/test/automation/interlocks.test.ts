/** The interlock matrix (protocol/meter/interlocks.ts) and the node's checks built on it. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRelayController, relayBit } from '#protocol/meter/relays.ts'
import {
  alarmHolds,
  checkSwitch,
  INTERLOCKS,
  InterlockRefusedError,
  interlockMasks,
  interlockStatus,
  SafetyConfirmationRequiredError,
} from '../../src/automation/interlocks.ts'

const bits = (...relays: number[]) => relays.reduce((acc, n) => acc | relayBit(n), 0)
const FIRE = 1
const GAS = 2
const FLOOD = 4
const none = { hazards: 0, latched: [] }

describe('the interlock matrix', () => {
  it('fire: fan, AC and vent off, sprinkler and buzzer on, comfort rules suspended', () => {
    expect(interlockMasks(FIRE)).toEqual({
      forcedOn: bits(6, 7),
      forcedOff: bits(1, 2, 5),
      locked: 0,
      suspendRules: true,
    })
  })

  it('gas: only the cut-off and the buzzer switch, everything else is locked', () => {
    expect(interlockMasks(GAS)).toEqual({
      forcedOn: bits(7),
      forcedOff: bits(8),
      locked: bits(1, 2, 3, 4, 5, 6),
      suspendRules: true,
    })
  })

  it('flood: appliance circuits off and the buzzer on; the comfort rules keep running', () => {
    expect(interlockMasks(FLOOD)).toEqual({
      forcedOn: bits(7),
      forcedOff: bits(8),
      locked: 0,
      suspendRules: false,
    })
  })

  it('no two hazards force a relay in opposite directions, and every hazard sounds the buzzer', () => {
    for (let h = 1; h < 8; h++) {
      const m = interlockMasks(h)
      expect(m.forcedOn & m.forcedOff).toBe(0)
      expect(m.locked & (m.forcedOn | m.forcedOff)).toBe(0)
      expect(m.forcedOn & bits(7)).toBe(bits(7))
    }
    for (const interlock of Object.values(INTERLOCKS))
      for (const r of interlock.relays) expect(r.why.length).toBeGreaterThan(10)
  })

  it('property: the relay twin never shows a forced relay in the wrong state without an override', () => {
    const step = fc.oneof(
      fc.record({
        op: fc.constant('cmd' as const),
        n: fc.integer({ min: 1, max: 8 }),
        action: fc.constantFrom('on', 'off', 'toggle') as fc.Arbitrary<'on' | 'off' | 'toggle'>,
      }),
      fc.record({ op: fc.constant('fan' as const), speed: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('hazards' as const), bits: fc.integer({ min: 0, max: 7 }) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const r = createRelayController()
        let hazards = 0
        for (const s of steps) {
          const before = r.outputs()
          if (s.op === 'cmd') {
            const accepted = r.command(s.n, s.action)
            // A locked relay never changes while gas is present.
            if (interlockMasks(hazards).locked & relayBit(s.n)) expect(accepted).toBe(false)
          } else if (s.op === 'fan') r.setFanSpeed(s.speed)
          else hazards = s.bits
          if (s.op === 'hazards') r.apply(hazards)
          const m = interlockMasks(hazards)
          expect(r.outputs() & m.forcedOn).toBe(m.forcedOn)
          expect(r.outputs() & m.forcedOff).toBe(0)
          if (s.op !== 'hazards') expect((r.outputs() ^ before) & m.locked).toBe(0)
        }
      }),
    )
  })
})

describe('checkSwitch (relay API and voice)', () => {
  it('passes a command through when nothing holds the relay', () => {
    expect(checkSwitch({ kind: 'power', channel: 3, on: true }, none)).toEqual([
      { kind: 'power', channel: 3, on: true },
    ])
    expect(checkSwitch({ kind: 'power', channel: 3, on: true }, { hazards: FIRE, latched: [] })).toHaveLength(
      1,
    )
  })

  it('requires a confirmation to override a relay a fire forces, then sends it forced', () => {
    const fire = { hazards: FIRE, latched: [] }
    expect(() => checkSwitch({ kind: 'power', channel: 6, on: false }, fire)).toThrow(
      SafetyConfirmationRequiredError,
    )
    expect(() => checkSwitch({ kind: 'power', channel: 7, on: false }, fire)).toThrow(
      /Buzzer is held on by the fire alarm .*"confirm": true/,
    )
    expect(checkSwitch({ kind: 'power', channel: 6, on: false }, fire, { confirm: true })).toEqual([
      { kind: 'power', channel: 6, on: false, force: true },
    ])
    expect(checkSwitch({ kind: 'fanSpeed', speed: 2 }, fire, { confirm: true })).toEqual([
      { kind: 'power', channel: 1, on: true, force: true },
      { kind: 'fanSpeed', speed: 2 },
    ])
    // Asking for the state the interlock holds is no override.
    expect(checkSwitch({ kind: 'power', channel: 6, on: true }, fire)).toEqual([
      { kind: 'power', channel: 6, on: true },
    ])
  })

  it('refuses every switch in gas but the cut-off, even confirmed', () => {
    const gas = { hazards: GAS, latched: [] }
    for (const channel of [1, 2, 3, 4, 5, 6]) {
      for (const on of [true, false]) {
        expect(() => checkSwitch({ kind: 'power', channel, on }, gas, { confirm: true })).toThrow(
          InterlockRefusedError,
        )
      }
    }
    expect(() => checkSwitch({ kind: 'power', channel: 8, on: true }, gas, { confirm: true })).toThrow(
      /Appliance circuits: switching is refused while gas is detected/,
    )
    expect(checkSwitch({ kind: 'power', channel: 8, on: false }, gas)).toEqual([
      { kind: 'power', channel: 8, on: false },
    ])
  })

  it('explains a relay held off by a cleared alarm and lets a confirmed switch through as a plain command', () => {
    const latched = { hazards: 0, latched: [{ hazard: 'gas' as const, alarmId: 'g1', mask: bits(8) }] }
    expect(() => checkSwitch({ kind: 'power', channel: 8, on: true }, latched)).toThrow(
      /held off after the gas \(LPG\) alarm, which has cleared but is not acknowledged: acknowledge the alarm/,
    )
    expect(checkSwitch({ kind: 'power', channel: 8, on: true }, latched, { confirm: true })).toEqual([
      { kind: 'power', channel: 8, on: true },
    ])
    expect(interlockStatus(latched).relays[7]).toMatchObject({ action: 'heldOff', hazards: ['gas'] })
    expect(interlockStatus({ hazards: FIRE, latched: [] })).toMatchObject({
      rulesSuspended: true,
      suspendedBy: ['flame'],
    })
  })
})

describe('alarmHolds (what the Safety page shows)', () => {
  const expected = [
    { channel: 7, on: true },
    { channel: 8, on: false },
  ]
  it('an active gas alarm holds its whole row; cleared, only the cut-off, which acknowledging restores', () => {
    const active = alarmHolds({
      hazard: 'gas',
      active: true,
      expected,
      before: { relays: bits(3, 8), fanSpeed: 0 },
    })
    expect(active.holds.map((h) => `${h.channel}:${h.state}`)).toEqual([
      '1:locked',
      '2:locked',
      '3:locked',
      '4:locked',
      '5:locked',
      '6:locked',
      '7:on',
      '8:off',
    ])
    expect(active.restores).toEqual([{ channel: 8, name: 'Appliance circuits', on: true }])
    const cleared = alarmHolds({ hazard: 'gas', active: false, expected })
    expect(cleared.holds).toEqual([
      {
        channel: 8,
        name: 'Appliance circuits',
        state: 'off',
        why: 'the meter keeps it off after the alarm, until you acknowledge it',
      },
    ])
    const closed = alarmHolds({
      hazard: 'gas',
      active: false,
      closedAt: 1,
      expected,
      restored: [{ kind: 'power', channel: 8, on: true }],
    })
    expect(closed).toEqual({ holds: [], restores: [{ channel: 8, name: 'Appliance circuits', on: true }] })
  })
})
