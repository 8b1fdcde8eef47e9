/**
 * Wires the automation pieces for one meter: every reading goes to the rule engine and the alarm
 * manager; both send through the relay commander; relay states the meter reports on `stat/` feed
 * the alarm confirmation. The household node creates one per meter.
 */
import { type AlarmManager, type AlarmManagerOptions, createAlarmManager } from './alarms.ts'
import { type Clock, createSystemClock } from './clock.ts'
import { type CommandResult, createRelayCommander, type MqttLink, type RelayCommander } from './commands.ts'
import { checkSwitch, INTERLOCKS } from './interlocks.ts'
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
  const alarms = createAlarmManager({ ...options.alarms, clock, sendCommand: send })
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
