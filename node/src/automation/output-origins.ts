/**
 * Who last set each output, so the home page can say why a relay or the fan changed: "set by rule
 * ceiling-fan at 14:02", "manual until 14:05", "set by the gas alarm". A fan speed the resident
 * set once snapped back to low with no explanation; this is the explanation.
 */
import type { OutputId } from './output-tracker.ts'
import type { RelayCommand } from './reading.ts'

export type OriginKind = 'rule' | 'schedule' | 'manual' | 'alarm'

export interface OutputOrigin {
  output: OutputId
  by: OriginKind
  /** The rule's id (rule and schedule). */
  rule?: string
  /** When it was set (clock milliseconds). */
  at: number
  /** A manual setting: rules leave the output alone until then. */
  untilMs?: number
}

export function outputOf(command: RelayCommand): OutputId {
  return command.kind === 'fanSpeed' ? 'fan' : command.channel
}

/**
 * The rule engine's command reasons ('rule <id>', 'schedule <id>') as an origin; undefined for
 * 'override', the engine re-sending a manual hold, which stays the resident's setting as recorded.
 */
export function originOfReason(reason: string): Pick<OutputOrigin, 'by' | 'rule'> | undefined {
  const [kind, ...rest] = reason.split(' ')
  const id = rest.join(' ')
  if (kind === 'rule' && id) return { by: 'rule', rule: id }
  if (kind === 'schedule' && id) return { by: 'schedule', rule: id }
  return undefined
}

export interface OutputOrigins {
  record(command: RelayCommand, origin: Omit<OutputOrigin, 'output'>): void
  list(): OutputOrigin[]
}

export function createOutputOrigins(): OutputOrigins {
  const origins = new Map<OutputId, OutputOrigin>()
  return {
    record(command, origin) {
      const output = outputOf(command)
      origins.set(output, { output, ...origin })
    },
    list: () => [...origins.values()].map((o) => ({ ...o })),
  }
}
