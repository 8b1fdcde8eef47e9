import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { createFakeClock } from '../../src/automation/clock.ts'
import type { Reading, RelayCommand } from '../../src/automation/reading.ts'
import {
  createRuleEngine,
  DEFAULT_RULE_SET,
  OverrideError,
  type Rule,
  RuleConflictError,
  type RuleSet,
  RuleValidationError,
  validateRuleSet,
} from '../../src/automation/rules.ts'

// 2026-11-23 is a Monday; T0 is 00:00 UTC that day.
const T0 = Date.UTC(2026, 10, 23)
const MIN = 60_000

function ruleSet(rules: Rule[], extra: Partial<RuleSet> = {}): RuleSet {
  return { version: 1, revision: 0, utcOffsetMinutes: 0, overrideS: 3600, rules, ...extra }
}

/** A simulated meter: applies every command immediately, like a device that always reacts. */
function harness(rules: RuleSet, start = T0 + 12 * 60 * MIN) {
  const clock = createFakeClock(start)
  const sent: RelayCommand[] = []
  const meter: Reading = {
    time: 0,
    powerW: 0,
    temperatureCenti: 2400,
    light: 500,
    gas: 0,
    water: 0,
    hazards: 0,
    relays: 0,
    fanSpeed: 0,
  }
  const engine = createRuleEngine({
    rules,
    clock,
    sendCommand: (c) => {
      sent.push(c)
      if (c.kind === 'fanSpeed') meter.fanSpeed = c.speed
      else
        meter.relays = c.on ? meter.relays | (1 << (c.channel - 1)) : meter.relays & ~(1 << (c.channel - 1))
    },
  })
  const step = (fields: Partial<Reading>, advanceMs = 10_000) => {
    clock.advance(advanceMs)
    Object.assign(meter, fields)
    return engine.evaluate({ ...meter, time: Math.floor(clock.now() / 1000) })
  }
  return { clock, sent, meter, engine, step }
}

const fan: Rule = {
  id: 'fan',
  kind: 'fanSteps',
  enabled: true,
  steps: [
    { atCenti: 2600, speed: 1 },
    { atCenti: 2800, speed: 2 },
    { atCenti: 3000, speed: 3 },
  ],
  hysteresisCenti: 50,
  minOnS: 120,
  minOffS: 60,
}

describe('fan speed steps', () => {
  it('steps up at each threshold and down only below threshold minus hysteresis', () => {
    const h = harness(ruleSet([fan]))
    expect(h.step({ temperatureCenti: 2599 })).toEqual([])
    expect(h.step({ temperatureCenti: 2600 })).toEqual([{ kind: 'fanSpeed', speed: 1 }])
    expect(h.step({ temperatureCenti: 2800 })).toEqual([{ kind: 'fanSpeed', speed: 2 }])
    expect(h.step({ temperatureCenti: 3050 })).toEqual([{ kind: 'fanSpeed', speed: 3 }])
    expect(h.step({ temperatureCenti: 2960 })).toEqual([]) // inside hysteresis of step 3
    expect(h.step({ temperatureCenti: 2950 })).toEqual([])
    expect(h.step({ temperatureCenti: 2949 })).toEqual([{ kind: 'fanSpeed', speed: 2 }])
    expect(h.step({ temperatureCenti: 2760 })).toEqual([])
    expect(h.step({ temperatureCenti: 2570 })).toEqual([{ kind: 'fanSpeed', speed: 1 }])
    expect(h.step({ temperatureCenti: 2550 })).toEqual([]) // still ≥ 2600 − 50
  })

  it('respects the minimum on time before switching off and the minimum off time before switching on', () => {
    const h = harness(ruleSet([fan]))
    expect(h.step({ temperatureCenti: 2700 })).toEqual([{ kind: 'fanSpeed', speed: 1 }])
    h.step({}, 1000) // the meter reports the fan on
    // 2 s after turning on, it is cold again: minOnS 120 holds the fan on.
    expect(h.step({ temperatureCenti: 2000 }, 1000)).toEqual([])
    expect(h.step({ temperatureCenti: 2000 }, 117_000)).toEqual([])
    expect(h.step({ temperatureCenti: 2000 }, 1000)).toEqual([{ kind: 'fanSpeed', speed: 0 }])
    h.step({}, 1000)
    expect(h.step({ temperatureCenti: 2700 }, 1000)).toEqual([]) // minOffS 60
    expect(h.step({ temperatureCenti: 2700 }, 57_000)).toEqual([])
    expect(h.step({ temperatureCenti: 2700 }, 2000)).toEqual([{ kind: 'fanSpeed', speed: 1 }])
  })
})

describe('thermostat (AC)', () => {
  const ac: Rule = {
    id: 'ac',
    kind: 'thermostat',
    enabled: true,
    relay: 2,
    onAtCenti: 3000,
    offAtCenti: 2700,
    minOnS: 300,
    minOffS: 180,
  }

  it('switches with hysteresis and minimum on/off times', () => {
    const h = harness(ruleSet([ac]))
    expect(h.step({ temperatureCenti: 2999 })).toEqual([])
    expect(h.step({ temperatureCenti: 3000 })).toEqual([{ kind: 'power', channel: 2, on: true }])
    expect(h.step({ temperatureCenti: 2800 })).toEqual([]) // between thresholds: stays on
    expect(h.step({ temperatureCenti: 2700 }, 100_000)).toEqual([]) // minOn 300 s not reached
    expect(h.step({ temperatureCenti: 2700 }, 200_000)).toEqual([{ kind: 'power', channel: 2, on: false }])
    expect(h.step({ temperatureCenti: 3100 }, 10_000)).toEqual([]) // minOff 180 s
    expect(h.step({ temperatureCenti: 3100 }, 170_000)).toEqual([{ kind: 'power', channel: 2, on: true }])
  })

  it('re-sends a command the meter has not applied after resendAfterS, not on every reading', () => {
    const clock = createFakeClock(T0)
    const sent: RelayCommand[] = []
    const engine = createRuleEngine({
      rules: ruleSet([ac]),
      clock,
      sendCommand: (c) => sent.push(c),
      resendAfterS: 30,
    })
    const r = {
      time: 0,
      powerW: 0,
      temperatureCenti: 3200,
      light: 0,
      gas: 0,
      water: 0,
      hazards: 0,
      relays: 0,
      fanSpeed: 0,
    }
    engine.evaluate(r)
    for (let i = 0; i < 5; i++) {
      clock.advance(5000)
      engine.evaluate(r)
    }
    expect(sent).toHaveLength(1)
    clock.advance(5000)
    engine.evaluate(r)
    expect(sent).toHaveLength(2)
  })
})

describe('night light', () => {
  const night: Rule = {
    id: 'night',
    kind: 'nightLight',
    enabled: true,
    relay: 4,
    onBelow: 50,
    offAbove: 120,
    window: { from: '18:00', to: '07:00' },
    minOnS: 0,
    minOffS: 0,
  }

  it('turns on in the dark only inside the local time window, with light hysteresis', () => {
    // 17:00 UTC = 22:30 at UTC+05:30: inside the window.
    const h = harness(ruleSet([night], { utcOffsetMinutes: 330 }), T0 + 17 * 60 * MIN)
    expect(h.step({ light: 60 })).toEqual([])
    expect(h.step({ light: 50 })).toEqual([{ kind: 'power', channel: 4, on: true }])
    expect(h.step({ light: 100 })).toEqual([])
    expect(h.step({ light: 120 })).toEqual([{ kind: 'power', channel: 4, on: false }])
    expect(h.step({ light: 10 })).toEqual([{ kind: 'power', channel: 4, on: true }])
    // 01:30 UTC next day = 07:00 local: the window closes and the light goes off even in the dark.
    expect(h.step({ light: 10 }, T0 + 24 * 60 * MIN + 90 * MIN - 1000 - h.clock.now())).toEqual([])
    expect(h.step({ light: 10 }, 1000)).toEqual([{ kind: 'power', channel: 4, on: false }])
  })

  it('stays off in the dark outside the window', () => {
    const h = harness(ruleSet([night]), T0 + 12 * 60 * MIN)
    expect(h.step({ light: 0 })).toEqual([])
  })
})

describe('schedules', () => {
  const weekdayLights: Rule = {
    id: 'wake',
    kind: 'schedule',
    enabled: true,
    relay: 3,
    on: true,
    at: '06:30',
    days: [1, 2, 3, 4, 5],
  }

  it('fires once when local time passes the scheduled time on a listed weekday', () => {
    const h = harness(ruleSet([weekdayLights], { utcOffsetMinutes: 60 }), T0 + 5 * 60 * MIN) // 06:00 local Monday
    expect(h.step({})).toEqual([]) // first evaluation establishes "now"
    expect(h.step({}, 20 * MIN)).toEqual([]) // 06:20
    expect(h.step({}, 10 * MIN)).toEqual([{ kind: 'power', channel: 3, on: true }]) // 06:30
    h.meter.relays = 0 // someone switched the lights off again: the schedule does not insist
    expect(h.step({}, MIN)).toEqual([])
  })

  it('does not fire on unlisted weekdays or when the time was missed beyond the grace period', () => {
    const saturday = T0 + 5 * 86_400_000
    const h = harness(ruleSet([weekdayLights]), saturday + 6 * 60 * MIN)
    h.step({})
    expect(h.step({}, 60 * MIN)).toEqual([])
    const late = harness(ruleSet([weekdayLights]), T0 + 5 * 60 * MIN)
    late.step({})
    expect(late.step({}, 3 * 60 * MIN)).toEqual([]) // 08:00, no readings since 05:00: too late
  })
})

describe('manual override', () => {
  it('holds the output against the rules until it expires', () => {
    const ac: Rule = {
      id: 'ac',
      kind: 'thermostat',
      enabled: true,
      relay: 2,
      onAtCenti: 3000,
      offAtCenti: 2700,
      minOnS: 0,
      minOffS: 0,
    }
    const h = harness(ruleSet([ac], { overrideS: 600 }))
    expect(h.step({ temperatureCenti: 3200 })).toEqual([{ kind: 'power', channel: 2, on: true }])
    expect(h.engine.override(2, false)).toEqual({ kind: 'power', channel: 2, on: false })
    expect(h.engine.overrides()).toEqual([{ output: 2, value: false, untilMs: h.clock.now() + 600_000 }])
    expect(h.step({ temperatureCenti: 3300 }, 590_000)).toEqual([])
    expect(h.step({ temperatureCenti: 3300 }, 10_000)).toEqual([{ kind: 'power', channel: 2, on: true }])
    expect(h.engine.overrides()).toEqual([])
  })

  it('overrides the fan speed and can be cleared early', () => {
    const h = harness(ruleSet([fan]))
    h.engine.override('fan', 3, 60)
    expect(h.sent).toEqual([{ kind: 'fanSpeed', speed: 3 }])
    expect(h.step({ temperatureCenti: 2000 }, 1000)).toEqual([])
    h.engine.clearOverride('fan')
    expect(h.step({ temperatureCenti: 2000 }, 200_000)).toEqual([{ kind: 'fanSpeed', speed: 0 }])
  })

  it('rejects invalid overrides with a named error', () => {
    const h = harness(ruleSet([]))
    expect(() => h.engine.override(9, true)).toThrow(OverrideError)
    expect(() => h.engine.override('fan', 4)).toThrow(OverrideError)
    expect(() => h.engine.override(2, 1)).toThrow(OverrideError)
    expect(() => h.engine.override(2, true, 0)).toThrow(OverrideError)
  })
})

describe('safety relays during a hazard', () => {
  it('never commands the safety relays while the meter reports a hazard', () => {
    const sockets: Rule = {
      id: 'sockets',
      kind: 'schedule',
      enabled: true,
      relay: 8,
      on: true,
      at: '12:01',
      days: [1],
    }
    const h = harness(ruleSet([sockets]))
    h.engine.override(5, false)
    h.sent.length = 0
    h.meter.relays = 1 << 4
    expect(h.step({ hazards: 2 }, 1000)).toEqual([])
    expect(h.step({ hazards: 2 }, 60_000)).toEqual([])
  })
})

describe('interlocks during a fire (protocol/meter/interlocks.ts)', () => {
  const ac: Rule = {
    id: 'ac',
    kind: 'thermostat',
    enabled: true,
    relay: 2,
    onAtCenti: 3100,
    offAtCenti: 2800,
    minOnS: 0,
    minOffS: 0,
  }

  it('does not switch the fan or the AC on at 39.9 °C while the meter reports a fire', () => {
    // The simulation: the flame heats the room by 15 °C (24.9 → 39.9 °C).
    const h = harness(ruleSet([fan, ac]))
    expect(h.step({ temperatureCenti: 2490 })).toEqual([])
    expect(h.step({ temperatureCenti: 3990, hazards: 1 })).toEqual([])
    expect(h.step({ temperatureCenti: 3990, hazards: 1 }, 10 * MIN)).toEqual([])
    expect(h.sent).toEqual([])
    // The fire is out and the open alarm no longer holds anything: comfort resumes.
    expect(h.step({ temperatureCenti: 3990, hazards: 0 }, MIN)).toEqual([
      { kind: 'fanSpeed', speed: 3 },
      { kind: 'power', channel: 2, on: true },
    ])
  })

  it('keeps rules off the relays an open alarm latched off, and suspends them while it is active', () => {
    let holds = { latched: 0b11, suspendRules: true } // fire alarm active (node debounce), fan and AC latched
    const clock = createFakeClock(T0)
    const sent: RelayCommand[] = []
    const engine = createRuleEngine({
      rules: ruleSet([fan, ac, { ...ac, id: 'lights', relay: 3 }]),
      clock,
      sendCommand: (c) => sent.push(c),
      holds: () => holds,
    })
    const reading = {
      time: 0,
      powerW: 0,
      temperatureCenti: 3990,
      light: 500,
      gas: 0,
      water: 0,
      hazards: 0,
      relays: 0,
      fanSpeed: 0,
    }
    expect(engine.evaluate(reading)).toEqual([])
    holds = { latched: 0b11, suspendRules: false } // cleared, not acknowledged
    clock.advance(MIN)
    expect(engine.evaluate(reading)).toEqual([{ kind: 'power', channel: 3, on: true }])
    expect(() => engine.override('fan', 2)).toThrow(OverrideError)
  })

  it('refuses overrides of relays the fire holds and lets the lights be switched', () => {
    const h = harness(ruleSet([]))
    h.step({ hazards: 1 })
    expect(() => h.engine.override('fan', 2)).toThrow(/held by a safety interlock \(fire detected\)/)
    expect(() => h.engine.override(6, false)).toThrow(OverrideError)
    expect(h.engine.override(3, true)).toEqual({ kind: 'power', channel: 3, on: true })
  })

  it('a flood leaves the comfort rules running but keeps them off the appliance circuits', () => {
    const sockets: Rule = {
      id: 's',
      kind: 'schedule',
      enabled: true,
      relay: 8,
      on: true,
      at: '12:01',
      days: [1],
    }
    const h = harness(ruleSet([fan, sockets]))
    h.step({})
    expect(h.step({ temperatureCenti: 2700, hazards: 4 }, MIN)).toEqual([{ kind: 'fanSpeed', speed: 1 }])
  })
})

describe('rule validation', () => {
  it('accepts the default rule set and round-trips it', () => {
    expect(validateRuleSet(JSON.parse(JSON.stringify(DEFAULT_RULE_SET)))).toEqual(DEFAULT_RULE_SET)
  })

  it.each([
    [{ ...DEFAULT_RULE_SET, version: 2 }, 'ruleSet.version'],
    [{ ...DEFAULT_RULE_SET, rules: 'x' }, 'ruleSet.rules'],
    [
      ruleSet([
        {
          ...fan,
          steps: [
            { atCenti: 2800, speed: 2 },
            { atCenti: 2600, speed: 3 },
          ],
        },
      ]),
      'steps[1]',
    ],
    [ruleSet([{ ...fan, kind: 'lamp' } as unknown as Rule]), '.kind'],
    [ruleSet([{ ...fan, id: 'Bad Id' }]), '.id'],
    [
      ruleSet([
        {
          id: 'a',
          kind: 'thermostat',
          enabled: true,
          relay: 2,
          onAtCenti: 2500,
          offAtCenti: 2600,
          minOnS: 0,
          minOffS: 0,
        },
      ]),
      'offAtCenti',
    ],
    [
      ruleSet([{ id: 'a', kind: 'schedule', enabled: true, relay: 0, on: true, at: '07:00', days: [1] }]),
      '.relay',
    ],
    [
      ruleSet([{ id: 'a', kind: 'schedule', enabled: true, relay: 1, on: true, at: '24:00', days: [1] }]),
      '.at',
    ],
    [
      ruleSet([{ id: 'a', kind: 'schedule', enabled: true, relay: 1, on: true, at: '07:00', days: [7] }]),
      'days[0]',
    ],
    [{ ...ruleSet([]), utcOffsetMinutes: 15 * 60 }, 'utcOffsetMinutes'],
    [ruleSet([{ ...fan, extra: 1 } as unknown as Rule]), '.extra'],
  ])('rejects %j at %s', (input, path) => {
    expect(() => validateRuleSet(input)).toThrow(RuleValidationError)
    let error: RuleValidationError | undefined
    try {
      validateRuleSet(input)
    } catch (e) {
      error = e as RuleValidationError
    }
    // The path is for programs (details); the message is for the resident and names no raw path.
    expect(String(error?.details?.path)).toContain(path)
    expect(error?.message).not.toMatch(/ruleSet|\[\d+\]/)
  })

  it.each([
    [
      ruleSet([
        {
          ...fan,
          steps: [
            { atCenti: 2800, speed: 2 },
            { atCenti: 2600, speed: 3 },
          ],
        } as Rule,
      ]),
      'Rule 1, step 2: must start at a higher temperature and a higher speed than step 1',
    ],
    [
      ruleSet([{ ...fan, steps: [{ atCenti: 99_999, speed: 1 }] } as Rule]),
      'Rule 1, step 1, temperature: must be a temperature from -50 °C to 100 °C',
    ],
    [ruleSet([{ ...fan, kind: 'lamp' } as unknown as Rule]), 'Rule 1, type: must be one of'],
    [{ ...ruleSet([]), overrideS: 0 }, 'Manual hold time: must be a whole number of seconds'],
  ])('says what is wrong in words: %j', (input, message) => {
    expect(() => validateRuleSet(input)).toThrow(message)
  })

  it('refuses an empty number instead of reading it as 0 °C', () => {
    const empty = ruleSet([{ ...fan, steps: [{ atCenti: null, speed: 1 }] } as unknown as Rule])
    expect(() => validateRuleSet(empty)).toThrow('Rule 1, step 1, temperature: is empty: enter a number')
    const blank = ruleSet([{ ...fan, hysteresisCenti: '' } as unknown as Rule])
    expect(() => validateRuleSet(blank)).toThrow('Rule 1, hysteresis: is empty')
    // A minimum time left out takes its default; one sent empty does not.
    const nullMin = ruleSet([{ ...fan, minOnS: null } as unknown as Rule])
    expect(() => validateRuleSet(nullMin)).toThrow('Rule 1, minimum on time: is empty')
  })

  it('rejects two enabled rules driving one output', () => {
    const ac = {
      id: 'ac',
      kind: 'thermostat',
      enabled: true,
      relay: 2,
      onAtCenti: 3000,
      offAtCenti: 2700,
      minOnS: 0,
      minOffS: 0,
    } as const
    expect(() => validateRuleSet(ruleSet([ac, { ...ac, id: 'ac2' }]))).toThrow(RuleConflictError)
    expect(() => validateRuleSet(ruleSet([fan, { ...ac, relay: 1 }]))).toThrow(RuleConflictError)
    expect(() => validateRuleSet(ruleSet([ac, { ...ac }]))).toThrow(/unique/)
    expect(validateRuleSet(ruleSet([ac, { ...ac, id: 'ac2', enabled: false }])).rules).toHaveLength(2)
  })

  it('rejects invalid readings with a named error', () => {
    const h = harness(ruleSet([fan]))
    expect(() => h.engine.evaluate({ ...h.meter, light: 5000 })).toThrow(InvalidInputError)
    expect(() => h.engine.evaluate({ temperatureCenti: 'hot' })).toThrow(/temperatureCenti|time/)
    expect(h.engine.evaluate({ ...h.meter, time: 1n, relays: 3n } as unknown as Reading)).toEqual([])
  })
})
