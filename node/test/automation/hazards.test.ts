/**
 * Every hazard path through rules + alarms + commander over a real MQTT broker, with a device
 * responder answering stat/ as the firmware would.
 */
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Alarm, HAZARD_REACTIONS } from '../../src/automation/alarms.ts'
import { createFakeClock, type FakeClock } from '../../src/automation/clock.ts'
import type { CommandResult } from '../../src/automation/commands.ts'
import { InterlockRefusedError, SafetyConfirmationRequiredError } from '../../src/automation/interlocks.ts'
import { HAZARD_BIT, type Hazard, relayIsOn } from '../../src/automation/reading.ts'
import { DEFAULT_RULE_SET, OverrideError } from '../../src/automation/rules.ts'
import { type Automation, createAutomation } from '../../src/automation/service.ts'
import { type Broker, connect, type Device, METER, startBroker, startDevice, until } from './fixtures.ts'

/** The relays each hazard's interlock forces (protocol/meter/interlocks.ts). */
const SAFE = Object.fromEntries(
  (['flame', 'gas', 'water'] as const).map((h) => [h, HAZARD_REACTIONS[h].map((e) => [e.channel, e.on])]),
) as Record<Hazard, [channel: number, on: boolean][]>

/** The safe-state relays a fresh device (only the sockets on) is not in yet. */
const missing = (hazard: Hazard) => SAFE[hazard].filter(([c, on]) => relayIsOn(0x80, c) !== on)

describe('hazard paths end to end over MQTT', () => {
  let broker: Broker
  let node: MqttClient
  let device: Device
  let clock: FakeClock
  let automation: Automation
  let events: string[]
  let broadcasts: string[]

  async function setup(deviceOptions: Parameters<typeof startDevice>[2]) {
    device = await startDevice(broker, METER, deviceOptions)
    clock = createFakeClock(Date.UTC(2026, 10, 24, 12))
    events = []
    broadcasts = []
    automation = createAutomation({
      client: node,
      meter: METER,
      rules: DEFAULT_RULE_SET,
      clock,
      commandTimeoutMs: 3000,
      alarms: {
        raiseAfterReadings: 2,
        raiseAfterS: 10,
        clearAfterReadings: 2,
        clearAfterS: 30,
        confirmDeadlineS: 2,
        maxResends: 3,
        broadcast: (a, e) => broadcasts.push(`${e}:${a.hazard}`),
      },
    })
    for (const e of ['raised', 'reacted', 'escalated', 'cleared', 'acknowledged', 'closed'] as const) {
      automation.alarms.events.on(e, (a: Alarm) => events.push(`${e}:${a.hazard}`))
    }
    await automation.start()
  }

  const read = () => {
    clock.advance(1000)
    return automation.onReading(device.reading({ time: Math.floor(clock.now() / 1000) }))
  }

  beforeEach(async () => {
    broker = await startBroker()
    node = await connect(broker)
  })
  afterEach(async () => {
    await automation.stop()
    expect(clock.pendingTimers()).toBe(0)
    await device.close()
    await node.endAsync()
    await broker.close()
  })

  for (const hazard of ['flame', 'gas', 'water'] as const) {
    it(`${hazard}: firmware reacts locally → alarm confirmed without re-sends → ack closes it`, async () => {
      await setup({ reactsLocally: true })
      read()
      await device.setHazards(HAZARD_BIT[hazard])
      read()
      read()
      await until(() => automation.alarms.list()[0]?.reacted === true)
      expect(automation.alarms.list()).toMatchObject([{ hazard, severity: 'alarm', active: true }])
      clock.advance(10_000)
      expect(device.received.filter((m) => m.includes('/POWER'))).toEqual([])
      for (const [channel, on] of SAFE[hazard]) expect(relayIsOn(device.relays, channel)).toBe(on)
      await device.setHazards(0)
      read()
      read()
      const [alarm] = automation.alarms.list()
      expect(alarm).toMatchObject({ active: false })
      automation.alarms.acknowledge(alarm!.id, 'resident')
      expect(automation.alarms.list()).toEqual([])
      expect(events).toEqual([
        `raised:${hazard}`,
        `reacted:${hazard}`,
        `cleared:${hazard}`,
        `acknowledged:${hazard}`,
        `closed:${hazard}`,
      ])
      expect(broadcasts).toEqual([`raised:${hazard}`, `closed:${hazard}`])
    })

    it(`${hazard}: firmware did not react → node re-sends over MQTT, device obeys, alarm escalated then confirmed`, async () => {
      await setup({ reactsLocally: false, answers: true })
      await device.setHazards(HAZARD_BIT[hazard])
      read()
      read()
      expect(automation.alarms.list()).toMatchObject([{ hazard, reacted: false }])
      clock.advance(2000)
      expect(automation.alarms.list()).toMatchObject([{ severity: 'deviceDidNotReact', resends: 1 }])
      // Only what is not already in the safe state is re-sent (fan, AC and vent start off).
      const expected = missing(hazard).map(([c, on]) => `cmnd/${METER}/POWER${c} ${on ? 'ON' : 'OFF'}`)
      await until(() => expected.every((m) => device.received.includes(m)))
      await until(() => automation.alarms.list()[0]?.reacted === true)
      for (const [channel, on] of SAFE[hazard]) expect(relayIsOn(device.relays, channel)).toBe(on)
      expect(events).toEqual([`raised:${hazard}`, `escalated:${hazard}`, `reacted:${hazard}`])
      expect(broadcasts).toEqual([`raised:${hazard}`, `escalated:${hazard}`])
    })

    it(`${hazard}: dead relay board → commands reported failed, alarm stays "device did not react"`, async () => {
      await setup({ reactsLocally: false, answers: false })
      const failed: CommandResult[] = []
      automation.commander.events.on('failed', (r) => failed.push(r))
      await device.setHazards(HAZARD_BIT[hazard])
      read()
      read()
      clock.advance(2000)
      await until(() => device.received.length >= missing(hazard).length)
      clock.advance(3000) // commander deadline for the first round; alarm re-sends again at 4 s
      expect(failed.length).toBeGreaterThanOrEqual(missing(hazard).length)
      expect(failed.every((r) => r.status === 'failed' && r.reason === 'timeout')).toBe(true)
      expect(automation.alarms.list()).toMatchObject([{ severity: 'deviceDidNotReact', reacted: false }])
    })
  }

  it('rules keep working next to alarms and never fight the safety relays', async () => {
    await setup({ reactsLocally: true })
    // Hot and dark at noon: fan and AC come on over MQTT; the night light stays off (outside window).
    device.hazards = 0
    clock.advance(1000)
    const sent = automation.onReading(device.reading({ temperatureCenti: 3200, light: 0 }))
    expect(sent).toEqual([
      { kind: 'fanSpeed', speed: 3 },
      { kind: 'power', channel: 2, on: true },
    ])
    await until(() => device.fanSpeed === 3 && relayIsOn(device.relays, 2))
    automation.engine.override(8, true, 600) // before the leak: sockets held on by a resident
    await until(() => device.received.includes(`cmnd/${METER}/POWER8 ON`))
    await device.setHazards(HAZARD_BIT.gas)
    clock.advance(1000)
    device.received.length = 0
    expect(automation.onReading(device.reading({ temperatureCenti: 3200 }))).toEqual([])
    // A resident trying to restore the sockets during the leak is refused.
    expect(() => automation.engine.override(8, true, 600)).toThrow(OverrideError)
    clock.advance(1000)
    automation.onReading(device.reading({ temperatureCenti: 3200 }))
    await new Promise((r) => setTimeout(r, 50))
    expect(device.received).toEqual([])
  })

  describe('interlocks (protocol/meter/interlocks.ts)', () => {
    it('fire at 39.9 °C: the comfort rules switch neither the fan nor the AC, the meter turns them off', async () => {
      await setup({ reactsLocally: true })
      clock.advance(1000)
      expect(automation.onReading(device.reading({ temperatureCenti: 3200 }))).toEqual([
        { kind: 'fanSpeed', speed: 3 },
        { kind: 'power', channel: 2, on: true },
      ])
      await until(() => device.fanSpeed === 3 && relayIsOn(device.relays, 2))
      await device.setHazards(HAZARD_BIT.flame)
      device.received.length = 0
      for (let i = 0; i < 5; i++) {
        clock.advance(60_000)
        expect(automation.onReading(device.reading({ temperatureCenti: 3990 }))).toEqual([])
      }
      expect(relayIsOn(device.relays, 1) || relayIsOn(device.relays, 2)).toBe(false)
      expect(device.received.filter((m) => /POWER[12] ON|FanSpeed [1-3]/.test(m))).toEqual([])
    })

    it('fire: switching the sprinkler off needs a confirmation, then goes out as FORCEOFF', async () => {
      await setup({ reactsLocally: true })
      read()
      await device.setHazards(HAZARD_BIT.flame)
      read()
      await expect(automation.switch({ kind: 'power', channel: 6, on: false })).rejects.toThrow(
        SafetyConfirmationRequiredError,
      )
      await expect(automation.switch({ kind: 'fanSpeed', speed: 2 })).rejects.toThrow(
        /Ceiling fan is held off by the fire alarm/,
      )
      expect(device.received.filter((m) => m.includes('POWER6'))).toEqual([])
      const result = await automation.switch({ kind: 'power', channel: 6, on: false }, { confirm: true })
      expect(result.status).toBe('confirmed')
      expect(device.received).toContain(`cmnd/${METER}/POWER6 FORCEOFF`)
      // The lights are not in the fire's row: a plain switch.
      expect((await automation.switch({ kind: 'power', channel: 3, on: true })).status).toBe('confirmed')
    })

    it('gas: every switch but the cut-off is refused, confirmed or not', async () => {
      await setup({ reactsLocally: true })
      read()
      await device.setHazards(HAZARD_BIT.gas)
      read()
      for (const command of [
        { kind: 'power', channel: 3, on: true },
        { kind: 'power', channel: 5, on: true },
        { kind: 'power', channel: 8, on: true },
        { kind: 'fanSpeed', speed: 1 },
      ] as const) {
        await expect(automation.switch(command, { confirm: true })).rejects.toThrow(InterlockRefusedError)
      }
      expect(device.received.filter((m) => m.includes('/POWER') || m.includes('FanSpeed'))).toEqual([])
      expect((await automation.switch({ kind: 'power', channel: 8, on: false })).status).toBe('confirmed')
    })

    it('gas cleared and acknowledged: the sockets come back as they were, the rest untouched', async () => {
      await setup({ reactsLocally: true })
      await automation.switch({ kind: 'power', channel: 3, on: true })
      read()
      expect(device.relays).toBe(0x84)
      await device.setHazards(HAZARD_BIT.gas)
      read()
      read()
      await until(() => automation.alarms.list()[0]?.reacted === true)
      expect(device.relays).toBe(0x44) // sockets cut, buzzer on, lights left alone (no switching)
      // The gas clears: the meter stops the buzzer and keeps the sockets off (latched).
      device.hazards = 0
      device.relays = 0x04
      read()
      read()
      const [alarm] = automation.alarms.list()
      expect(alarm).toMatchObject({ active: false, hazard: 'gas' })
      // Until acknowledged, a person switching the sockets is told why they are off.
      await expect(automation.switch({ kind: 'power', channel: 8, on: true })).rejects.toThrow(
        /held off after the gas \(LPG\) alarm, which has cleared but is not acknowledged/,
      )
      expect(automation.onReading(device.reading())).toEqual([])
      const closed = automation.alarms.acknowledge(alarm!.id, 'resident')
      expect(closed.restored).toEqual([{ kind: 'power', channel: 8, on: true }])
      await until(() => device.relays === 0x84)
      expect(device.received).toContain(`cmnd/${METER}/POWER8 ON`)
    })
  })
})
