/**
 * Home Assistant MQTT discovery for one meter: the retained `homeassistant/<component>/<node_id>/
 * <object_id>/config` messages that make its sensors, hazards, relays and fan appear in Home
 * Assistant when it shares the broker. Every entity reads the meter's own Tasmota-style topics
 * (docs/protocol.md §7), so Home Assistant needs nothing from the node once the configs are retained.
 */

import { InvalidInputError } from '#protocol/errors.ts'
import { homeAssistantConfigTopic, topicsForName } from '#protocol/topics.ts'
import type { MqttLink } from '../automation/commands.ts'
import { RELAY, RELAY_COUNT } from '../automation/reading.ts'

export type Component = 'sensor' | 'binary_sensor' | 'switch' | 'fan'

export interface DiscoveryConfig {
  component: Component
  objectId: string
  topic: string
  payload: Record<string, unknown>
}

export interface DiscoveryOptions {
  /** The meter's topic name, `zkm_` + 40 lowercase hex digits. */
  meter: string
  /** Shown as the device name in Home Assistant. */
  name?: string
  swVersion?: string
  /** Names for relays 2..8 (relay 1 is the fan). */
  relayNames?: Partial<Record<number, string>>
  /** Home Assistant's discovery prefix (its default is "homeassistant"). */
  prefix?: string
}

const METER_TOPIC = /^[a-zA-Z0-9_-]{1,64}$/

const DEFAULT_RELAY_NAMES: Record<number, string> = {
  [RELAY.airConditioner]: 'Air conditioner',
  [RELAY.mainLights]: 'Main lights',
  [RELAY.nightLight]: 'Night light',
  [RELAY.ventFan]: 'Vent fan',
  [RELAY.sprinkler]: 'Sprinkler valve',
  [RELAY.buzzer]: 'Buzzer',
  [RELAY.appliances]: 'Appliance circuits',
}

const SENSORS: {
  objectId: string
  name: string
  template: string
  unit?: string
  deviceClass?: string
  stateClass: 'measurement' | 'total_increasing'
  icon?: string
  /** Digits HA shows by default (the value keeps all of its own). */
  precision?: number
}[] = [
  // The imported-energy counter, as HA's Energy dashboard takes it for "Grid consumption": class
  // energy, a cumulative total_increasing state in kWh (the meter's Wh counter / 1000, exact to the
  // Wh), and the unique_id `<meter>_energy` it always had, so an existing entity keeps its history.
  {
    objectId: 'energy',
    name: 'Energy imported',
    template: '{{ value_json.ENERGY.Total }}',
    unit: 'kWh',
    deviceClass: 'energy',
    stateClass: 'total_increasing',
    precision: 3,
  },
  // The export counter (OBIS 2.8.0), as the Energy dashboard takes it for "Return to grid": the same
  // classes and unit, read from ENERGY.ExportActive (Tasmota's name for a bidirectional meter's
  // exported energy), the meter's signed exportedWh / 1000.
  {
    objectId: 'energy_exported',
    name: 'Energy exported',
    template: '{{ value_json.ENERGY.ExportActive }}',
    unit: 'kWh',
    deviceClass: 'energy',
    stateClass: 'total_increasing',
    precision: 3,
  },
  {
    objectId: 'power',
    name: 'Power',
    template: '{{ value_json.ENERGY.Power }}',
    unit: 'W',
    deviceClass: 'power',
    stateClass: 'measurement',
  },
  {
    objectId: 'voltage',
    name: 'Voltage',
    template: '{{ value_json.ENERGY.Voltage }}',
    unit: 'V',
    deviceClass: 'voltage',
    stateClass: 'measurement',
  },
  {
    objectId: 'current',
    name: 'Current',
    template: '{{ value_json.ENERGY.Current }}',
    unit: 'A',
    deviceClass: 'current',
    stateClass: 'measurement',
  },
  // Home Assistant's power_factor class takes a ratio without unit (or %); the meter sends 0..1.
  {
    objectId: 'power_factor',
    name: 'Power factor',
    template: '{{ value_json.ENERGY.Factor }}',
    deviceClass: 'power_factor',
    stateClass: 'measurement',
  },
  {
    objectId: 'temperature',
    name: 'Temperature',
    template: '{{ value_json.LM35.Temperature }}',
    unit: '°C',
    deviceClass: 'temperature',
    stateClass: 'measurement',
  },
  // Light, gas and water are permille of the sensor's full scale, not lux or volumes: no device
  // class fits, so they are plain percentages read from the signed ZK block's integers.
  {
    objectId: 'light',
    name: 'Light level',
    template: '{{ value_json.ZK.light / 10 }}',
    unit: '%',
    stateClass: 'measurement',
    icon: 'mdi:brightness-6',
  },
  {
    objectId: 'gas_level',
    name: 'Gas level',
    template: '{{ value_json.ZK.gas / 10 }}',
    unit: '%',
    stateClass: 'measurement',
    icon: 'mdi:gas-cylinder',
  },
  {
    objectId: 'water_level',
    name: 'Water level',
    template: '{{ value_json.ZK.water / 10 }}',
    unit: '%',
    stateClass: 'measurement',
    icon: 'mdi:water-percent',
  },
]

const HAZARD_SENSORS = [
  { objectId: 'flame', name: 'Flame', field: 'Flame', deviceClass: 'smoke' },
  { objectId: 'gas', name: 'Gas leak', field: 'Gas', deviceClass: 'gas' },
  { objectId: 'water', name: 'Water leak', field: 'Water', deviceClass: 'moisture' },
] as const

export function discoveryConfigs(options: DiscoveryOptions): DiscoveryConfig[] {
  const { meter } = options
  if (typeof meter !== 'string' || !METER_TOPIC.test(meter)) {
    throw new InvalidInputError(
      `meter topic name ${JSON.stringify(meter)} is not valid for discovery: use zkm_ followed by the meter address in lowercase hex`,
    )
  }
  const prefix = options.prefix ?? 'homeassistant'
  if (!/^[a-zA-Z0-9_/-]{1,64}$/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new InvalidInputError(
      `discovery prefix ${JSON.stringify(prefix)} must be a plain MQTT topic level like "homeassistant"`,
    )
  }
  const topics = topicsForName(meter)
  const device = {
    identifiers: [meter],
    name: options.name ?? `zkmeter ${meter.slice(4, 10)}`,
    manufacturer: 'zkmeter',
    model: 'zkmeter 8-channel smart meter',
    ...(options.swVersion === undefined ? {} : { sw_version: options.swVersion }),
  }
  const common = {
    availability_topic: topics.lwt,
    payload_available: 'Online',
    payload_not_available: 'Offline',
    device,
  }
  const sensorTopic = topics.sensor
  const configs: DiscoveryConfig[] = []
  const add = (component: Component, objectId: string, payload: Record<string, unknown>) =>
    configs.push({
      component,
      objectId,
      topic: homeAssistantConfigTopic(prefix, component, meter, objectId),
      payload: { ...payload, unique_id: `${meter}_${objectId}`, ...common },
    })

  for (const s of SENSORS) {
    add('sensor', s.objectId, {
      name: s.name,
      state_topic: sensorTopic,
      value_template: s.template,
      state_class: s.stateClass,
      ...(s.unit === undefined ? {} : { unit_of_measurement: s.unit }),
      ...(s.deviceClass === undefined ? {} : { device_class: s.deviceClass }),
      ...(s.icon === undefined ? {} : { icon: s.icon }),
      ...(s.precision === undefined ? {} : { suggested_display_precision: s.precision }),
    })
  }
  for (const h of HAZARD_SENSORS) {
    add('binary_sensor', h.objectId, {
      name: h.name,
      state_topic: sensorTopic,
      value_template: `{{ 'ON' if value_json.HAZARD.${h.field} else 'OFF' }}`,
      payload_on: 'ON',
      payload_off: 'OFF',
      device_class: h.deviceClass,
    })
  }
  for (let n = 2; n <= RELAY_COUNT; n++) {
    const name = options.relayNames?.[n] ?? DEFAULT_RELAY_NAMES[n]!
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new InvalidInputError(`relay ${n} name must be 1 to 64 characters`)
    }
    add('switch', `relay${n}`, {
      name,
      command_topic: topics.command(`POWER${n}`),
      state_topic: topics.power(n),
      payload_on: 'ON',
      payload_off: 'OFF',
      state_on: 'ON',
      state_off: 'OFF',
      qos: 1,
      retain: false,
    })
  }
  add('fan', 'fan', {
    name: options.relayNames?.[RELAY.fan] ?? 'Ceiling fan',
    command_topic: topics.command(`POWER${RELAY.fan}`),
    state_topic: topics.power(RELAY.fan),
    payload_on: 'ON',
    payload_off: 'OFF',
    percentage_command_topic: topics.command('FanSpeed'),
    // RESULT also carries POWER<n> results: an empty rendering makes Home Assistant ignore those.
    percentage_state_topic: topics.result,
    percentage_value_template: '{% if value_json.FanSpeed is defined %}{{ value_json.FanSpeed }}{% endif %}',
    speed_range_min: 1,
    speed_range_max: 3,
    qos: 1,
  })
  return configs
}

function publishRetained(client: MqttLink, topic: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: 1, retain: true }, (error) => (error ? reject(error) : resolve())),
  )
}

/** Publishes every config retained, so Home Assistant finds them whenever it (re)connects. */
export async function publishDiscovery(client: MqttLink, configs: readonly DiscoveryConfig[]): Promise<void> {
  await Promise.all(configs.map((c) => publishRetained(client, c.topic, JSON.stringify(c.payload))))
}

/** Removes the entities from Home Assistant (an empty retained config deletes one). */
export async function removeDiscovery(client: MqttLink, configs: readonly DiscoveryConfig[]): Promise<void> {
  await Promise.all(configs.map((c) => publishRetained(client, c.topic, '')))
}
