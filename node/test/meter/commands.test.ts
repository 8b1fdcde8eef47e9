import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseCommand } from '../../src/meter/commands.ts'
import { InvalidCommandError } from '../../src/meter/errors.ts'

const enc = (text: string) => new TextEncoder().encode(text)

describe('meter command parser', () => {
  it('accepts the Tasmota forms, case-insensitively', () => {
    expect(parseCommand('POWER3', enc('on'), 31)).toEqual({ kind: 'power', relay: 3, action: 'on' })
    expect(parseCommand('Power8', enc(' OFF '), 31)).toEqual({ kind: 'power', relay: 8, action: 'off' })
    expect(parseCommand('power1', enc('Toggle'), 31)).toEqual({ kind: 'power', relay: 1, action: 'toggle' })
    expect(parseCommand('POWER2', enc('1'), 31)).toEqual({ kind: 'power', relay: 2, action: 'on' })
    expect(parseCommand('POWER2', enc('0'), 31)).toEqual({ kind: 'power', relay: 2, action: 'off' })
    expect(parseCommand('POWER2', enc(''), 31)).toEqual({ kind: 'power', relay: 2, action: 'query' })
    expect(parseCommand('fanspeed', enc('3'), 31)).toEqual({ kind: 'fanSpeed', speed: 3 })
    expect(parseCommand('PeriodDays', enc('0'), 31)).toEqual({ kind: 'periodDays', days: 0 })
    expect(parseCommand('Resend', enc('{"from":3,"to":9}'), 31)).toEqual({ kind: 'resend', from: 3, to: 9 })
    expect(parseCommand('SimHazard', enc('{"flame":true,"gas":false}'), 31)).toEqual({
      kind: 'simHazard',
      hazards: { flame: true, gas: false },
    })
  })

  it('rejects out-of-range values with InvalidCommandError', () => {
    expect(() => parseCommand('PeriodDays', enc('3'), 2)).toThrow(InvalidCommandError)
    expect(() => parseCommand('FanSpeed', enc('4'), 31)).toThrow(/0\.\.3/)
    expect(() => parseCommand('POWER0', enc('ON'), 31)).toThrow(/unknown command/)
    expect(() => parseCommand('Resend', enc('{"from":1.5,"to":2}'), 31)).toThrow(/Resend/)
  })

  it('never throws anything but InvalidCommandError, whatever arrives (property)', () => {
    const names = fc.oneof(
      fc.constantFrom('POWER1', 'power8', 'FanSpeed', 'PeriodDays', 'Resend', 'SimHazard', 'POWER9', ''),
      fc.string({ maxLength: 20 }),
    )
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.json().map(enc),
      fc.string({ maxLength: 50 }).map(enc),
    )
    fc.assert(
      fc.property(names, payloads, (name, payload) => {
        try {
          parseCommand(name, payload, 31)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidCommandError)
        }
      }),
      { numRuns: 500 },
    )
  })
})
