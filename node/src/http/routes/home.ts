/** The home: relays and fan (sent to the meter and confirmed), the automation rules, voice commands. */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import type { Relays } from '#protocol/api/types.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { checkSwitch, RELAY_NAMES } from '../../automation/interlocks.ts'
import { isChannel, MAX_FAN_SPEED, RELAY_COUNT, type RelayCommand } from '../../automation/reading.ts'
import { validateRuleSet } from '../../automation/rule-schema.ts'
import { energyToday } from '../../history/day-energy.ts'
import { answer, commandsFor } from '../../voice/answer.ts'
import { parse as parseCommand } from '../../voice/grammar.ts'
import type { RoutesContext } from '../context.ts'
import { HttpError } from '../errors.ts'
import { jsonObject } from '../params.ts'

export type HomeContext = Pick<
  RoutesContext,
  'automation' | 'history' | 'rules' | 'devices' | 'bills' | 'priceAt' | 'config'
>

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

/** Relay and fan states: as the meter last reported them, else as its last record showed them. */
function outputs(ctx: Pick<HomeContext, 'automation' | 'history' | 'rules'>): Relays {
  const reported = ctx.automation.commander.outputs()
  const fromRecord = ctx.history.latest()
  return {
    relays: Array.from({ length: RELAY_COUNT }, (_, i) => ({
      channel: i + 1,
      name: RELAY_NAMES[i] as string,
      on: reported.relays[i] ?? fromRecord?.relays[i] ?? false,
      known: reported.relays[i] !== undefined || fromRecord !== undefined,
    })),
    fanSpeed: reported.fanSpeed ?? fromRecord?.fanSpeed ?? 0,
    origins: ctx.automation.origins().map((o) => ({
      output: o.output,
      name: o.output === 'fan' ? 'Fan speed' : (RELAY_NAMES[o.output - 1] ?? `Relay ${o.output}`),
      by: o.by,
      rule: o.rule ?? null,
      at: new Date(o.at).toISOString(),
      manualUntil: iso(o.untilMs),
    })),
    manualHoldS: ctx.rules.current().overrideS,
  }
}

export function homeRoutes(
  ctx: HomeContext,
): Pick<
  RouteHandlers,
  'relays' | 'setRelay' | 'setFan' | 'rules' | 'replaceRules' | 'putRule' | 'deleteRule' | 'command'
> {
  // A person's command: the safety interlocks decide first (a 409 names why), then the meter.
  const sendConfirmed = async (command: RelayCommand, confirm: unknown) => {
    if (confirm !== undefined && typeof confirm !== 'boolean') {
      throw new InvalidInputError('"confirm" must be true or false (true overrides a safety interlock)')
    }
    const result = await ctx.automation.switch(command, { confirm: confirm === true })
    if (result.status !== 'confirmed') {
      throw new HttpError(504, `the meter did not confirm the command (${result.reason ?? 'failed'})`, {
        reason: result.reason ?? 'failed',
      })
    }
    return result
  }
  return {
    relays: () => outputs(ctx),
    setRelay: async (r) => {
      const channel = Number(r.params.channel)
      if (!isChannel(channel)) throw new InvalidInputError(`relay channel must be 1..${RELAY_COUNT}`)
      const body = jsonObject(await r.json())
      if (typeof body.on !== 'boolean') throw new InvalidInputError('body must be { "on": true | false }')
      const command: RelayCommand = { kind: 'power', channel, on: body.on }
      await sendConfirmed(command, body.confirm)
      // Set by hand: the rules leave it alone for the rule set's overrideS (docs/automation.md).
      return {
        channel,
        on: body.on,
        confirmed: true as const,
        manualUntil: iso(ctx.automation.manual(command)),
      }
    },
    setFan: async (r) => {
      const body = jsonObject(await r.json())
      const speed = body.speed
      if (!Number.isInteger(speed) || (speed as number) < 0 || (speed as number) > MAX_FAN_SPEED) {
        throw new InvalidInputError(`body must be { "speed": 0..${MAX_FAN_SPEED} }`)
      }
      const command: RelayCommand = { kind: 'fanSpeed', speed: speed as number }
      await sendConfirmed(command, body.confirm)
      return {
        speed: speed as number,
        confirmed: true as const,
        manualUntil: iso(ctx.automation.manual(command)),
      }
    },
    ...ruleRoutes(ctx),
    command: commandRoute(ctx),
  }
}

function ruleRoutes(
  ctx: Pick<HomeContext, 'rules' | 'automation'>,
): Pick<RouteHandlers, 'rules' | 'replaceRules' | 'putRule' | 'deleteRule'> {
  return {
    rules: () => ctx.rules.current(),
    // Replace the whole document: validated first, applied against the revision the client read
    // (a concurrent edit is a 409, not a silent overwrite).
    replaceRules: async (r) => {
      const wanted = validateRuleSet(await r.json())
      const current = ctx.rules.current()
      if (wanted.revision !== current.revision) {
        throw new HttpError(
          409,
          `the rules changed since you read them (revision ${current.revision}): reload and retry`,
        )
      }
      // One change (one new revision): a concurrent edit refuses it whole instead of half applying it.
      const set = await ctx.rules.replace(wanted, current.revision)
      ctx.automation.engine.setRules(set)
      return set
    },
    putRule: async (r) => {
      const body = jsonObject(await r.json())
      if (body.id !== r.params.id) throw new InvalidInputError('the rule id in the body must match the URL')
      const set = await ctx.rules.put(body)
      ctx.automation.engine.setRules(set)
      return set
    },
    deleteRule: async (r) => {
      const set = await ctx.rules.delete(r.params.id)
      ctx.automation.engine.setRules(set)
      return set
    },
  }
}

/** A typed or spoken command: parsed, carried out, and answered in words. */
function commandRoute(ctx: HomeContext): RouteHandlers['command'] {
  return async (r) => {
    const body = jsonObject(await r.json())
    if (typeof body.text !== 'string' || body.text.length > 500) {
      throw new InvalidInputError('body must be { "text": "<at most 500 characters>" }')
    }
    const intent = parseCommand(body.text, ctx.devices)
    // The answer speaks of the state the command found ("Turning on …", "… is already on"), so
    // it is worked out before the commands change that state.
    const latest = ctx.history.latest()
    const last = ctx.bills.list().at(-1)
    const today = energyToday(ctx.history, ctx.priceAt, ctx.config.timeZone)
    const state = outputs(ctx)
    const reply = answer(intent, {
      devices: ctx.devices,
      relays: state.relays.reduce((bits, r) => bits | (r.on ? 1 << (r.channel - 1) : 0), 0),
      fanSpeed: state.fanSpeed,
      ...(latest ? { powerW: latest.powerW, temperatureCenti: Math.round(latest.temperatureC * 100) } : {}),
      ...(last?.total ? { bill: { energyWh: last.energyWh, totalWei: BigInt(last.total) } } : {}),
      ...(today ? { today: { energyWh: today.energyWh, costWei: today.costWei } } : {}),
    })
    // Spoken commands never override a safety interlock: a refusal says why (409), nothing is sent.
    const commands = commandsFor(intent)
    for (const command of commands) checkSwitch(command, ctx.automation.alarms.interlockInputs())
    const failures: string[] = []
    for (const command of commands) {
      const result = await ctx.automation.send(command)
      if (result.status !== 'confirmed')
        failures.push(command.kind === 'power' ? `relay ${command.channel}` : 'fan')
      else ctx.automation.manual(command)
    }
    return {
      intent,
      answer: failures.length ? `${reply} (The meter did not confirm: ${failures.join(', ')}.)` : reply,
    }
  }
}
