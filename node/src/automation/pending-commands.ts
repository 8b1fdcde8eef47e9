/**
 * Commands sent and not yet confirmed: each resolves once, with 'confirmed' when the meter reports the
 * matching state, or 'failed' (timeout, publish refused, stopped, superseded by a newer command for
 * the same output).
 */
import type { EventEmitter } from 'node:events'
import type { Clock, TimerHandle } from './clock.ts'
import type { CommanderEvents, CommandResult } from './commander-types.ts'
import type { RelayCommand } from './reading.ts'

interface Pending {
  command: RelayCommand
  sentAt: number
  timer: TimerHandle | undefined
  resolve: (result: CommandResult) => void
}

type FailReason = NonNullable<CommandResult['reason']>

export interface PendingCommands {
  /** Waits for `command`, failing it with 'timeout' after timeoutMs; returns a handle to fail it otherwise. */
  add(
    command: RelayCommand,
    resolve: (result: CommandResult) => void,
  ): { fail(reason: FailReason, error?: string): void }
  /** Confirms every waiting command `matches` accepts. */
  confirm(matches: (command: RelayCommand) => boolean): void
  /** Fails an older command for the same output that differs from `command` ('superseded'). */
  supersede(command: RelayCommand): void
  failAll(reason: FailReason): void
}

export function createPendingCommands(options: {
  clock: Clock
  events: EventEmitter<CommanderEvents>
  timeoutMs: number
}): PendingCommands {
  const { clock, events } = options
  const pending = new Set<Pending>()

  function settle(entry: Pending, result: CommandResult): void {
    if (!pending.delete(entry)) return
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer)
    entry.resolve(result)
    events.emit(result.status === 'confirmed' ? 'confirmed' : 'failed', result)
  }

  const fail = (entry: Pending, reason: FailReason, error?: string) =>
    settle(entry, {
      status: 'failed',
      command: entry.command,
      elapsedMs: clock.now() - entry.sentAt,
      reason,
      ...(error !== undefined && { error }),
    })

  return {
    add(command, resolve) {
      const entry: Pending = { command, sentAt: clock.now(), timer: undefined, resolve }
      pending.add(entry)
      entry.timer = clock.setTimeout(() => fail(entry, 'timeout'), options.timeoutMs)
      return { fail: (reason, error) => fail(entry, reason, error) }
    },
    confirm(matches) {
      for (const entry of [...pending]) {
        if (matches(entry.command)) {
          settle(entry, {
            status: 'confirmed',
            command: entry.command,
            elapsedMs: clock.now() - entry.sentAt,
          })
        }
      }
    },
    supersede(command) {
      // A newer command for the same output replaces an older one still waiting: the older one
      // is reported failed ('superseded') rather than left to time out or be confirmed late.
      for (const older of [...pending]) {
        const same =
          older.command.kind === command.kind &&
          (command.kind === 'fanSpeed' ||
            (older.command.kind === 'power' && older.command.channel === command.channel))
        if (same && JSON.stringify(older.command) !== JSON.stringify(command)) fail(older, 'superseded')
      }
    },
    failAll(reason) {
      for (const entry of [...pending]) fail(entry, reason)
    },
  }
}
