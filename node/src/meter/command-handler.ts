/**
 * What the meter does with a parsed command (docs/protocol.md): relays and fan, the period length,
 * Resend of buffered records (or the signed word that they are gone), ResendPeriod of a kept close,
 * simulated hazards; and the node's acks, which free the Resend buffer.
 */
import { rescheduledEnd } from '#protocol/meter/period.ts'
import { RELAY_FAN, relayBit } from '#protocol/meter/relays.ts'
import { onOff } from '#protocol/meter/status.ts'
import { encodeGonePayload, signGone } from '#protocol/records.ts'
import { goneTopic } from '#protocol/topics.ts'
import type { Command } from './commands.ts'
import { InvalidCommandError } from './errors.ts'
import type { EvaluateHazards } from './hazards.ts'
import { RECENT_PERIODS } from './period-closer.ts'
import type { MeterContext } from './sim-state.ts'
import type { Telemetry } from './telemetry.ts'

type CommandContext = Pick<
  MeterContext,
  'o' | 'address' | 'topics' | 'geometry' | 'buffer' | 'sim' | 'publisher' | 'log'
>

export interface CommandHandler {
  apply(command: Command): void
  /** A node's ack `{"seq":n}`: frees every buffered record up to n; throws InvalidCommandError if malformed. */
  onAck(payload: Buffer): void
}

function ackedSeq(payload: Buffer): number {
  let seqAcked: unknown
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'))
    seqAcked = typeof parsed === 'object' && parsed !== null && 'seq' in parsed ? parsed.seq : undefined
  } catch {
    seqAcked = undefined
  }
  if (typeof seqAcked !== 'number' || !Number.isSafeInteger(seqAcked) || seqAcked < 0) {
    throw new InvalidCommandError('an ack is {"seq":<non-negative integer>}')
  }
  return seqAcked
}

export function createCommandHandler(
  ctx: CommandContext,
  deps: { telemetry: Pick<Telemetry, 'reportRelays'>; evaluateHazards: EvaluateHazards },
): CommandHandler {
  const { o, sim, topics, buffer, log } = ctx
  const publish = ctx.publisher.publish
  const { reportRelays } = deps.telemetry

  function apply(command: Command): void {
    const before = sim.relays.outputs()
    switch (command.kind) {
      case 'power': {
        const bit = relayBit(command.relay)
        const key = `POWER${command.relay}`
        const fanBefore = sim.relays.fanSpeed()
        if (command.action !== 'query' && !sim.relays.command(command.relay, command.action)) {
          log.info(
            `refused ${key} ${command.action}: a safety interlock holds relay ${command.relay} while hazards ${sim.relays.snapshot().hazards} are detected (protocol/meter/interlocks.ts)`,
          )
        }
        const extra: Record<string, string | number> = { [key]: onOff((sim.relays.outputs() & bit) !== 0) }
        if (command.relay === RELAY_FAN && sim.relays.fanSpeed() !== fanBefore)
          extra.FanSpeed = sim.relays.fanSpeed()
        reportRelays(before, extra)
        return
      }
      case 'fanSpeed': {
        if (command.speed !== 'query' && !sim.relays.setFanSpeed(command.speed))
          log.info(`refused FanSpeed ${command.speed}: a safety interlock holds the fan (relay 1)`)
        reportRelays(before, { FanSpeed: sim.relays.fanSpeed() })
        return
      }
      case 'periodDays': {
        if (command.days !== 'query') {
          sim.periodDays = command.days
          if (sim.period)
            sim.period.end = rescheduledEnd(sim.period.start, sim.periodDays, sim.t, ctx.geometry)
        }
        publish(topics.result, JSON.stringify({ PeriodDays: sim.periodDays }))
        return
      }
      case 'resend': {
        // Held records are one contiguous run ending at seq − 1: what lies below it is gone for good
        // (acknowledged, or dropped when the buffer overflowed, or lost with the RAM in a crash).
        const held = buffer.oldest ?? sim.seq
        const goneTo = Math.min(command.to, held - 1, sim.seq - 1)
        if (command.from <= goneTo) {
          const gone = { meter: ctx.address, fromSeq: command.from, toSeq: goneTo }
          log.info(
            `Resend ${command.from}..${command.to}: records ${command.from}..${goneTo} are no longer held`,
          )
          publish(goneTopic(ctx.address), encodeGonePayload(gone, signGone(o.domain, o.privateKey, gone)))
        }
        for (const r of buffer.range(command.from, command.to)) publish(topics.sensor, r.payload)
        return
      }
      case 'resendPeriod': {
        const kept = sim.recentPeriods.find((p) => p.periodStart === command.periodStart)
        if (kept === undefined) {
          log.info(`ResendPeriod ${command.periodStart}: no such close among the last ${RECENT_PERIODS}`, {
            periodStart: command.periodStart,
          })
          return
        }
        // Not retained: the retained PERIOD stays the latest close.
        publish(topics.period, kept.payload)
        return
      }
      case 'simHazard': {
        Object.assign(sim.stimuli, command.hazards)
        deps.evaluateHazards()
        return
      }
    }
  }

  return {
    apply,
    onAck(payload) {
      // An empty retained message is how a node clears its ack: nothing to free.
      if (payload.length === 0) return
      buffer.ack(ackedSeq(payload))
    },
  }
}
