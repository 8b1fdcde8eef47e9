/**
 * The Tasmota-style status payloads of docs/protocol.md §7 (STATE, RESULT), byte for byte as
 * protocol/vectors/mqtt.json pins them for the firmware: key order and value spelling matter.
 */
import { RELAY_COUNT, relayBit } from './relays.ts'

export const onOff = (on: boolean): 'ON' | 'OFF' => (on ? 'ON' : 'OFF')

/** ISO-8601 UTC without milliseconds, as Tasmota prints it. */
export const isoTime = (time: number): string => new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Tasmota uptime: days `T` hh:mm:ss. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const pad = (v: number) => String(v).padStart(2, '0')
  return `${Math.floor(s / 86_400)}T${pad(Math.floor(s / 3600) % 24)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
}

/**
 * tele/<meter>/STATE. PeriodStart / PeriodDays (the open billing period and the rule it runs
 * under) let the node know period boundaries even when PeriodDays changed mid-period.
 */
export function encodeState(state: {
  time: number
  uptime: number
  relays: number
  fanSpeed: number
  periodStart: number
  periodDays: number
}): string {
  const json: Record<string, string | number> = {
    Time: isoTime(state.time),
    Uptime: formatUptime(state.uptime),
  }
  for (let n = 1; n <= RELAY_COUNT; n++) json[`POWER${n}`] = onOff((state.relays & relayBit(n)) !== 0)
  json.FanSpeed = state.fanSpeed
  json.PeriodStart = state.periodStart
  json.PeriodDays = state.periodDays
  return JSON.stringify(json)
}
