/**
 * The same relay, hazard and discovery paths against Debian's mosquitto instead of aedes: the node
 * can use an external broker (DESIGN §4), so nothing here may depend on aedes specifics.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFakeClock } from '../../src/automation/clock.ts'
import { HAZARD_BIT, relayIsOn } from '../../src/automation/reading.ts'
import { DEFAULT_RULE_SET } from '../../src/automation/rules.ts'
import { createAutomation } from '../../src/automation/service.ts'
import { discoveryConfigs, publishDiscovery, removeDiscovery } from '../../src/homeassistant/discovery.ts'
import { type Mosquitto, startMosquitto } from '../mqtt/mosquitto.ts'
import { createTestUsers, type TestUsers } from '../mqtt/users.ts'
import { connect, METER, startDevice, until } from './fixtures.ts'

describe('automation over mosquitto', () => {
  let mosquitto: Mosquitto
  let users: TestUsers
  let broker: { url: string; users: TestUsers }
  let node: MqttClient
  beforeAll(async () => {
    // Mosquitto reads its password file once: every login exists before it starts.
    users = await createTestUsers()
    await users.meter(METER)
    await users.user('homeassistant', 'homeassistant')
    mosquitto = await startMosquitto({ credentials: users.store })
    broker = { url: mosquitto.url, users }
    node = await connect(broker)
  })
  afterAll(async () => {
    await node?.endAsync()
    await mosquitto?.stop()
    await users?.remove()
  })

  it('gas with a firmware that did not react: escalation re-sends over MQTT and the device confirms', async () => {
    const device = await startDevice(broker, METER, { reactsLocally: false })
    const clock = createFakeClock(Date.UTC(2026, 10, 24, 12))
    const automation = createAutomation({
      client: node,
      meter: METER,
      rules: DEFAULT_RULE_SET,
      clock,
      alarms: { raiseAfterReadings: 2, confirmDeadlineS: 2 },
    })
    await automation.start()
    try {
      await device.setHazards(HAZARD_BIT.gas)
      for (let i = 0; i < 2; i++) {
        clock.advance(1000)
        automation.onReading(device.reading())
      }
      clock.advance(2000)
      await until(() => automation.alarms.list()[0]?.reacted === true)
      expect(automation.alarms.list()).toMatchObject([{ hazard: 'gas', severity: 'deviceDidNotReact' }])
      // The gas row of the interlock matrix (protocol/meter/interlocks.ts): sockets cut, buzzer on,
      // and the vent fan NOT started (a motor that is not explosion-proof can ignite LPG).
      expect(relayIsOn(device.relays, 8)).toBe(false)
      expect(relayIsOn(device.relays, 7)).toBe(true)
      expect(relayIsOn(device.relays, 5)).toBe(false)
      const result = await automation.send({ kind: 'fanSpeed', speed: 2 })
      expect(result.status).toBe('confirmed')
    } finally {
      await automation.stop()
      await device.close()
    }
  })

  it('discovery configs are retained by mosquitto and removable', async () => {
    const configs = discoveryConfigs({ meter: METER })
    await publishDiscovery(node, configs)
    const ha = await connect(broker, 'homeassistant')
    const topics = new Set<string>()
    ha.on('message', (topic, payload) => {
      if (payload.length > 0) topics.add(topic)
    })
    await ha.subscribeAsync('homeassistant/#', { qos: 1 })
    await until(() => topics.size === configs.length)
    await removeDiscovery(node, configs)
    await ha.endAsync()
    const later = await connect(broker, 'homeassistant')
    const leftover: string[] = []
    later.on('message', (topic) => leftover.push(topic))
    await later.subscribeAsync('homeassistant/#', { qos: 1 })
    await new Promise((r) => setTimeout(r, 200))
    await later.endAsync()
    expect(leftover).toEqual([])
  })
})
