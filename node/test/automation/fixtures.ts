/**
 * Test fixtures: the node's embedded broker (on 127.0.0.1, port 0, every client logged in),
 * connected mqtt.js clients, and a
 * device responder that answers `cmnd/` like the meter firmware does (protocol §7–§8) — the one
 * mock, standing in for the hardware.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { interlockMasks } from '#protocol/meter/interlocks.ts'
import { waitUntil } from '../../../test/support/wait.ts'
import { RELAY, type Reading } from '../../src/automation/reading.ts'
import { startTestBroker, type TestUsers } from '../mqtt/users.ts'

export interface Broker {
  url: string
  users: TestUsers
  close(): Promise<void>
}

export async function startBroker(): Promise<Broker> {
  const t = await startTestBroker()
  return { url: t.url, users: t.users, close: () => t.stop() }
}

/** A client logged in as the node (default) or as Home Assistant, with that role's rights. */
export async function connect(
  broker: Pick<Broker, 'url' | 'users'>,
  as: 'node' | 'homeassistant' = 'node',
): Promise<MqttClient> {
  const login = as === 'node' ? broker.users.node : await broker.users.user('homeassistant', 'homeassistant')
  return mqtt.connectAsync(broker.url, { ...login, reconnectPeriod: 0, connectTimeout: 5000 })
}

export const METER = `zkm_${'ab'.repeat(20)}`

export interface DeviceOptions {
  /** Answer relay commands with stat/ messages (a dead relay board does not). */
  answers?: boolean
  /** Apply the firmware's local safety reactions when a hazard is injected. */
  reactsLocally?: boolean
}

export interface Device {
  client: MqttClient
  relays: number
  fanSpeed: number
  hazards: number
  received: string[]
  options: Required<DeviceOptions>
  /** Sets the hazard bits as the firmware's debounced sensors would, reacting locally if enabled. */
  setHazards(bits: number): Promise<void>
  reading(fields?: Partial<Reading>): Reading
  close(): Promise<void>
}

/** The device logs in as the meter (user name and client id = its topic name): the meter's ACL. */
export async function startDevice(
  broker: Pick<Broker, 'url' | 'users'>,
  meter: string,
  options: DeviceOptions = {},
): Promise<Device> {
  const client = await mqtt.connectAsync(broker.url, {
    ...(await broker.users.meter(meter)),
    clientId: meter,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  })
  const opts = { answers: true, reactsLocally: true, ...options }
  const publish = (topic: string, payload: string) =>
    new Promise<void>((resolve, reject) =>
      client.publish(topic, payload, { qos: 1 }, (e) => (e ? reject(e) : resolve())),
    )
  const device: Device = {
    client,
    relays: 1 << (RELAY.appliances - 1),
    fanSpeed: 0,
    hazards: 0,
    received: [],
    options: opts,
    async setHazards(bits) {
      device.hazards = bits
      if (!device.options.reactsLocally) return
      const set = async (channel: number, on: boolean) => {
        device.relays = on ? device.relays | (1 << (channel - 1)) : device.relays & ~(1 << (channel - 1))
        await publish(`stat/${meter}/RESULT`, JSON.stringify({ [`POWER${channel}`]: on ? 'ON' : 'OFF' }))
      }
      // The firmware's local reaction: the interlock matrix (forced relays; locked ones are left).
      const masks = interlockMasks(bits)
      for (let channel = 1; channel <= 8; channel++) {
        const bit = 1 << (channel - 1)
        const on = (device.relays & bit) !== 0
        if (masks.forcedOn & bit && !on) await set(channel, true)
        if (masks.forcedOff & bit && on) await set(channel, false)
      }
      if (masks.forcedOff & 1) device.fanSpeed = 0
    },
    reading(fields = {}) {
      return {
        time: 1_764_000_000,
        powerW: 500,
        temperatureCenti: 2400,
        light: 500,
        gas: 0,
        water: 0,
        hazards: device.hazards,
        relays: device.relays,
        fanSpeed: device.fanSpeed,
        ...fields,
      }
    },
    async close() {
      await client.endAsync()
    },
  }
  client.on('message', (topic, payload) => {
    const text = payload.toString()
    device.received.push(`${topic} ${text}`)
    if (!device.options.answers) return
    const power = new RegExp(`^cmnd/${meter}/POWER([1-8])$`).exec(topic)
    if (power) {
      const channel = Number(power[1])
      const on = /^(force)?(on|1)$/i.test(text)
      device.relays = on ? device.relays | (1 << (channel - 1)) : device.relays & ~(1 << (channel - 1))
      const state = on ? 'ON' : 'OFF'
      void publish(`stat/${meter}/RESULT`, JSON.stringify({ [`POWER${channel}`]: state }))
        .then(() => publish(`stat/${meter}/POWER${channel}`, state))
        .catch(() => undefined)
    } else if (topic === `cmnd/${meter}/FanSpeed`) {
      device.fanSpeed = Number(text)
      void publish(`stat/${meter}/RESULT`, JSON.stringify({ FanSpeed: device.fanSpeed })).catch(
        () => undefined,
      )
    }
  })
  await client.subscribeAsync(`cmnd/${meter}/#`, { qos: 1 })
  return device
}

/** Resolves when `predicate` holds, polling briefly; rejects after `ms`. */
export function until(predicate: () => boolean, ms = 3000): Promise<void> {
  return waitUntil(predicate, ms)
}
