import { describe, expect, it } from 'vitest'
import {
  createAlarms,
  createRelayController,
  HAZARD_FLAME,
  HAZARD_GAS,
  HAZARD_WATER,
  relayBit,
} from '#protocol/meter/relays.ts'

const bits = (...relays: number[]) => relays.reduce((acc, n) => acc | relayBit(n), 0)

describe('relay controller (firmware twin)', () => {
  it('starts with only the appliance circuits on', () => {
    expect(createRelayController().outputs()).toBe(bits(8))
  })

  it('flame → sprinkler and buzzer; gas → sockets off, buzzer on, nothing else switched; water → sockets off, buzzer on', () => {
    const r = createRelayController()
    expect(r.apply(HAZARD_FLAME)).toBe(bits(6, 7, 8))
    expect(r.apply(0)).toBe(bits(8))
    expect(r.apply(HAZARD_GAS)).toBe(bits(7))
    expect(r.apply(0)).toBe(0) // sockets stay latched off
    expect(r.command(8, 'on')).toBe(true)
    expect(r.apply(HAZARD_WATER)).toBe(bits(7))
    expect(r.command(8, 'on')).toBe(false) // refused while water persists
    expect(r.command(8, 'toggle')).toBe(false)
  })

  it('commands cannot override a safety reaction while the hazard lasts', () => {
    const r = createRelayController()
    r.apply(HAZARD_FLAME)
    expect(r.command(6, 'off')).toBe(false)
    expect(r.command(7, 'off')).toBe(false)
    expect(r.outputs() & bits(6, 7)).toBe(bits(6, 7))
    expect(r.apply(0) & bits(6, 7)).toBe(0)
  })

  it('couples the fan relay and FanSpeed', () => {
    const r = createRelayController()
    expect(r.setFanSpeed(3)).toBe(true)
    expect(r.outputs() & bits(1)).toBe(bits(1))
    r.command(1, 'off')
    expect(r.fanSpeed()).toBe(0)
    r.command(1, 'on')
    expect(r.fanSpeed()).toBe(1)
    expect(r.setFanSpeed(4)).toBe(false)
    expect(r.command(9, 'on')).toBe(false)
  })
})

describe('alarm hysteresis (firmware thresholds)', () => {
  it('switches gas on at 400 and off at or below 300 permille', () => {
    const a = createAlarms()
    expect(a.update({ flame: false, gas: 399, water: 0 })).toBe(0)
    expect(a.update({ flame: false, gas: 400, water: 0 })).toBe(HAZARD_GAS)
    expect(a.update({ flame: false, gas: 301, water: 0 })).toBe(HAZARD_GAS)
    expect(a.update({ flame: false, gas: 300, water: 0 })).toBe(0)
    expect(a.update({ flame: true, gas: 0, water: 500 })).toBe(HAZARD_FLAME | HAZARD_WATER)
    expect(a.update({ flame: false, gas: 0, water: 351 })).toBe(HAZARD_WATER)
    expect(a.update({ flame: false, gas: 0, water: 350 })).toBe(0)
  })
})
