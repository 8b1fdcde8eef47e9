/**
 * Parses the commands a meter accepts on cmnd/<meter>/<Command> (docs/protocol.md §7) plus the
 * simulator-only SimHazard. Tasmota command names are case-insensitive, and so are these; an
 * empty payload queries the current state, as in Tasmota. Anything else throws
 * InvalidCommandError with the reason, which the meter logs before ignoring the command.
 */

import type { RelayAction } from '#protocol/meter/relays.ts'
import { InvalidCommandError } from './errors.ts'

export type Command =
  | { kind: 'power'; relay: number; action: RelayAction | 'query' }
  | { kind: 'fanSpeed'; speed: number | 'query' }
  | { kind: 'periodDays'; days: number | 'query' }
  | { kind: 'resend'; from: number; to: number }
  | { kind: 'resendPeriod'; periodStart: number }
  | { kind: 'simHazard'; hazards: Partial<Record<'flame' | 'gas' | 'water', boolean>> }

/** Commands are a few bytes; anything longer is refused before it is parsed. */
export const MAX_COMMAND_BYTES = 256

function text(payload: Uint8Array): string {
  if (payload.byteLength > MAX_COMMAND_BYTES) {
    throw new InvalidCommandError(
      `payload of ${payload.byteLength} bytes exceeds the ${MAX_COMMAND_BYTES}-byte limit`,
    )
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(payload).trim()
  } catch (cause) {
    throw new InvalidCommandError('payload is not UTF-8 text', { cause })
  }
}

function json(body: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (cause) {
    throw new InvalidCommandError(`${what} payload is not JSON: ${JSON.stringify(body.slice(0, 60))}`, {
      cause,
    })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidCommandError(`${what} payload must be a JSON object`)
  }
  return value as Record<string, unknown>
}

function smallInt(body: string, what: string, max: number): number {
  if (!/^\d{1,3}$/.test(body) || Number(body) > max) {
    throw new InvalidCommandError(
      `${what} takes an integer 0..${max}, got ${JSON.stringify(body.slice(0, 20))}`,
    )
  }
  return Number(body)
}

/** The command name of a `cmnd/<meterName>/<Command>` topic; undefined for any other topic. */
export function commandName(topic: string, meterName: string): string | undefined {
  const prefix = `cmnd/${meterName}/`
  if (!topic.startsWith(prefix)) return undefined
  const name = topic.slice(prefix.length)
  return name.length > 0 && !name.includes('/') ? name : undefined
}

export function parseCommand(name: string, payload: Uint8Array, maxPeriodDays: number): Command {
  const body = text(payload)
  const lower = name.toLowerCase()
  const power = /^power([1-8])$/.exec(lower)
  if (power) {
    const relay = Number(power[1])
    const word = body.toLowerCase()
    if (word === '') return { kind: 'power', relay, action: 'query' }
    if (word === 'on' || word === '1') return { kind: 'power', relay, action: 'on' }
    if (word === 'off' || word === '0') return { kind: 'power', relay, action: 'off' }
    if (word === 'toggle') return { kind: 'power', relay, action: 'toggle' }
    // A person's confirmed override of a safety interlock (protocol/meter/interlocks.ts).
    if (word === 'forceon') return { kind: 'power', relay, action: 'forceOn' }
    if (word === 'forceoff') return { kind: 'power', relay, action: 'forceOff' }
    throw new InvalidCommandError(
      `POWER${relay} takes ON, OFF, TOGGLE, FORCEON, FORCEOFF, 1 or 0, got ${JSON.stringify(body.slice(0, 20))}`,
    )
  }
  if (lower === 'fanspeed') {
    return { kind: 'fanSpeed', speed: body === '' ? 'query' : smallInt(body, 'FanSpeed', 3) }
  }
  if (lower === 'perioddays') {
    return { kind: 'periodDays', days: body === '' ? 'query' : smallInt(body, 'PeriodDays', maxPeriodDays) }
  }
  if (lower === 'resend') {
    const request = json(body, 'Resend')
    if (Object.keys(request).some((key) => key !== 'from' && key !== 'to')) {
      throw new InvalidCommandError('Resend takes exactly {"from":<seq>,"to":<seq>}')
    }
    const { from, to } = request
    if (
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      (from as number) < 0 ||
      (to as number) < (from as number)
    ) {
      throw new InvalidCommandError('Resend takes {"from":<seq>,"to":<seq>} with integers 0 ≤ from ≤ to')
    }
    return { kind: 'resend', from: from as number, to: to as number }
  }
  if (lower === 'resendperiod') {
    const request = json(body, 'ResendPeriod')
    const { periodStart } = request
    if (
      Object.keys(request).length !== 1 ||
      !Number.isSafeInteger(periodStart) ||
      (periodStart as number) < 0
    ) {
      throw new InvalidCommandError('ResendPeriod takes exactly {"periodStart":<unix seconds>}')
    }
    return { kind: 'resendPeriod', periodStart: periodStart as number }
  }
  if (lower === 'simhazard') {
    const request = json(body, 'SimHazard')
    const hazards: Partial<Record<'flame' | 'gas' | 'water', boolean>> = {}
    for (const [key, value] of Object.entries(request)) {
      if ((key !== 'flame' && key !== 'gas' && key !== 'water') || typeof value !== 'boolean') {
        throw new InvalidCommandError('SimHazard takes {"flame"|"gas"|"water": true|false, …}')
      }
      hazards[key] = value
    }
    if (Object.keys(hazards).length === 0) throw new InvalidCommandError('SimHazard names no hazard')
    return { kind: 'simHazard', hazards }
  }
  throw new InvalidCommandError(`unknown command ${JSON.stringify(name.slice(0, 40))}`)
}
