/**
 * The shared vectors the firmware is held to (protocol/vectors/mqtt.json, period.json): the virtual
 * meter must agree with them byte for byte, or one of the two meters is wrong.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { periodEndFor, rescheduledEnd } from '#protocol/meter/period.ts'
import { encodeState } from '#protocol/meter/status.ts'
import { commandName, parseCommand } from '../../src/meter/commands.ts'
import { createCommitmentAccumulator } from '../../src/meter/commitment.ts'
import { InvalidCommandError } from '../../src/meter/errors.ts'

const vectors = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../../protocol/vectors', name), 'utf8')) as Record<
    string,
    unknown
  >

interface CommandVector {
  topic: string
  payload: string
  expect: Record<string, unknown>
}

/** The vector's encoding of a parsed command (actions as numbers, seqs as strings). */
function asVector(topic: string, payload: string, meterName: string): Record<string, unknown> {
  const name = commandName(topic, meterName)
  if (name === undefined) return { kind: 'invalid' }
  try {
    const c = parseCommand(name, new TextEncoder().encode(payload), 31)
    switch (c.kind) {
      case 'power':
        return {
          kind: 'power',
          relay: c.relay,
          action: { off: 0, on: 1, toggle: 2, forceOn: 3, forceOff: 4, query: -1 }[c.action],
        }
      case 'fanSpeed':
        return { kind: 'fanSpeed', value: c.speed }
      case 'periodDays':
        return { kind: 'periodDays', value: c.days }
      case 'resend':
        return { kind: 'resend', from: String(c.from), to: String(c.to) }
      case 'resendPeriod':
        return { kind: 'resendPeriod', periodStart: String(c.periodStart) }
      case 'simHazard':
        return { kind: 'simHazard' }
    }
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCommandError)
    return { kind: 'invalid' }
  }
}

describe('shared vectors', () => {
  const mqtt = vectors('mqtt.json') as {
    meterName: string
    commands: CommandVector[]
    state: {
      time: number
      uptime: number
      relays: number
      fanSpeed: number
      periodStart: number
      periodDays: number
      json: string
    }[]
  }

  it('parses every command vector as the firmware must', () => {
    expect(mqtt.commands.length).toBeGreaterThan(10)
    for (const v of mqtt.commands) {
      expect(asVector(v.topic, v.payload, mqtt.meterName), `${v.topic} ${JSON.stringify(v.payload)}`).toEqual(
        v.expect,
      )
    }
  })

  it('prints STATE byte for byte', () => {
    for (const v of mqtt.state) expect(encodeState(v)).toBe(v.json)
  })

  it('computes the same period ends', () => {
    const period = vectors('period.json') as {
      ends: { intervalSeconds: number; n: number; start: number; days: number; end: number }[]
      reschedules: {
        intervalSeconds: number
        n: number
        start: number
        days: number
        now: number
        end: number
      }[]
    }
    expect(period.ends.length).toBeGreaterThan(5)
    for (const v of period.ends) expect(periodEndFor(v.start, v.days, v)).toBe(v.end)
    expect(period.reschedules.length).toBeGreaterThan(0)
    for (const v of period.reschedules) expect(rescheduledEnd(v.start, v.days, v.now, v)).toBe(v.end)
  })

  it('folds the fed period into the same commitment, interval by interval', () => {
    const { feed } = vectors('period.json') as {
      feed: {
        intervalSeconds: number
        n: number
        start: number
        days: number
        salt: string
        startCounter: number
        periodEnd: number
        endCounter: number
        commitment: string
        intervals: { time: number; intervalWh: number }[]
      }
    }
    expect(periodEndFor(feed.start, feed.days, feed)).toBe(feed.periodEnd)
    const anchor = feed.start - (feed.start % 86_400)
    const acc = createCommitmentAccumulator(BigInt(feed.salt), feed.n)
    let counter = feed.startCounter
    for (const { time, intervalWh } of feed.intervals) {
      if (time - feed.intervalSeconds < feed.start || time > feed.periodEnd) continue
      acc.add((time - feed.intervalSeconds - anchor) / feed.intervalSeconds, intervalWh)
      counter += intervalWh
    }
    expect(counter).toBe(feed.endCounter)
    expect(acc.finish()).toBe(BigInt(feed.commitment))
  })
})
