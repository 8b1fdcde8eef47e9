/**
 * Issue 14: open alarms survive a restart of the node (alarm-store.ts), and a hazard blip shorter
 * than the debounce, which the meter still reacted to, is listed with why the relays are off.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CorruptAlarmFileError, openAlarmStore } from '../../src/automation/alarm-store.ts'
import { createAlarmManager } from '../../src/automation/alarms.ts'
import { createFakeClock } from '../../src/automation/clock.ts'
import { checkSwitch } from '../../src/automation/interlocks.ts'
import type { Reading, RelayCommand } from '../../src/automation/reading.ts'
import { alarmView } from '../../src/http/views.ts'

const base: Reading = {
  time: 0,
  powerW: 0,
  temperatureCenti: 2400,
  light: 500,
  gas: 0,
  water: 0,
  hazards: 0,
  relays: 0b1000_0000,
  fanSpeed: 0,
}
const SAFE_GAS = 0b0100_0000 // buzzer on, sockets off
const LATCHED = 0b0000_0000 // gas gone: the meter keeps the sockets off

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkm-alarms-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** One "run" of the node's alarm manager over the store in `dir`, on a shared fake clock. */
async function boot(clock = createFakeClock(1_000_000)) {
  const store = await openAlarmStore(join(dir, 'alarms.json'))
  const sent: RelayCommand[] = []
  const broadcasts: string[] = []
  const manager = createAlarmManager({
    clock,
    sendCommand: (c) => sent.push(c),
    raiseAfterReadings: 3,
    raiseAfterS: 5,
    clearAfterReadings: 3,
    clearAfterS: 20,
    confirmDeadlineS: 2,
    restore: store.restored,
    onChange: store.save,
    broadcast: (a, e) => broadcasts.push(`${e}:${a.hazard}`),
  })
  manager.start()
  const feed = (fields: Partial<Reading>, advanceMs = 1000) => {
    clock.advance(advanceMs)
    manager.observeReading({ ...base, ...fields })
  }
  const stop = async () => {
    manager.stop()
    await store.flush()
  }
  return { clock, store, sent, broadcasts, manager, feed, stop }
}

describe('open alarms across a restart', () => {
  it('a cleared, unacknowledged alarm is still open after a restart and its acknowledgement restores the sockets', async () => {
    const first = await boot()
    for (let i = 0; i < 3; i++) first.feed({ hazards: 2, relays: SAFE_GAS })
    for (let i = 0; i < 3; i++) first.feed({ hazards: 0, relays: LATCHED })
    const [alarm] = first.manager.list()
    expect(alarm).toMatchObject({ hazard: 'gas', active: false, reacted: true })
    await first.stop()

    const second = await boot(first.clock)
    expect(second.store.problem).toBeUndefined()
    expect(second.manager.list()).toEqual([alarm])
    second.feed({ hazards: 0, relays: LATCHED })
    const acked = second.manager.acknowledge(alarm!.id, 'resident')
    expect(acked.closedAt).toBeDefined()
    expect(second.sent).toEqual([{ kind: 'power', channel: 8, on: true }])
    await second.stop()

    const third = await boot(first.clock)
    expect(third.manager.list()).toEqual([])
    await third.stop()
  })

  it('keeps the acknowledged state: an alarm acknowledged while active closes when it clears after the restart', async () => {
    const first = await boot()
    for (let i = 0; i < 3; i++) first.feed({ hazards: 2, relays: SAFE_GAS })
    const id = first.manager.list()[0]!.id
    first.manager.acknowledge(id, 'resident')
    await first.stop()

    const second = await boot(first.clock)
    expect(second.manager.list()).toMatchObject([{ id, active: true, acknowledgedBy: 'resident' }])
    // Still active after the restart: no second "raised" (nor broadcast) for the same hazard.
    for (let i = 0; i < 3; i++) second.feed({ hazards: 2, relays: SAFE_GAS })
    expect(second.broadcasts).toEqual([])
    for (let i = 0; i < 3; i++) second.feed({ hazards: 0, relays: LATCHED })
    expect(second.manager.list()).toEqual([])
    expect(second.manager.get(id).closedAt).toBeDefined()
    await second.stop()
  })

  it('a corrupt file is moved aside and reported as a named error, not a crash', async () => {
    const path = join(dir, 'alarms.json')
    for (const text of ['{ not json', '{"version":1,"alarms":[{"id":"x","hazard":"smoke"}]}', '[]']) {
      await writeFile(path, text)
      const store = await openAlarmStore(path, { now: () => 42 })
      expect(store.restored).toEqual([])
      expect(store.problem).toBeInstanceOf(CorruptAlarmFileError)
      expect(store.problem?.message).toMatch(/moved to .*alarms\.json\.corrupt-42/)
      expect(await readFile(`${path}.corrupt-42`, 'utf8')).toBe(text)
      // The store keeps working: the next save writes a valid file.
      store.save([])
      await store.flush()
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, alarms: [] })
      await rm(`${path}.corrupt-42`)
    }
  })

  it('writes atomically: no temp file is left beside it', async () => {
    const t = await boot()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 2, relays: SAFE_GAS })
    await t.stop()
    expect(await readdir(dir)).toEqual(['alarms.json'])
  })
})

describe('a hazard blip shorter than the debounce', () => {
  it('is listed with why the sockets are off, never sent to the neighbours, and acknowledging restores them', async () => {
    const t = await boot()
    t.feed({ hazards: 0, relays: 0b1000_0000 })
    // Two readings (2 s) of gas: the debounce needs 3 or 5 s, so no alarm is raised, but the meter
    // switched the sockets off at once and keeps them off.
    t.feed({ hazards: 2, relays: SAFE_GAS })
    t.feed({ hazards: 2, relays: SAFE_GAS })
    t.feed({ hazards: 0, relays: LATCHED })
    const [blip] = t.manager.list()
    expect(blip).toMatchObject({ hazard: 'gas', active: false, blip: { durationMs: 2000, count: 1 } })
    expect(t.broadcasts).toEqual([])
    const view = alarmView(blip!)
    expect(view).toMatchObject({
      kind: 'gas',
      state: 'cleared',
      blip: { durationS: 2, count: 1, origin: 'firmware safety reaction to a 2 s gas (LPG) blip' },
      restores: [{ channel: 8, on: true }],
    })
    expect(view.holds?.find((h) => h.channel === 8)?.why).toMatch(/safety reaction to a 2 s gas \(LPG\) blip/)
    // The rules and the relay API see the sockets held, like after any cleared alarm.
    expect(t.manager.interlockInputs().latched).toMatchObject([
      { hazard: 'gas', alarmId: blip!.id, blip: true },
    ])
    // Switching the held socket names the blip, not an alarm the resident never saw.
    expect(() => checkSwitch({ kind: 'power', channel: 8, on: true }, t.manager.interlockInputs())).toThrow(
      /held off after a short gas \(LPG\) blip that raised no alarm/,
    )
    // A second blip counts on the same entry.
    t.feed({ hazards: 2, relays: SAFE_GAS })
    t.feed({ hazards: 0, relays: LATCHED })
    expect(t.manager.list()).toMatchObject([{ id: blip!.id, blip: { count: 2, durationMs: 1000 } }])
    // It survives a restart like any open alarm.
    await t.stop()
    const after = await boot(t.clock)
    expect(after.manager.list()).toMatchObject([{ id: blip!.id, blip: { count: 2 } }])
    after.feed({ hazards: 0, relays: LATCHED })
    after.manager.acknowledge(blip!.id, 'resident')
    expect(after.sent).toEqual([{ kind: 'power', channel: 8, on: true }])
    expect(after.broadcasts).toEqual([])
    await after.stop()
  })

  it('a blip that lasts becomes a real alarm, raised and sent to the neighbours', async () => {
    const t = await boot()
    t.feed({ hazards: 0, relays: 0b1000_0000 })
    t.feed({ hazards: 2, relays: SAFE_GAS })
    t.feed({ hazards: 0, relays: LATCHED })
    const [blip] = t.manager.list()
    for (let i = 0; i < 3; i++) t.feed({ hazards: 2, relays: SAFE_GAS })
    const [alarm] = t.manager.list()
    expect(alarm).toMatchObject({ hazard: 'gas', active: true, before: { relays: 0b1000_0000 } })
    expect(alarm!.blip).toBeUndefined()
    expect(alarm!.id).not.toBe(blip!.id)
    expect(t.broadcasts).toEqual(['raised:gas'])
    await t.stop()
  })
})
