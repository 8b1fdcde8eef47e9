/** The relay commander's public types, shared by its modules. */
import type { EventEmitter } from 'node:events'
import { ZkMeterError } from '#protocol/errors.ts'
import type { RelayCommand } from './reading.ts'

/** The part of an MQTT client the commander needs; mqtt.js' MqttClient satisfies it. */
export interface MqttLink {
  publish(
    topic: string,
    message: string,
    opts: { qos: 0 | 1 | 2; retain: boolean },
    callback: (error?: Error) => void,
  ): unknown
  subscribe(topic: string[], opts: { qos: 0 | 1 | 2 }, callback: (error: Error | null) => void): unknown
  unsubscribe(topic: string[], callback: (error?: Error) => void): unknown
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown
  removeListener(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown
}

export class CommanderNotStartedError extends ZkMeterError {
  override name = 'CommanderNotStartedError'
  override readonly category = 'unavailable'
}

export type CommandStatus = 'confirmed' | 'failed'

export interface CommandResult {
  status: CommandStatus
  command: RelayCommand
  /** Milliseconds from send to confirmation or to the failure. */
  elapsedMs: number
  /**
   * Why it failed: 'timeout' (no matching stat in time), 'publish' (broker refused), 'stopped'
   * (commander stopped), 'superseded' (a newer command for the same output was sent first).
   */
  reason?: 'timeout' | 'publish' | 'stopped' | 'superseded'
  error?: string
}

export interface MeterOutputs {
  /** Index n-1 holds POWER<n> as last reported by the meter; undefined until first reported. */
  relays: (boolean | undefined)[]
  fanSpeed: number | undefined
}

export interface CommanderEvents {
  /** The meter reported a relay state (confirmation or local change). */
  relay: [channel: number, on: boolean]
  fanSpeed: [speed: number]
  confirmed: [result: CommandResult]
  failed: [result: CommandResult]
  /** A stat/ or STATE message that could not be understood; it was ignored. */
  invalidMessage: [topic: string, reason: string]
}

export interface RelayCommander {
  start(): Promise<void>
  stop(): Promise<void>
  send(command: RelayCommand): Promise<CommandResult>
  outputs(): MeterOutputs
  events: EventEmitter<CommanderEvents>
}
