import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { encodeSensorPayload, type MeterRecord } from '#protocol/records.ts'
import { discoveryConfigs, publishDiscovery, removeDiscovery } from '../../src/homeassistant/discovery.ts'
import { type Broker, connect, METER, startBroker } from '../automation/fixtures.ts'

/**
 * The discovery schema per component, written from Home Assistant's MQTT integration docs
 * (integrations/sensor.mqtt, binary_sensor.mqtt, switch.mqtt, fan.mqtt and the MQTT discovery
 * page): the keys each component requires, the keys it allows with their value types, and the
 * allowed device classes / state classes / units. A payload with any other key would be rejected
 * by Home Assistant's voluptuous schema (extra keys are not allowed in discovery payloads).
 */
type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'template' | 'topic' | 'object' | 'qos'

const COMMON: Record<string, Kind> = {
  name: 'string',
  unique_id: 'string',
  availability_topic: 'topic',
  payload_available: 'string',
  payload_not_available: 'string',
  availability_mode: 'string',
  device: 'object',
  icon: 'string',
  entity_category: 'string',
  enabled_by_default: 'boolean',
  json_attributes_topic: 'topic',
  json_attributes_template: 'template',
  qos: 'qos',
  encoding: 'string',
  object_id: 'string',
  default_entity_id: 'string',
  origin: 'object',
}

const SCHEMA: Record<string, { required: string[]; allowed: Record<string, Kind>; deviceClasses: string[] }> =
  {
    sensor: {
      required: ['state_topic'],
      allowed: {
        state_topic: 'topic',
        value_template: 'template',
        unit_of_measurement: 'string',
        device_class: 'string',
        state_class: 'string',
        expire_after: 'integer',
        force_update: 'boolean',
        last_reset_value_template: 'template',
        suggested_display_precision: 'integer',
        options: 'object',
      },
      deviceClasses: [
        'apparent_power',
        'current',
        'energy',
        'gas',
        'humidity',
        'illuminance',
        'moisture',
        'power',
        'power_factor',
        'pressure',
        'reactive_power',
        'temperature',
        'voltage',
        'volume',
        'water',
      ],
    },
    binary_sensor: {
      required: ['state_topic'],
      allowed: {
        state_topic: 'topic',
        value_template: 'template',
        payload_on: 'string',
        payload_off: 'string',
        device_class: 'string',
        expire_after: 'integer',
        force_update: 'boolean',
        off_delay: 'integer',
      },
      deviceClasses: [
        'gas',
        'heat',
        'moisture',
        'problem',
        'safety',
        'smoke',
        'power',
        'running',
        'connectivity',
      ],
    },
    switch: {
      required: ['command_topic'],
      allowed: {
        command_topic: 'topic',
        command_template: 'template',
        state_topic: 'topic',
        value_template: 'template',
        payload_on: 'string',
        payload_off: 'string',
        state_on: 'string',
        state_off: 'string',
        optimistic: 'boolean',
        retain: 'boolean',
        device_class: 'string',
      },
      deviceClasses: ['outlet', 'switch'],
    },
    fan: {
      required: ['command_topic'],
      allowed: {
        command_topic: 'topic',
        command_template: 'template',
        state_topic: 'topic',
        state_value_template: 'template',
        payload_on: 'string',
        payload_off: 'string',
        optimistic: 'boolean',
        retain: 'boolean',
        percentage_command_topic: 'topic',
        percentage_command_template: 'template',
        percentage_state_topic: 'topic',
        percentage_value_template: 'template',
        speed_range_min: 'integer',
        speed_range_max: 'integer',
        payload_reset_percentage: 'string',
        preset_modes: 'object',
        preset_mode_command_topic: 'topic',
        preset_mode_state_topic: 'topic',
      },
      deviceClasses: [],
    },
  }

const STATE_CLASSES = ['measurement', 'total', 'total_increasing']
/** Units Home Assistant accepts per sensor device class. */
const UNITS: Record<string, (string | undefined)[]> = {
  energy: ['Wh', 'kWh', 'MWh', 'GJ', 'MJ'],
  power: ['W', 'kW'],
  voltage: ['V', 'mV'],
  current: ['A', 'mA'],
  temperature: ['°C', '°F', 'K'],
  power_factor: [undefined, '%'],
}
const DEVICE_KEYS: Record<string, Kind> = {
  identifiers: 'object',
  name: 'string',
  manufacturer: 'string',
  model: 'string',
  sw_version: 'string',
  hw_version: 'string',
  suggested_area: 'string',
  connections: 'object',
}

function typeOk(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string' && value.length > 0
    case 'template':
      return typeof value === 'string' && /\{[{%]/.test(value)
    case 'topic':
      return typeof value === 'string' && /^[^#+\s]+$/.test(value) && !value.startsWith('/')
    case 'number':
      return typeof value === 'number'
    case 'integer':
      return Number.isInteger(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'qos':
      return value === 0 || value === 1 || value === 2
    case 'object':
      return typeof value === 'object' && value !== null
  }
}

function schemaErrors(component: string, payload: Record<string, unknown>): string[] {
  const schema = SCHEMA[component]
  if (schema === undefined) return [`unknown component ${component}`]
  const errors: string[] = []
  const allowed = { ...COMMON, ...schema.allowed }
  for (const key of schema.required) if (!(key in payload)) errors.push(`missing ${key}`)
  for (const [key, value] of Object.entries(payload)) {
    const kind = allowed[key]
    if (kind === undefined) errors.push(`key ${key} not allowed for ${component}`)
    else if (!typeOk(kind, value)) errors.push(`${key} is not a valid ${kind}: ${JSON.stringify(value)}`)
  }
  if (payload.availability_topic !== undefined && 'availability' in payload)
    errors.push('availability and availability_topic together')
  if (payload.device_class !== undefined && !schema.deviceClasses.includes(payload.device_class as string)) {
    errors.push(`device_class ${payload.device_class} not valid for ${component}`)
  }
  if (component === 'sensor') {
    if (payload.state_class !== undefined && !STATE_CLASSES.includes(payload.state_class as string))
      errors.push('bad state_class')
    const units = UNITS[payload.device_class as string]
    if (units !== undefined && !units.includes(payload.unit_of_measurement as string | undefined)) {
      errors.push(`unit ${payload.unit_of_measurement} not valid for ${payload.device_class}`)
    }
    if (
      payload.device_class === 'energy' &&
      !['total', 'total_increasing'].includes(payload.state_class as string)
    ) {
      errors.push('energy needs state_class total or total_increasing')
    }
  }
  if (component === 'fan' && 'speed_range_min' in payload && (payload.speed_range_min as number) < 1)
    errors.push('speed_range_min < 1')
  const device = payload.device as Record<string, unknown> | undefined
  if (device === undefined || !Array.isArray(device.identifiers) || device.identifiers.length === 0)
    errors.push('device.identifiers')
  for (const [key, value] of Object.entries(device ?? {})) {
    const kind = DEVICE_KEYS[key]
    if (kind === undefined || !typeOk(kind, value)) errors.push(`device.${key} invalid`)
  }
  if (typeof payload.unique_id !== 'string') errors.push('unique_id required for discovery with a device')
  return errors
}

describe('Home Assistant MQTT discovery payloads', () => {
  const configs = discoveryConfigs({ meter: METER, swVersion: '0.1.0' })

  it('every payload matches the documented schema of its component', () => {
    for (const c of configs) expect(schemaErrors(c.component, c.payload), c.topic).toEqual([])
  })

  it('the schema check rejects what Home Assistant would reject', () => {
    const sensor = configs.find((c) => c.objectId === 'energy')!.payload
    expect(schemaErrors('sensor', { ...sensor, state_class: 'measurement' })).toContain(
      'energy needs state_class total or total_increasing',
    )
    expect(schemaErrors('sensor', { ...sensor, unit_of_measurement: 'kW' })).toHaveLength(1)
    expect(schemaErrors('sensor', { ...sensor, command_topic: 'x' })).toHaveLength(1)
    expect(schemaErrors('binary_sensor', { ...sensor })).not.toEqual([])
  })

  it('uses one topic per entity under homeassistant/<component>/<node_id>/<object_id>/config', () => {
    const topics = configs.map((c) => c.topic)
    expect(new Set(topics).size).toBe(topics.length)
    for (const t of topics)
      expect(t).toMatch(
        new RegExp(`^homeassistant/(sensor|binary_sensor|switch|fan)/${METER}/[a-z0-9_]+/config$`),
      )
    const ids = configs.map((c) => c.payload.unique_id)
    expect(new Set(ids).size).toBe(ids.length)
    const devices = new Set(configs.map((c) => JSON.stringify(c.payload.device)))
    expect(devices.size).toBe(1)
  })

  it('describes the energy counter, hazards, relays and the fan as the issue requires', () => {
    const by = (id: string) => configs.find((c) => c.objectId === id)!
    expect(by('energy').payload).toMatchObject({
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'kWh',
      state_topic: `tele/${METER}/SENSOR`,
      value_template: '{{ value_json.ENERGY.Total }}',
    })
    expect(by('energy_exported').payload).toMatchObject({
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'kWh',
      state_topic: `tele/${METER}/SENSOR`,
      value_template: '{{ value_json.ENERGY.ExportActive }}',
    })
    expect(configs.filter((c) => c.component === 'sensor').map((c) => c.objectId)).toEqual([
      'energy',
      'energy_exported',
      'power',
      'voltage',
      'current',
      'power_factor',
      'temperature',
      'light',
      'gas_level',
      'water_level',
    ])
    expect(configs.filter((c) => c.component === 'binary_sensor').map((c) => c.payload.device_class)).toEqual(
      ['smoke', 'gas', 'moisture'],
    )
    const switches = configs.filter((c) => c.component === 'switch')
    expect(switches.map((c) => c.payload.command_topic)).toEqual(
      [2, 3, 4, 5, 6, 7, 8].map((n) => `cmnd/${METER}/POWER${n}`),
    )
    expect(switches.map((c) => c.payload.state_topic)).toEqual(
      [2, 3, 4, 5, 6, 7, 8].map((n) => `stat/${METER}/POWER${n}`),
    )
    expect(by('fan').payload).toMatchObject({
      command_topic: `cmnd/${METER}/POWER1`,
      percentage_command_topic: `cmnd/${METER}/FanSpeed`,
      speed_range_min: 1,
      speed_range_max: 3,
    })
    for (const c of configs) {
      expect(c.payload).toMatchObject({
        availability_topic: `tele/${METER}/LWT`,
        payload_available: 'Online',
        payload_not_available: 'Offline',
      })
    }
  })

  it('validates its options', () => {
    expect(() => discoveryConfigs({ meter: 'a/b' })).toThrow(InvalidInputError)
    expect(() => discoveryConfigs({ meter: METER, prefix: '/x' })).toThrow(InvalidInputError)
    expect(() => discoveryConfigs({ meter: METER, relayNames: { 3: '' } })).toThrow(InvalidInputError)
    expect(
      discoveryConfigs({ meter: METER, relayNames: { 3: 'Porch' } }).find((c) => c.objectId === 'relay3')
        ?.payload.name,
    ).toBe('Porch')
  })
})

describe('discovery over a real MQTT broker', () => {
  let broker: Broker
  let node: MqttClient
  let ha: MqttClient
  beforeEach(async () => {
    broker = await startBroker()
    node = await connect(broker)
  })
  afterEach(async () => {
    await ha?.endAsync()
    await node.endAsync()
    await broker.close()
  })

  it('a subscriber to homeassistant/# later receives every retained config; removal clears them', async () => {
    const configs = discoveryConfigs({ meter: METER })
    await publishDiscovery(node, configs)
    ha = await connect(broker, 'homeassistant')
    const received = new Map<string, { retain: boolean; payload: string }>()
    ha.on('message', (topic, payload, packet) =>
      received.set(topic, { retain: packet.retain, payload: payload.toString() }),
    )
    await ha.subscribeAsync('homeassistant/#', { qos: 1 })
    const deadline = Date.now() + 3000
    while (received.size < configs.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10))
    expect([...received.keys()].sort()).toEqual(configs.map((c) => c.topic).sort())
    for (const c of configs) {
      const got = received.get(c.topic)!
      expect(got.retain).toBe(true)
      expect(JSON.parse(got.payload)).toEqual(c.payload)
    }
    await removeDiscovery(node, configs)
    await ha.endAsync()
    ha = await connect(broker, 'homeassistant')
    const after: string[] = []
    ha.on('message', (topic) => after.push(topic))
    await ha.subscribeAsync('homeassistant/#', { qos: 1 })
    await new Promise((r) => setTimeout(r, 200))
    expect(after).toEqual([])
  })
})

/**
 * What Home Assistant does with a `{{ value_json.A.B }}` template: looks the path up in the JSON
 * payload. Only that form is accepted (every sensor template of the meter is one).
 */
function renderPathTemplate(template: string, payload: string): unknown {
  const m = /^\{\{ value_json((?:\.[A-Za-z]+)+) \}\}$/.exec(template)
  if (!m) throw new Error(`not a plain value_json path template: ${template}`)
  let value: unknown = JSON.parse(payload)
  for (const key of m[1]!.slice(1).split('.')) value = (value as Record<string, unknown>)[key]
  return value
}

const record = (energyWh: number, seq: number, exportedWh = 0): MeterRecord => ({
  seq,
  kind: 0,
  time: 1_767_225_600 + seq,
  energyWh,
  intervalWh: 0,
  exportedWh,
  intervalExportedWh: 0,
  powerW: 850,
  voltageMv: 230_000,
  currentMa: 3_700,
  powerFactor: 990,
  temperatureCenti: 2_150,
  light: 400,
  gas: 10,
  water: 0,
  hazards: 0,
  relays: 0,
  fanSpeed: 0,
})

describe("the energy sensors in HA's Energy dashboard", () => {
  let broker: Broker
  let node: MqttClient
  let ha: MqttClient
  beforeEach(async () => {
    broker = await startBroker()
    node = await connect(broker)
  })
  afterEach(async () => {
    await ha?.endAsync()
    await node.endAsync()
    await broker.close()
  })

  /**
   * The node publishes discovery; Home Assistant connects afterwards and reads sensor `objectId`'s
   * retained config as it parses it: JSON text from the broker, then the sensor schema.
   */
  async function retainedSensorConfig(configs: ReturnType<typeof discoveryConfigs>, objectId: string) {
    await publishDiscovery(node, configs)
    ha = await connect(broker, 'homeassistant')
    const topic = `homeassistant/sensor/${METER}/${objectId}/config`
    const retained = new Promise<string>((resolve) =>
      ha.on('message', (t, payload) => {
        if (t === topic) resolve(payload.toString())
      }),
    )
    await ha.subscribeAsync('homeassistant/#', { qos: 1 })
    const config = JSON.parse(await retained) as Record<string, unknown>
    expect(schemaErrors('sensor', config)).toEqual([])
    return config
  }

  /**
   * What the Energy dashboard lists as a grid source, consumption or return alike: energy class, a
   * cumulative total_increasing state (a fall reads as a meter reset), Wh or kWh, statistics kept by
   * unique_id, read from the meter's SENSOR topic.
   */
  function expectGridEnergySensor(config: Record<string, unknown>, uniqueId: string, name: string) {
    expect(config.device_class).toBe('energy')
    expect(config.state_class).toBe('total_increasing')
    expect(['Wh', 'kWh']).toContain(config.unit_of_measurement)
    expect(config.unique_id).toBe(uniqueId)
    expect(config.name).toBe(name)
    expect(config.state_topic).toBe(`tele/${METER}/SENSOR`)
  }

  it('is an energy total_increasing sensor in kWh with a stable unique_id, and reads the meter counter', async () => {
    const configs = discoveryConfigs({ meter: METER, swVersion: '0.1.0' })
    const config = await retainedSensorConfig(configs, 'energy')
    expectGridEnergySensor(config, `${METER}_energy`, 'Energy imported')
    // The unique_id does not follow names, versions or the prefix: renaming keeps the history.
    for (const other of [
      discoveryConfigs({ meter: METER, name: 'Kitchen meter' }),
      discoveryConfigs({ meter: METER, swVersion: '9.9.9', prefix: 'ha' }),
    ]) {
      expect(other.find((c) => c.objectId === 'energy')?.payload.unique_id).toBe(`${METER}_energy`)
    }
    // Two energy sensors: grid consumption (import) and return to grid (export), nothing else.
    expect(configs.filter((c) => c.payload.device_class === 'energy').map((c) => c.objectId)).toEqual([
      'energy',
      'energy_exported',
    ])

    // The state HA computes from the meter's SENSOR messages: the counter in kWh, exact to the Wh,
    // never falling while the counter rises.
    const sig = `0x${'ab'.repeat(65)}`
    const values = [0, 999, 1_234_567, 98_765_432_109].map((wh, i) =>
      renderPathTemplate(config.value_template as string, encodeSensorPayload(record(wh, i + 1), sig)),
    )
    expect(values).toEqual([0, 0.999, 1234.567, 98_765_432.109])
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number)
  })

  it('has a return-to-grid sensor: energy, total_increasing, kWh, stable unique_id, reading the export counter', async () => {
    const configs = discoveryConfigs({ meter: METER, swVersion: '0.1.0' })
    const config = await retainedSensorConfig(configs, 'energy_exported')
    // A "return to grid" source: the same classes as consumption.
    expectGridEnergySensor(config, `${METER}_energy_exported`, 'Energy exported')
    expect(config.availability_topic).toBe(`tele/${METER}/LWT`)
    for (const other of [
      discoveryConfigs({ meter: METER, name: 'Roof' }),
      discoveryConfigs({ meter: METER, prefix: 'ha' }),
    ]) {
      expect(other.find((c) => c.objectId === 'energy_exported')?.payload.unique_id).toBe(
        `${METER}_energy_exported`,
      )
    }
    // The state HA computes from SENSOR messages: the export counter in kWh, exact to the Wh, and
    // independent of the import counter (a sunny hour moves one, an evening the other).
    const sig = `0x${'ab'.repeat(65)}`
    const exported = [0, 1, 4_321_000, 98_765_432_109]
    const values = exported.map((wh, i) =>
      renderPathTemplate(
        config.value_template as string,
        encodeSensorPayload(record(5_000 + i, i + 1, wh), sig),
      ),
    )
    expect(values).toEqual([0, 0.001, 4321, 98_765_432.109])
    const imported = configs.find((c) => c.objectId === 'energy')!.payload.value_template as string
    expect(renderPathTemplate(imported, encodeSensorPayload(record(5_000, 1, 4_321_000), sig))).toBe(5)
  })
})
