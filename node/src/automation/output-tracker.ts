/**
 * What the rule engine knows about each output it drives (the fan speed, relays 1..8): the value the
 * meter last reported, when it last switched on/off, the command in flight; and the sending of
 * commands, with resend after a quiet interval and send failures turned into events.
 */
import type { EventEmitter } from 'node:events'
import type { RelayCommand } from './reading.ts'

/** An output the engine drives: the fan speed, or a relay channel 1..8. */
export type OutputId = 'fan' | number

export interface RuleEngineEvents {
  command: [command: RelayCommand, reason: string]
  /** sendCommand threw or rejected; the engine retries after `resendAfterS`. */
  sendError: [command: RelayCommand, error: unknown]
}

interface OutputState {
  /** Last value the meter reported (from readings): speed for the fan, 0/1 for relays. */
  observed: number | undefined
  /** When the output last switched between off and on (-Infinity: not seen yet). */
  onOffChangedAt: number
  lastSent: { value: number; at: number } | undefined
}

export interface OutputTracker {
  state(output: OutputId): OutputState
  /** Records a reported value (a reading). */
  observe(output: OutputId, value: number, now: number): void
  /** Applies minimum on/off times to a wanted value; returns the value allowed now. */
  holdMinimums(output: OutputId, wanted: number, minOnS: number, minOffS: number, now: number): number
  /** Sends `wanted` unless the meter reports it already or it is in flight (and not due a resend). */
  drive(output: OutputId, wanted: number, reason: string, now: number, sent: RelayCommand[]): void
  /** Hands a command to sendCommand; a throw or rejection becomes a sendError event, never a crash. */
  dispatch(command: RelayCommand, reason: string): void
}

export function toCommand(output: OutputId, value: number): RelayCommand {
  return output === 'fan'
    ? { kind: 'fanSpeed', speed: value }
    : { kind: 'power', channel: output, on: value > 0 }
}

export function createOutputTracker(options: {
  events: EventEmitter<RuleEngineEvents>
  sendCommand: (command: RelayCommand) => unknown
  resendAfterMs: number
}): OutputTracker {
  const { events, sendCommand, resendAfterMs } = options
  const outputs = new Map<OutputId, OutputState>()

  function state(output: OutputId): OutputState {
    let s = outputs.get(output)
    if (s === undefined) {
      s = { observed: undefined, onOffChangedAt: Number.NEGATIVE_INFINITY, lastSent: undefined }
      outputs.set(output, s)
    }
    return s
  }

  function dispatch(command: RelayCommand, reason: string): void {
    events.emit('command', command, reason)
    try {
      const result = sendCommand(command)
      if (result instanceof Promise)
        result.catch((error: unknown) => events.emit('sendError', command, error))
    } catch (error) {
      events.emit('sendError', command, error)
    }
  }

  return {
    state,
    dispatch,
    observe(output, value, now) {
      const s = state(output)
      if (s.observed !== undefined && s.observed > 0 !== value > 0) {
        // A change we commanded happened when we sent it (the reading only reports it later).
        s.onOffChangedAt =
          s.lastSent !== undefined && s.lastSent.value > 0 === value > 0 ? s.lastSent.at : now
      }
      s.observed = value
      if (s.lastSent !== undefined && s.lastSent.value === value) s.lastSent = undefined
    },
    holdMinimums(output, wanted, minOnS, minOffS, now) {
      const s = state(output)
      const current = s.observed ?? 0
      if (current > 0 === wanted > 0) return wanted
      const since = now - s.onOffChangedAt
      if (current > 0 && since < minOnS * 1000) return current
      if (current === 0 && since < minOffS * 1000) return current
      return wanted
    },
    drive(output, wanted, reason, now, sent) {
      const s = state(output)
      if (s.observed === wanted) return
      if (s.lastSent !== undefined && s.lastSent.value === wanted && now - s.lastSent.at < resendAfterMs)
        return
      s.lastSent = { value: wanted, at: now }
      const command = toCommand(output, wanted)
      sent.push(command)
      dispatch(command, reason)
    },
  }
}
