/** Tasmota-style topic names of docs/protocol.md §7, in one place for the meter and the node. */
import { meterTopicName } from './records.ts'

export { meterTopicName }

export interface MeterTopics {
  sensor: string
  period: string
  state: string
  lwt: string
  result: string
  power(n: number): string
  /** Every command topic of this meter (subscription filter). */
  commands: string
  command(name: string): string
  ack: string
}

/** Topics of the meter with this address (0x + 40 hex digits). */
export function meterTopics(address: string): MeterTopics {
  const name = meterTopicName(address)
  return {
    sensor: `tele/${name}/SENSOR`,
    period: `tele/${name}/PERIOD`,
    state: `tele/${name}/STATE`,
    lwt: `tele/${name}/LWT`,
    result: `stat/${name}/RESULT`,
    power: (n) => `stat/${name}/POWER${n}`,
    commands: `cmnd/${name}/+`,
    command: (command) => `cmnd/${name}/${command}`,
    ack: `zkmeter/${name}/ack`,
  }
}

/** The neighbourhood mesh's gossipsub topics (docs/mesh.md §2): one per grid area and purpose. */
export const MESH_TOPIC_KINDS = ['members', 'alerts', 'notices', 'aggregate'] as const
export type MeshTopicKind = (typeof MESH_TOPIC_KINDS)[number]

/** The mesh topic of this purpose in this area (the ledger's uint32 areaId). */
export function meshTopic(area: number, kind: MeshTopicKind): string {
  return `zkmeter/${area}/${kind}`
}
