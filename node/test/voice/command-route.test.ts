/**
 * POST /api/command's answers from the node's real state (issue 14): a switch that works answers
 * "Turning on …" (it once said "… already on" after every successful switch), and "what is my
 * consumption today" answers the node's calendar day from the readings, not the last bill (it said
 * 7.9 kWh, the bill, when today was 0.2 kWh). Over the real route handler, reading history, rule-free
 * automation stand-in that confirms like a meter, and the device registry.
 */
import { describe, expect, it } from 'vitest'
import type { MeterRecord } from '#protocol/records.ts'
import type { RelayCommand } from '../../src/automation/reading.ts'
import { DEFAULT_RULE_SET } from '../../src/automation/rule-schema.ts'
import type { BillRecord } from '../../src/billing/store.ts'
import { localDayStart } from '../../src/history/day-energy.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import { homeRoutes } from '../../src/http/routes/home.ts'
import { createDeviceRegistry } from '../../src/voice/devices.ts'

const INTERVAL = 900

function record(fields: Partial<MeterRecord> & Pick<MeterRecord, 'seq' | 'time'>): MeterRecord {
  return {
    kind: 1,
    energyWh: 0,
    intervalWh: 0,
    exportedWh: 0,
    intervalExportedWh: 0,
    powerW: 0,
    voltageMv: 230_000,
    currentMa: 0,
    powerFactor: 1000,
    temperatureCenti: 2100,
    light: 0,
    gas: 0,
    water: 0,
    hazards: 0,
    relays: 0,
    fanSpeed: 0,
    ...fields,
  }
}

/** The home routes over a meter stand-in that confirms each command and then reports it. */
function home(options: { bills?: Partial<BillRecord>[]; timeZone?: string } = {}) {
  const history = createReadingHistory({ intervalSeconds: INTERVAL })
  const relays: (boolean | undefined)[] = Array.from({ length: 8 }, () => false)
  let fanSpeed = 0
  const sent: RelayCommand[] = []
  const routes = homeRoutes({
    config: { dev: true, timeZone: options.timeZone ?? 'UTC' },
    history,
    devices: createDeviceRegistry(),
    priceAt: () => 0n,
    bills: { list: () => (options.bills ?? []) as BillRecord[], get: () => undefined },
    rules: { current: () => DEFAULT_RULE_SET } as never,
    automation: {
      async send(command) {
        sent.push(command)
        if (command.kind === 'power') relays[command.channel - 1] = command.on
        else fanSpeed = command.speed
        return { status: 'confirmed', command, elapsedMs: 1 }
      },
      async switch(command) {
        return this.send(command)
      },
      manual: () => undefined,
      origins: () => [],
      commander: { outputs: () => ({ relays: [...relays], fanSpeed }) },
      engine: { setRules: () => {} },
      alarms: {
        list: () => [],
        acknowledge: () => undefined as never,
        interlockInputs: () => ({ hazards: 0, latched: [] }),
      },
    },
  })
  const say = async (text: string) =>
    (await routes.command({ json: async () => ({ text }) } as never)) as { answer: string }
  return { history, say, sent }
}

describe('switching by voice or text', () => {
  it('answers "Turning on" when it switches, and "already on" only when nothing changes', async () => {
    const { say, sent } = home()
    expect((await say('turn on the main lights')).answer).toBe('Turning on the main lights.')
    expect(sent).toEqual([{ kind: 'power', channel: 3, on: true }])
    expect((await say('turn on the main lights')).answer).toBe('The main lights are already on.')
    expect((await say('turn off the main lights')).answer).toBe('Turning off the main lights.')
    expect((await say('turn on the night light')).answer).toBe('Turning on the night light.')
  })
})

describe('"what is my consumption today"', () => {
  // The household's zone (config timeZone) away from UTC: its calendar day is not the UTC day.
  const timeZone = 'Asia/Kolkata'

  it("answers today's energy from the readings (local calendar day), not the last bill", async () => {
    const bills = [{ id: 'b1', energyWh: 7_900, total: '1000000000000000', periodStart: 0 }]
    const { history, say } = home({ bills, timeZone })
    // 2026-12-07 00:30 local (IST, UTC+5:30) is 2026-12-06 19:00 UTC.
    const now = Date.parse('2026-12-06T19:00:00Z') / 1000
    const midnight = localDayStart(now, timeZone)
    expect(midnight).toBe(Date.parse('2026-12-06T18:30:00Z') / 1000)
    let seq = 1
    // Yesterday evening (local): 7.9 kWh, in intervals that end before local midnight.
    for (let t = midnight - 10 * INTERVAL; t <= midnight; t += INTERVAL) {
      history.add(record({ seq: seq++, time: t, intervalWh: 790 }))
    }
    // Today: two closed intervals of 80 Wh, and 40 Wh so far in the open one.
    history.add(record({ seq: seq++, time: midnight + INTERVAL, intervalWh: 80 }))
    history.add(record({ seq: seq++, time: midnight + 2 * INTERVAL, intervalWh: 80 }))
    history.add(record({ seq: seq++, kind: 0, time: now, intervalWh: 40, powerW: 300 }))

    expect((await say('what is my consumption today')).answer).toBe('Today you have used 0.2 kilowatt-hours.')
    expect((await say('how much energy did I use today?')).answer).toBe(
      'Today you have used 0.2 kilowatt-hours.',
    )
    expect((await say("what's my bill")).answer).toBe(
      'Your last bill was for 7.9 kilowatt-hours, costing 0.001 ETH.',
    )
  })

  it('says so before the first reading instead of quoting a bill', async () => {
    const { say } = home({ bills: [{ id: 'b1', energyWh: 7_900, total: '1' }] })
    expect((await say('what is my consumption today')).answer).toMatch(/haven't had a reading/)
  })
})
