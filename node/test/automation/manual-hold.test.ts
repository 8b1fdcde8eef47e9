/**
 * A setting made by hand holds against the rules, and every output says who set it (issue 14: a fan
 * speed set by hand was confirmed, then snapped back to low by the fan rule with no explanation).
 * The node's home route over the real automation (rule engine, relay commander) on the embedded
 * broker, with a device that answers commands as the firmware does; time from a fake clock.
 */
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFakeClock, type FakeClock } from '../../src/automation/clock.ts'
import { DEFAULT_RULE_SET } from '../../src/automation/rules.ts'
import { type Automation, createAutomation } from '../../src/automation/service.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import { homeRoutes } from '../../src/http/routes/home.ts'
import { createDeviceRegistry } from '../../src/voice/devices.ts'
import { type Broker, connect, type Device, METER, startBroker, startDevice, until } from './fixtures.ts'

const HOUR = 3_600_000

describe('a fan speed set by hand', () => {
  let broker: Broker
  let node: MqttClient
  let device: Device
  let clock: FakeClock
  let automation: Automation

  beforeEach(async () => {
    broker = await startBroker()
    node = await connect(broker)
    device = await startDevice(broker, METER, { answers: true })
    clock = createFakeClock(Date.UTC(2026, 11, 7, 13, 0))
    automation = createAutomation({ client: node, meter: METER, rules: DEFAULT_RULE_SET, clock })
    await automation.start()
  })
  afterEach(async () => {
    await automation.stop()
    await device.close()
    await node.endAsync()
    await broker.close()
  })

  it('holds for the rule set’s overrideS against the fan rule, and says who set the fan', async () => {
    const routes = homeRoutes({
      config: { dev: true, timeZone: 'UTC' },
      automation,
      history: createReadingHistory({ intervalSeconds: 900 }),
      rules: { current: () => DEFAULT_RULE_SET } as never,
      devices: createDeviceRegistry(),
      bills: { list: () => [], get: () => undefined },
      priceAt: () => 0n,
    })
    // 26.5 °C: the default fan rule ("ceiling-fan") wants speed 1.
    const warm = () => {
      clock.advance(10_000)
      return automation.onReading(
        device.reading({ temperatureCenti: 2650, time: Math.floor(clock.now() / 1000) }),
      )
    }
    warm()
    await until(() => device.fanSpeed === 1)
    warm()
    expect((await routes.relays({} as never)).origins).toEqual([
      expect.objectContaining({ output: 'fan', by: 'rule', rule: 'ceiling-fan', manualUntil: null }),
    ])

    // The resident sets speed 3 by hand: confirmed, and held for an hour (the default overrideS).
    const setAt = clock.now()
    const set = await routes.setFan({ json: async () => ({ speed: 3 }) } as never)
    expect(set).toEqual({ speed: 3, confirmed: true, manualUntil: new Date(setAt + HOUR).toISOString() })
    expect(device.fanSpeed).toBe(3)
    const relays = await routes.relays({} as never)
    expect(relays.manualHoldS).toBe(3600)
    expect(relays.origins).toEqual([
      {
        output: 'fan',
        name: 'Fan speed',
        by: 'manual',
        rule: null,
        at: new Date(setAt).toISOString(),
        manualUntil: new Date(setAt + HOUR).toISOString(),
      },
    ])

    // Readings keep coming at 26.5 °C for most of the hour: the rule leaves the fan at 3.
    for (let i = 0; i < 30; i++) expect(warm()).toEqual([])
    clock.advance(HOUR - 30 * 10_000)
    expect(warm()).toEqual([{ kind: 'fanSpeed', speed: 1 }])
    await until(() => device.fanSpeed === 1)
    // After the hold, the rule takes over again, and the page says so.
    expect((await routes.relays({} as never)).origins).toEqual([
      expect.objectContaining({ output: 'fan', by: 'rule', rule: 'ceiling-fan', manualUntil: null }),
    ])
  })

  it('a relay switched by hand holds too, and a voice command counts as by hand', async () => {
    const routes = homeRoutes({
      config: { dev: true, timeZone: 'UTC' },
      automation,
      history: createReadingHistory({ intervalSeconds: 900 }),
      rules: { current: () => DEFAULT_RULE_SET } as never,
      devices: createDeviceRegistry(),
      bills: { list: () => [], get: () => undefined },
      priceAt: () => 0n,
    })
    // 32 °C: the AC thermostat (relay 2) wants it on; the resident turns it off by voice.
    const hot = () => {
      clock.advance(10_000)
      return automation.onReading(
        device.reading({ temperatureCenti: 3200, time: Math.floor(clock.now() / 1000) }),
      )
    }
    hot()
    await until(() => (device.relays & 0b10) !== 0)
    hot()
    await routes.command({ json: async () => ({ text: 'turn off the air conditioner' }) } as never)
    expect(device.relays & 0b10).toBe(0)
    for (let i = 0; i < 5; i++) expect(hot().filter((c) => c.kind === 'power' && c.channel === 2)).toEqual([])
    const ac = (await routes.relays({} as never)).origins.find((o) => o.output === 2)
    expect(ac).toMatchObject({ by: 'manual', name: 'Air conditioner' })
    expect(ac?.manualUntil).not.toBeNull()
  })
})
