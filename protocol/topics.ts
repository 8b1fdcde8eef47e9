/**
 * Every MQTT topic of docs/protocol.md §7 and every mesh topic of docs/mesh.md §2, in one place for
 * the meter, the virtual meter, the node, Home Assistant discovery and the mesh. Meter topics are
 * Tasmota-style: `<prefix>/<topic name>/<suffix>`, where a zkmeter's topic name is `zkm_` + its
 * address in 40 lowercase hex digits.
 */
import { InvalidInputError } from './errors.ts'

type Address = `0x${string}`

/** A topic that is not the one a message of this kind must arrive on. */
export class TopicError extends InvalidInputError {
  override name = 'TopicError'
}

const TOPIC_RE = /^(tele|cmnd|stat|zkmeter)\/zkm_([0-9a-f]{40})\/([A-Za-z0-9]+)$/

/** `zkm_` + 40 lowercase hex digits: the meter's Tasmota topic name. */
export function meterTopicName(meter: string): string {
  if (typeof meter !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(meter)) {
    throw new InvalidInputError(`a meter address is 0x + 40 hex digits, got ${JSON.stringify(String(meter))}`)
  }
  return `zkm_${meter.slice(2).toLowerCase()}`
}

export interface MeterTopics {
  /** Signed interval records (meter → node). */
  sensor: string
  /** Signed period closes, retained (meter → node). */
  period: string
  /** Signed "records gone" notices (meter → node). */
  gone: string
  /** The open period and outputs, unsigned (meter → node). */
  state: string
  /** Last will: Online / Offline. */
  lwt: string
  /** Command results (meter → node). */
  result: string
  /** Every stat/ topic of this meter (subscription filter). */
  stat: string
  /** The prefix every stat/ topic of this meter starts with. */
  statPrefix: string
  /** One relay's reported state. */
  power(n: number): string
  /** Every command topic of this meter (subscription filter). */
  commands: string
  /** One command topic (`POWER3`, `FanSpeed`, `Resend`, `ResendPeriod`, …). */
  command(name: string): string
  /** The node's retained acknowledgement (node → meter). */
  ack: string
}

/** Topics of the meter with this Tasmota topic name (`zkm_…`, as Home Assistant and the commander know it). */
export function topicsForName(name: string): MeterTopics {
  return {
    sensor: `tele/${name}/SENSOR`,
    period: `tele/${name}/PERIOD`,
    gone: `tele/${name}/GONE`,
    state: `tele/${name}/STATE`,
    lwt: `tele/${name}/LWT`,
    result: `stat/${name}/RESULT`,
    stat: `stat/${name}/#`,
    statPrefix: `stat/${name}/`,
    power: (n) => `stat/${name}/POWER${n}`,
    commands: `cmnd/${name}/+`,
    command: (command) => `cmnd/${name}/${command}`,
    ack: `zkmeter/${name}/ack`,
  }
}

/** Subscription filters over every meter's topics (`tele/+/SENSOR`, …): the node ingests them all. */
export const ANY_METER: MeterTopics = topicsForName('+')

/** Topics of the meter with this address (0x + 40 hex digits). */
export function meterTopics(address: string): MeterTopics {
  return topicsForName(meterTopicName(address))
}

export const sensorTopic = (meter: string): string => meterTopics(meter).sensor
export const periodTopic = (meter: string): string => meterTopics(meter).period
export const resendTopic = (meter: string): string => meterTopics(meter).command('Resend')
export const ackTopic = (meter: string): string => meterTopics(meter).ack
export const goneTopic = (meter: string): string => meterTopics(meter).gone
export const stateTopic = (meter: string): string => meterTopics(meter).state
export const resendPeriodTopic = (meter: string): string => meterTopics(meter).command('ResendPeriod')

/** Meter address (lowercase) named by a `<prefix>/zkm_<hex>/<suffix>` topic. */
export function parseMeterTopic(topic: string, prefix: string, suffix: string): Address {
  const match = typeof topic === 'string' ? TOPIC_RE.exec(topic) : null
  if (match === null || match[1] !== prefix || match[3] !== suffix) {
    throw new TopicError(
      `expected topic ${prefix}/zkm_<40 lowercase hex>/${suffix}, got ${JSON.stringify(String(topic).slice(0, 120))}`,
    )
  }
  return `0x${match[2]}`
}

/** Home Assistant's retained MQTT discovery topic for one entity of a device (docs/automation.md). */
export function homeAssistantConfigTopic(
  prefix: string,
  component: string,
  nodeId: string,
  objectId: string,
): string {
  return `${prefix}/${component}/${nodeId}/${objectId}/config`
}

/** The neighbourhood mesh's gossipsub topics (docs/mesh.md §2): one per grid area and purpose. */
export const MESH_TOPIC_KINDS = ['members', 'alerts', 'notices', 'aggregate'] as const
export type MeshTopicKind = (typeof MESH_TOPIC_KINDS)[number]

/** The mesh topic of this purpose in this area (the ledger's uint32 areaId). */
export function meshTopic(area: number, kind: MeshTopicKind): string {
  return `zkmeter/${area}/${kind}`
}
