/**
 * Wires the automation pieces for one meter: every reading goes to the rule engine and the alarm
 * manager; both send through the relay commander; relay states the meter reports on `stat/` feed
 * the alarm confirmation. The household node creates one per meter.
 */
import { type AlarmManager, type AlarmManagerOptions, createAlarmManager } from './alarms.ts'
import { type Clock, createSystemClock } from './clock.ts'
import { type CommandResult, createRelayCommander, type MqttLink, type RelayCommander } from './commands.ts'
import { checkSwitch, INTERLOCKS } from './interlocks.ts'
import { createOutputOrigins, type OutputOrigin, originOfReason, outputOf } from './output-origins.ts'
import type { Reading, RelayCommand } from './reading.ts'
import { createRuleEngine, type RuleEngine, type RuleSet } from './rules.ts'

export interface AutomationOptions {
  client: MqttLink
  meter: string
  rules: RuleSet
  clock?: Clock
  commandTimeoutMs?: number
  resendAfterS?: number
  alarms?: Omit<AlarmManagerOptions, 'clock' | 'sendCommand'>
}

export interface Automation {
  start(): Promise<void>
  stop(): Promise<void>
  /** Feed every verified reading (MeterRecord fields); returns the rule commands sent. */
  onReading(reading: Reading | Record<string, unknown>): RelayCommand[]
  send(command: RelayCommand): Promise<CommandResult>
  /**
   * A person's command (relay API, voice): checked against the safety interlocks first
   * (interlocks.ts: InterlockRefusedError, SafetyConfirmationRequiredError), sent forced when a
   * hold is overridden with `confirm`. Resolves with the first failure or the last confirmation.
   */
  switch(command: RelayCommand, options?: { confirm?: boolean }): Promise<CommandResult>
  /**
   * Notes a command the resident gave by hand (after the meter confirmed it): rules leave that
   * output alone for the rule set's overrideS. Returns when the hold ends (clock ms), if one is taken.
   */
  manual(command: RelayCommand): number | undefined
  /** Who last set each output, and a manual hold's end: the home page's "set by rule X at T". */
  origins(): OutputOrigin[]
  engine: RuleEngine
  alarms: AlarmManager
  commander: RelayCommander
}

export function createAutomation(options: AutomationOptions): Automation {
  const clock = options.clock ?? createSystemClock()
  const commander = createRelayCommander({
    client: options.client,
    meter: options.meter,
    clock,
    ...(options.commandTimeoutMs === undefined ? {} : { timeoutMs: options.commandTimeoutMs }),
  })
  const send = (command: RelayCommand) => commander.send(command)
  // Who set each output last (a rule, by hand, an alarm): the home page's "set by rule X at T".
  const origins = createOutputOrigins()
  const alarms = createAlarmManager({
    ...options.alarms,
    clock,
    sendCommand: (command) => {
      origins.record(command, { by: 'alarm', at: clock.now() })
      return send(command)
    },
  })
  const engine = createRuleEngine({
    rules: options.rules,
    clock,
    sendCommand: send,
    ...(options.resendAfterS === undefined ? {} : { resendAfterS: options.resendAfterS }),
    holds: () => ({
      latched: alarms.interlockInputs().latched.reduce((mask, l) => mask | l.mask, 0),
      suspendRules: alarms.list().some((a) => a.active && INTERLOCKS[a.hazard].suspendRules),
    }),
  })
  engine.events.on('command', (command, reason) => {
    const origin = originOfReason(reason)
    if (origin !== undefined) origins.record(command, { ...origin, at: clock.now() })
  })
  const onRelay = (channel: number, on: boolean) => alarms.observeRelay(channel, on)
  let running = false
  return {
    engine,
    alarms,
    commander,
    send,
    async switch(command, switchOptions = {}) {
      const commands = checkSwitch(command, alarms.interlockInputs(), switchOptions)
      let result: CommandResult | undefined
      for (const c of commands) {
        result = await send(c)
        if (result.status !== 'confirmed') return result
      }
      return result as CommandResult
    },
    manual(command) {
      const value = command.kind === 'fanSpeed' ? command.speed : command.on
      const held = engine.hold(outputOf(command), value)
      origins.record(command, {
        by: 'manual',
        at: clock.now(),
        ...(held === undefined ? {} : { untilMs: held.untilMs }),
      })
      return held?.untilMs
    },
    origins() {
      // A manual hold that has ended is only "set by hand" now: rules may change it again.
      const now = clock.now()
      return origins.list().map((o) => {
        if (o.untilMs === undefined || o.untilMs > now) return o
        const { untilMs: _, ...rest } = o
        return rest
      })
    },
    async start() {
      if (running) return
      running = true
      commander.events.on('relay', onRelay)
      alarms.start()
      try {
        await commander.start()
      } catch (error) {
        running = false
        commander.events.removeListener('relay', onRelay)
        alarms.stop()
        throw error
      }
    },
    async stop() {
      if (!running) return
      running = false
      commander.events.removeListener('relay', onRelay)
      alarms.stop()
      await commander.stop()
    },
    onReading(reading) {
      // Alarms first: safety confirmation must not wait behind comfort rules.
      alarms.observeReading(reading)
      return engine.evaluate(reading)
    },
  }
}
