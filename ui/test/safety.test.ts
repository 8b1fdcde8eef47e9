import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import type { Alarm } from '#protocol/api/types.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { fakeNodeSuite } from './fake-node-suite.ts'

const ui = fakeNodeSuite('safety')
const open = (route: string): Promise<Page> => ui.open(route)

/** A gas alarm as the node lists it once the gas has cleared, before anyone acknowledged it. */
const CLEARED_GAS: Alarm = {
  id: 'gas-1',
  kind: 'gas',
  state: 'cleared',
  active: false,
  raisedAt: '2026-12-07T01:00:00.000Z',
  clearedAt: '2026-12-07T01:20:00.000Z',
  acknowledgedAt: null,
  deviceReacted: true,
  severity: 'alarm',
  resends: 0,
  holds: [
    {
      channel: 8,
      name: 'Appliance circuits',
      state: 'off',
      why: 'the meter keeps it off after the alarm, until you acknowledge it',
    },
  ],
  restores: [{ channel: 8, name: 'Appliance circuits', on: true }],
}

/** Chromium logs every non-2xx answer as a console error; these are expected refusals. */
function forgetStatus(status: number): void {
  const pattern = new RegExp(`status of ${status}`)
  ui.browser.errors.splice(0, ui.browser.errors.length, ...ui.browser.errors.filter((e) => !pattern.test(e)))
}

describe('alarms that can be finished', () => {
  it('keeps a cleared, unacknowledged alarm on the banner until it is acknowledged on the Safety page', async () => {
    ui.server.state.alarms.push({ ...CLEARED_GAS, state: 'active', active: true, clearedAt: null })
    const p = await open('/safety')
    ui.server.emit('alarm', ui.server.state.alarms[0]!)
    await expect
      .poll(() => p.getByRole('alert', { name: 'Active alarms' }).count(), { timeout: scaledBudget(5000) })
      .toBe(1)
    // The gas clears before anyone acknowledges: the alarm stays, marked, and says what it holds.
    Object.assign(ui.server.state.alarms[0]!, CLEARED_GAS)
    ui.server.emit('alarm', ui.server.state.alarms[0]!)
    const banner = p.getByRole('alert', { name: 'Alarms not acknowledged' })
    await expect.poll(() => banner.count(), { timeout: scaledBudget(5000) }).toBe(1)
    const text = await banner.textContent()
    expect(text).toContain('Gas leak detected — cleared, not acknowledged')
    expect(text).toContain('still held: Appliance circuits off')
    expect(text).toContain('Acknowledging it switches back what it held: Appliance circuits on.')
    // The Safety page lists it with what it holds and an Acknowledge button.
    const row = p.locator('li[data-alarm="gas-1"]')
    await expect.poll(() => row.textContent()).toContain('Cleared, not acknowledged')
    expect(await row.textContent()).toContain('Appliance circuits held off')
    await row.getByRole('button', { name: 'Acknowledge Gas leak detected alarm' }).click()
    await expect.poll(() => banner.count()).toBe(0)
    expect(ui.server.state.alarms[0]!.state).toBe('acknowledged')
    await expect.poll(() => row.textContent()).toContain('Acknowledged')
    expect(await row.getByRole('button').count()).toBe(0)
  })

  it('says why the sockets are off after a gas blip too short to raise an alarm, and acknowledging restores them', async () => {
    // What the node lists after a 2 s gas blip (node/test/automation/alarm-persistence.test.ts):
    // the meter's own reaction switched the sockets off and keeps them off.
    ui.server.state.alarms.push({
      ...CLEARED_GAS,
      id: 'gas-blip',
      raisedAt: '2026-12-07T14:02:00.000Z',
      clearedAt: '2026-12-07T14:02:02.000Z',
      holds: [
        {
          channel: 8,
          name: 'Appliance circuits',
          state: 'off',
          why: "the meter's own safety reaction to a 2 s gas (LPG) blip switched it off, too short for the node to raise an alarm; it stays off until you acknowledge it",
        },
      ],
      blip: { durationS: 2, count: 1, origin: 'firmware safety reaction to a 2 s gas (LPG) blip' },
    })
    const p = await open('/safety')
    const banner = p.getByRole('alert', { name: 'Alarms not acknowledged' })
    await expect.poll(() => banner.count(), { timeout: scaledBudget(5000) }).toBe(1)
    const text = await banner.textContent()
    expect(text).toContain('Gas leak detected — short blip, not acknowledged')
    expect(text).toContain('Firmware safety reaction to a 2 s gas (LPG) blip, ended')
    expect(text).toContain('still held: Appliance circuits off')
    const row = p.locator('li[data-alarm="gas-blip"]')
    expect(await row.locator('[data-blip]').textContent()).toContain(
      'Firmware safety reaction to a 2 s gas (LPG) blip',
    )
    expect(await row.textContent()).toContain('too short for the node to raise an alarm')
    // The Home relays name the blip, not an alarm the resident cannot find.
    const home = await open('/home')
    await expect
      .poll(() => home.locator('li[data-channel="8"] [data-held]').textContent())
      .toBe(
        'held off after a short gas blip that raised no alarm: acknowledge it on the Safety page to restore',
      )
    await row.getByRole('button', { name: 'Acknowledge Gas leak detected alarm' }).click()
    await expect.poll(() => banner.count()).toBe(0)
    expect(ui.server.state.alarms[0]!.state).toBe('acknowledged')
    await p.close() // the suite closes the last page opened: Home
  })

  it('says on the Home relays which relay an alarm holds off and how to get it back', async () => {
    ui.server.state.alarms.push(CLEARED_GAS)
    const p = await open('/home')
    const sockets = p.locator('li[data-channel="8"] [data-held]')
    await expect
      .poll(() => sockets.textContent())
      .toBe('held off by the gas alarm, which has cleared: acknowledge it on the Safety page to restore')
    expect(await p.locator('[data-held]').count()).toBe(1)
  })

  it('shows the interlock matrix: what each hazard forces and why', async () => {
    const p = await open('/safety')
    const matrix = p.locator('section[aria-labelledby="interlocks-h"] table')
    await expect.poll(() => matrix.count()).toBe(1)
    const fire = await matrix.getByRole('row', { name: /^fire/ }).textContent()
    expect(fire).toContain('Sprinkler valve, Buzzer')
    expect(fire).toContain('Ceiling fan, Air conditioner, Vent fan')
    expect(fire).toContain('suspended')
    const gas = await matrix.getByRole('row', { name: /^gas/ }).textContent()
    expect(gas).toContain('Appliance circuits')
    expect(gas).toContain('Ceiling fan, Air conditioner, Main lights, Night light, Vent fan, Sprinkler valve')
    expect(await matrix.getByRole('row', { name: /^flood/ }).textContent()).toContain('keep running')
  })
})

describe('overriding a safety relay during an alarm', () => {
  it('asks for confirmation: cancelled keeps the interlock, accepted sends the override', async () => {
    ui.server.state.alarms.push({
      ...CLEARED_GAS,
      id: 'fire-1',
      kind: 'fire',
      state: 'active',
      active: true,
      clearedAt: null,
    })
    ui.server.state.relays[5]!.on = true // the meter runs the sprinkler
    const p = await open('/home')
    const sprinkler = p.getByRole('switch', { name: 'Sprinkler valve' })
    await expect.poll(() => sprinkler.getAttribute('aria-checked')).toBe('true')

    const dialogs: string[] = []
    p.once('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await sprinkler.click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('Not switched: the safety interlock stays in force.'))
    expect(dialogs[0]).toContain('Sprinkler valve is held on by the fire alarm')
    expect(dialogs[0]).toContain('Override the safety interlock?')
    expect(ui.server.state.relays[5]!.on).toBe(true)

    p.once('dialog', (d) => void d.accept())
    await sprinkler.click()
    await expect.poll(() => sprinkler.getAttribute('aria-checked')).toBe('false')
    expect(ui.server.state.relays[5]!.on).toBe(false)
    forgetStatus(409)
  })

  it('gas: the switch is refused with the reason, and no override is offered', async () => {
    ui.server.state.alarms.push({ ...CLEARED_GAS, state: 'active', active: true, clearedAt: null })
    const p = await open('/home')
    let dialogs = 0
    p.on('dialog', (d) => {
      dialogs++
      void d.dismiss()
    })
    const lights = p.getByRole('switch', { name: 'Main lights' })
    await expect.poll(() => lights.getAttribute('aria-checked')).toBe('false')
    await expect
      .poll(() => p.locator('li[data-channel="3"] [data-held]').textContent())
      .toBe('no switching by the gas alarm')
    await lights.click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('switching is refused while gas is detected'))
    expect(dialogs).toBe(0)
    expect(ui.server.state.relays[2]!.on).toBe(false)
    forgetStatus(409)
  })
})
