/**
 * Issue 14 in real Chromium, against the fake node (the node's own routes over fixture data): what
 * the resident's app must say right and let finish. Who set a switch and how long a setting made
 * by hand holds; empty rule fields refused; unsaved rule edits guarded; the tariff editor keeping
 * the price level and asking before a large change; a bill's payer and what of it is public; the
 * data download; the speech-recognition notice; a lone node's backups never shown as safe. Every
 * test also checks that the page logged no console error.
 */
import { readFile } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { fakeNodeSuite } from './fake-node-suite.ts'

const ui = fakeNodeSuite('answers', { acceptDownloads: true })
const open = (route: string): Promise<Page> => ui.open(route)

/** "14:05" as the page shows a time (the browser's locale and zone, as the component formats it). */
function clockIn(p: Page, ms: number): Promise<string> {
  return p.evaluate((t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), ms)
}

const puts = () => ui.server.state.requests.filter((r) => r.method === 'PUT' && r.path === '/api/rules')

describe('who set a switch, and a setting made by hand', () => {
  it('says which rule set the fan, then "manual until" after the resident sets it', async () => {
    const ruleAt = Date.now() - 5 * 60_000
    ui.server.state.origins = [{ output: 'fan', by: 'rule', rule: 'ceiling-fan', at: ruleAt }]
    const p = await open('/home')
    const fan = p.locator('[data-origin=fan]')
    await expect
      .poll(() => fan.textContent())
      .toContain(`set by rule ceiling-fan at ${await clockIn(p, ruleAt)}`)
    expect(await p.locator('[data-manual-hold]').textContent()).toContain('holds for 60 minutes')

    const before = Date.now()
    await p.getByRole('radio', { name: '3 — high' }).check()
    await expect.poll(() => fan.textContent()).toContain('manual until')
    const until = ui.server.state.origins.find((o) => o.output === 'fan')?.untilMs as number
    expect(until).toBeGreaterThanOrEqual(before + 3_600_000)
    expect(await fan.textContent()).toContain(`manual until ${await clockIn(p, until)}`)
  })
})

describe('rules editor', () => {
  it('refuses an empty temperature instead of saving 0 °C, and names the field', async () => {
    const p = await open('/home')
    const on = p.getByRole('spinbutton', { name: 'On at or above (°C)' })
    await on.fill('')
    await on.dispatchEvent('change')
    expect(await on.getAttribute('aria-invalid')).toBe('true')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual('Not saved: AC on at or above: enter a number (it is empty).')
    expect(puts()).toEqual([])
    // Typed again, it saves, with the value typed.
    await on.fill('31.5')
    await on.dispatchEvent('change')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => p.getByText('Saved.').count()).toBe(1)
    const ac = ui.server.state.rules.rules.find((r) => r.kind === 'thermostat')
    expect(ac).toMatchObject({ onAtCenti: 3150 })
  })

  it('shows the node’s rule error in words, not as a document path', async () => {
    const p = await open('/home')
    const first = p.getByRole('spinbutton', { name: 'Speed 1 from (°C), ceiling fan' })
    await first.fill('35')
    await first.dispatchEvent('change')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('Rule 1, step 2: must start at a higher temperature'))
    expect((await p.getByRole('alert').allTextContents()).join(' ')).not.toMatch(/ruleSet|\[\d\]/)
    ui.browser.errors.splice(
      0,
      ui.browser.errors.length,
      ...ui.browser.errors.filter((e) => !/status of 400/.test(e)),
    )
  })

  it('edits how long a setting made by hand holds', async () => {
    const p = await open('/home')
    const hold = p.getByRole('spinbutton', { name: 'Hold against the rules for (minutes)' })
    await expect.poll(() => hold.inputValue()).toBe('60')
    await hold.fill('90')
    await hold.dispatchEvent('change')
    await p.getByRole('button', { name: 'Save settings' }).click()
    await expect.poll(() => p.getByText('Saved.').count()).toBe(1)
    expect(ui.server.state.rules.overrideS).toBe(5400)
  })

  it('asks before an in-app link leaves unsaved edits, and stays when told to', async () => {
    const p = await open('/home')
    const off = p.getByRole('spinbutton', { name: 'Off at or below (°C)' })
    await off.fill('26')
    await off.dispatchEvent('change')
    await expect.poll(() => p.locator('[data-unsaved]').count()).toBe(1)
    const questions: string[] = []
    p.once('dialog', (d) => {
      questions.push(d.message())
      void d.dismiss()
    })
    await p.getByRole('link', { name: 'Bills' }).click()
    expect(questions).toEqual([expect.stringContaining('unsaved changes')])
    expect(new URL(p.url()).hash).toBe('#/home')
    expect(await off.inputValue()).toBe('26')
    // Told to leave: it goes, and the edits are dropped.
    p.once('dialog', (d) => void d.accept())
    await p.getByRole('link', { name: 'Bills' }).click()
    await expect.poll(() => new URL(p.url()).hash).toBe('#/bills')
    await p.getByRole('link', { name: 'Home' }).click()
    await expect.poll(() => off.inputValue()).toBe('28')
    expect(puts()).toEqual([])
  })

  it('keeps unsaved edits across the back button, and asks before the page unloads', async () => {
    const p = await open('/bills')
    await p.getByRole('link', { name: 'Home' }).click()
    const off = p.getByRole('spinbutton', { name: 'Off at or below (°C)' })
    await off.click()
    await off.fill('26')
    await off.dispatchEvent('change')
    await p.goBack()
    await expect.poll(() => new URL(p.url()).hash).toBe('#/bills')
    await p.goForward()
    await expect.poll(() => off.inputValue()).toBe('26')
    // The view was kept (docs/ui.md, "Speed"): the edit shows at once, the note once it re-read the rules.
    await expect.poll(() => p.getByText('Your unsaved changes are back').count()).toBe(1)
    // Closing or reloading the page asks too (beforeunload); told to leave, it closes.
    const unload = new Promise<string>((resolve) =>
      p.once('dialog', (d) => {
        resolve(d.type())
        void d.accept()
      }),
    )
    const closed = new Promise((resolve) => p.once('close', resolve))
    await p.close({ runBeforeUnload: true })
    expect(await unload).toBe('beforeunload')
    await closed
  })
})

describe('tariff editor', () => {
  it('asks before a change of the average price by more than 2x, showing old and new', async () => {
    const p = await open('/utility')
    const average = p.getByRole('textbox', { name: /Average price/ })
    await expect.poll(() => average.inputValue()).toBe('1000')
    await average.fill('40')
    await p.getByRole('button', { name: 'Flat' }).click()
    const warning = p.locator('[data-level-change]')
    await expect
      .poll(() => warning.textContent())
      .toContain('The average price changes from 1000 to 40 gwei/Wh')
    expect(await warning.textContent()).toContain('25× cheaper')
    await p.getByRole('button', { name: 'Publish tariff' }).click()
    await expect
      .poll(() => p.getByRole('alert').allTextContents())
      .toContainEqual(expect.stringContaining('Tick "Yes, publish at this new price level"'))
    const published = () =>
      ui.server.state.requests.filter((r) => r.path === '/api/utility/tariffs' && r.method === 'POST')
    expect(published()).toEqual([])
    await p.getByRole('checkbox', { name: 'Yes, publish at this new price level' }).check()
    await p.getByRole('button', { name: 'Publish tariff' }).click()
    await expect.poll(() => p.getByText('Tariff published').count()).toBe(1)
    const body = published()[0]?.body as { prices: string[] } | undefined
    expect(body?.prices[0]).toBe('40000000000')
  })

  it('keeps the level through every preset: no warning', async () => {
    const p = await open('/utility')
    await expect.poll(() => p.getByRole('textbox', { name: /Average price/ }).inputValue()).toBe('1000')
    for (const preset of ['Day / night', 'Evening peak', 'Flat']) {
      await p.getByRole('button', { name: preset }).click()
      expect(await p.locator('[data-level-change]').count()).toBe(0)
    }
  })
})

describe('bills and privacy', () => {
  it('shows who paid a bill and which of its figures are public on the chain', async () => {
    const p = await open('/bills')
    const paid = p.locator('[data-bill]', { has: p.locator('[data-status=paid]') })
    await expect
      .poll(() => paid.locator('[data-paid-by]').getAttribute('title'))
      .toBe(`0x${'9a'.repeat(19)}01`)
    const marks = await paid
      .locator('[data-visibility]')
      .evaluateAll((els) =>
        els.map(
          (e) => `${e.parentElement?.firstChild?.textContent?.trim()}:${e.getAttribute('data-visibility')}`,
        ),
      )
    expect(marks).toEqual(
      expect.arrayContaining(['Period:public', 'Energy:public', 'Commitment:public', 'Readings CID:private']),
    )
    const text = await paid.locator('[data-public-private]').textContent()
    expect(text).toContain('Public on the chain')
    expect(text).toContain('Private, on your node only')
  })

  it('downloads my data as CSV with this device’s session', async () => {
    const p = await open('/privacy')
    const link = p.getByRole('link', { name: 'Download my data (CSV)' })
    const [download] = await Promise.all([p.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toBe('zkmeter-readings.csv')
    const text = await readFile((await download.path()) as string, 'utf8')
    expect(text).toMatch(/^interval_start_utc,interval_end_utc,energy_wh,max_power_w/)
    expect(ui.server.state.requests.some((r) => r.path === '/api/export.csv')).toBe(true)
  })
})

/** A speech engine for the page that can recognise on the device and hears one phrase. */
function fakeSpeech(p: Page) {
  return p.addInitScript(() => {
    const w = window as Window & { SpeechRecognition?: unknown; __speech?: unknown[] }
    w.__speech = []
    class FakeRecognition extends EventTarget {
      lang = ''
      interimResults = true
      maxAlternatives = 5
      processLocally = false
      static async available(options: unknown) {
        w.__speech?.push({ available: options })
        return 'available'
      }
      start() {
        w.__speech?.push({ start: { processLocally: this.processLocally, lang: this.lang } })
        queueMicrotask(() => {
          const result = Object.assign(new Event('result'), {
            results: [[{ transcript: 'turn on the main lights' }]],
          })
          this.dispatchEvent(result)
          this.dispatchEvent(new Event('end'))
        })
      }
      abort() {}
    }
    w.SpeechRecognition = FakeRecognition
  })
}

describe('voice commands', () => {
  it('warns before the first use of speech recognition, then listens on the device', async () => {
    const p = await ui.newPage()
    await fakeSpeech(p)
    await p.goto(`${ui.server.url}/#/home`)
    await p.getByRole('button', { name: 'Speak a command' }).click()
    const notice = p.locator('[data-voice-notice]')
    await expect
      .poll(() => notice.textContent())
      .toContain("sends the sound of what you say to the browser maker's servers")
    expect(await notice.locator('[data-on-device=yes]').count()).toBe(1)
    expect(await p.evaluate(() => (window as { __speech?: unknown[] }).__speech)).not.toContainEqual(
      expect.objectContaining({ start: expect.anything() }),
    )
    await p.getByRole('button', { name: 'Use voice' }).click()
    await expect.poll(() => p.locator('[data-answer]').textContent()).toContain('Turning on the main lights.')
    expect(await p.evaluate(() => (window as { __speech?: unknown[] }).__speech)).toContainEqual({
      start: { processLocally: true, lang: 'en-US' },
    })
    // Chosen once per browser: the next time it listens at once.
    await p.reload()
    await p.getByRole('button', { name: 'Speak a command' }).click()
    await expect
      .poll(
        async () => ((await p.evaluate(() => (window as { __speech?: unknown[] }).__speech)) ?? []).length,
      )
      .toBeGreaterThan(1)
    expect(await notice.count()).toBe(0)
  })

  it('offers text only, and keeps to it', async () => {
    const p = await ui.newPage()
    await fakeSpeech(p)
    await p.goto(`${ui.server.url}/#/home`)
    await p.getByRole('button', { name: 'Speak a command' }).click()
    await p.getByRole('button', { name: 'Text only' }).click()
    expect(await p.getByRole('button', { name: 'Speak a command' }).count()).toBe(0)
    expect(await p.locator('[data-text-only]').textContent()).toContain('Voice is off in this browser')
    await p.reload()
    await expect.poll(() => p.locator('[data-text-only]').count()).toBe(1)
    expect(await p.getByRole('button', { name: 'Speak a command' }).count()).toBe(0)
    expect(await p.evaluate(() => (window as { __speech?: unknown[] }).__speech)).not.toContainEqual(
      expect.objectContaining({ start: expect.anything() }),
    )
  })
})

describe('a node with no neighbours', () => {
  it('shows its backups as not kept, and nothing green about it', async () => {
    const mesh = ui.server.state.mesh
    if (!mesh.enabled) throw new Error('the fixture has the mesh on')
    ui.server.state.mesh = {
      ...mesh,
      members: 1,
      connectedAreaPeers: 0,
      backups: mesh.backups.map((b) => ({ ...b, pinnedBy: [], status: 'pending' as const })),
    }
    ui.server.state.restore = { restored: [], periods: [], neighbours: [] }
    const p = await open('/mesh')
    const summary = p.locator('[data-backup-summary]')
    await expect.poll(() => summary.getAttribute('data-backup-summary')).toBe('none')
    expect(await summary.textContent()).toContain('no neighbour is connected')
    expect(await p.getByText('No neighbour is connected yet, so none keeps its backups.').count()).toBe(1)
    await p.getByRole('button', { name: 'Restore from neighbours…' }).click()
    await p.getByRole('button', { name: 'Yes, restore' }).click()
    const outcome = p.locator('[data-restore-outcome]')
    await expect.poll(() => outcome.textContent()).toContain('Nothing restored')
    expect(await outcome.getAttribute('class')).toBe('error')
    expect((await p.locator('.ok').allTextContents()).join(' ')).not.toMatch(/neighbour|backup|period/i)
  })
})
