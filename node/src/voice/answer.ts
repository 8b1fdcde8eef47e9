/**
 * Turns an intent into what the node says back (voice) or shows (text), from the node's current
 * state, and into the relay commands that carry it out.
 */
import type { RelayCommand } from '../automation/reading.ts'
import { relayIsOn } from '../automation/reading.ts'
import { type DeviceRegistry, displayName } from './devices.ts'
import type { DeviceRef, Intent } from './grammar.ts'

export interface NodeState {
  devices: DeviceRegistry
  /** Relay bits as last reported by the meter (bit n-1 = POWER<n>); undefined before any report. */
  relays?: number
  fanSpeed?: number
  powerW?: number
  temperatureCenti?: number
  /** The last bill the node made (a whole closed period). */
  bill?: { energyWh: number; totalWei: bigint }
  /** The node's calendar day so far (local midnight to the latest reading), from the readings. */
  today?: { energyWh: number; costWei: bigint }
}

function refName(ref: DeviceRef): string {
  return ref.room === undefined ? ref.name : `${ref.room} ${ref.name}`
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

const the = (names: string[]) => list(names.map((n) => `the ${n}`))

export function formatEther(wei: bigint): string {
  const negative = wei < 0n
  const abs = negative ? -wei : wei
  const whole = abs / 10n ** 18n
  const fraction = (abs % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''} ETH`
}

/** Small days stay readable: 0.2 kWh today is not "0.0". */
function formatKwh(wh: number): string {
  const kwh = wh / 1000
  if (wh > 0 && kwh < 0.05) return `${Math.round(wh)} watt-hours`
  return `${kwh.toFixed(1)} kilowatt-hours`
}

function formatPower(watts: number): string {
  return watts >= 1000
    ? `${(watts / 1000).toFixed(watts >= 10_000 ? 0 : 1)} kilowatts`
    : `${Math.round(watts)} watts`
}

export function answer(intent: Intent, state: NodeState): string {
  switch (intent.kind) {
    case 'unknown':
      return intent.help
    case 'switch': {
      const names = intent.targets.map(refName)
      if (
        state.relays !== undefined &&
        intent.targets.length > 0 &&
        intent.targets.every((t) => relayIsOn(state.relays!, t.channel) === intent.on)
      ) {
        const verb = intent.targets.length === 1 && !/s$/.test(names[0]!) ? 'is' : 'are'
        return `${capitalize(the(names))} ${verb} already ${intent.on ? 'on' : 'off'}.`
      }
      return `Turning ${intent.on ? 'on' : 'off'} ${the(names)}.`
    }
    case 'fanSpeed':
      return intent.speed === 0 ? 'Turning the fan off.' : `Setting the fan to speed ${intent.speed}.`
    case 'query':
      switch (intent.what) {
        case 'anythingOn': {
          if (state.relays === undefined)
            return "I haven't heard from the meter yet, so I don't know what is on."
          const relays = state.relays
          const fanLabel = (name: string, channel: number) =>
            channel === 1 && state.fanSpeed !== undefined && state.fanSpeed > 0
              ? `${name} (speed ${state.fanSpeed})`
              : name
          if (intent.targets !== undefined && intent.targets.length > 0) {
            const on = intent.targets.filter((t) => relayIsOn(relays, t.channel))
            const off = intent.targets.filter((t) => !relayIsOn(relays, t.channel))
            const parts: string[] = []
            if (on.length > 0)
              parts.push(
                `${the(on.map((t) => fanLabel(refName(t), t.channel)))} ${on.length === 1 ? 'is' : 'are'} on`,
              )
            if (off.length > 0) parts.push(`${the(off.map(refName))} ${off.length === 1 ? 'is' : 'are'} off`)
            return `${capitalize(parts.join('; '))}.`
          }
          const on = state.devices.devices
            .filter((d) => relayIsOn(relays, d.channel))
            .sort((a, b) => a.channel - b.channel)
          if (on.length === 0) return 'Everything is off.'
          const names = on.map((d) => fanLabel(displayName(d), d.channel))
          return `${capitalize(the(names))} ${on.length === 1 ? 'is' : 'are'} on.`
        }
        case 'bill':
          if (state.bill === undefined) return "I don't have a bill yet."
          return `Your last bill was for ${formatKwh(state.bill.energyWh)}, costing ${formatEther(state.bill.totalWei)}.`
        case 'today':
          if (state.today === undefined) return "I haven't had a reading from the meter today yet."
          return `Today you have used ${formatKwh(state.today.energyWh)}${state.today.costWei > 0n ? `, costing ${formatEther(state.today.costWei)}` : ''}.`
        case 'power':
          if (state.powerW === undefined) return "I haven't had a reading from the meter yet."
          return `You are using ${formatPower(state.powerW)} right now.`
        case 'temperature':
          if (state.temperatureCenti === undefined) return "I haven't had a temperature reading yet."
          return `It is ${(state.temperatureCenti / 100).toFixed(1)} degrees Celsius.`
      }
  }
}

/** The relay commands that carry out an intent (none for queries and unknown phrases). */
export function commandsFor(intent: Intent): RelayCommand[] {
  if (intent.kind === 'fanSpeed') return [{ kind: 'fanSpeed', speed: intent.speed }]
  if (intent.kind !== 'switch') return []
  return intent.targets.map((t) => ({ kind: 'power', channel: t.channel, on: intent.on }))
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
