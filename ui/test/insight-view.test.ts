import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { NOW, reading } from '../../test/support/fake-node.ts'
import { fakeNodeSuite } from './fake-node-suite.ts'

const ui = fakeNodeSuite('insight')
const open = (route: string): Promise<Page> => ui.open(route)

/** An element's text with the template's line breaks folded into single spaces. */
const text = async (p: Page, selector: string) =>
  ((await p.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim()

describe('the live power trend', () => {
  it('draws the last minutes from the stream and keeps them across a view switch', async () => {
    const p = await open('/')
    await expect.poll(() => text(p, '[data-value=power]')).toBe('1,510 W')
    await expect.poll(() => p.locator('[data-trend=waiting]').count()).toBe(1)
    ui.server.emit('reading', reading(2, { time: NOW + 60, powerW: 1000 }))
    ui.server.emit('reading', reading(3, { time: NOW + 120, powerW: 3000 }))
    await expect
      .poll(() => text(p, '[data-trend=summary]'))
      .toBe("Power now 3,000 W, lowest 1,000 W, highest 3,000 W over the last 2 minutes (the meter's clock).")
    expect(await p.locator('zkm-power-trend svg path.line').getAttribute('d')).toMatch(
      /^M[\d.]+ [\d.]+ L.* L/,
    )
    // A replayed older reading changes nothing; readings older than the window drop out.
    ui.server.emit('reading', reading(4, { time: NOW + 30, powerW: 9000 }))
    await p.getByRole('link', { name: 'Energy', exact: true }).click()
    await expect.poll(() => p.getByRole('heading', { level: 1, name: 'Energy' }).count()).toBe(1)
    ui.server.emit('reading', reading(5, { time: NOW + 16 * 60 + 1, powerW: 2000 }))
    await p.getByRole('link', { name: 'Live', exact: true }).click()
    await expect
      .poll(() => text(p, '[data-trend=summary]'))
      .toBe(
        "Power now 2,000 W, lowest 2,000 W, highest 3,000 W over the last 14 minutes (the meter's clock).",
      )
  })
})

describe('the Energy view', () => {
  it('shows today\'s calendar day with the same energy and cost as Live\'s "Energy today"', async () => {
    const p = await open('/')
    await expect.poll(() => text(p, '[data-value=energy-today]')).toBe('8.421 kWh')
    const cost = await text(p, '[data-value=cost-today]')
    await p.getByRole('link', { name: 'Energy by day, week and month' }).click()
    await expect.poll(() => text(p, '[data-value=period-energy]')).toBe('8.421 kWh')
    expect(await text(p, '[data-value=period-cost]')).toBe(cost)
    expect(await text(p, '#period-h')).toBe('Tuesday, 25 November 2025')
    expect(await p.locator('zkm-history-chart svg rect.bar').count()).toBe(24)
    expect(await p.getByText('so far (up to 12:00)').count()).toBe(1)
    // The projection says how it is made, in words.
    await expect
      .poll(() => text(p, '[data-projection=period]'))
      .toMatch(
        /About \d+\.\d{3} kWh and .* ETH by the end of this day: 8\.421 kWh so far, plus the \d+\.\d{3} kWh used over the same 12 h a week before \(18 November 2025, from 12:00\), at the prices of the tariff in force\./,
      )
    expect(await text(p, '[data-projection=bill]')).toMatch(
      /Period 25 November 2025, 00:00 → 26 November 2025, 00:00\. So far 8\.421 kWh, .* ETH\. About \d+\.\d{3} kWh .* a week before/,
    )
    expect(await text(p, '[data-compare=previous-day]')).toMatch(
      /^\s*Yesterday \(Monday, 24 November 2025\): .* kWh, .* ETH; .* kWh by the same time\. So far this day used .*(more|less|the same)/,
    )
    expect(await text(p, '[data-compare=week-before]')).toMatch(
      /The same day a week before \(Tuesday, 18 November 2025\)/,
    )
  })

  it('steps back and forth, picks a date, and switches to weeks and months', async () => {
    const p = await open('/energy')
    await expect.poll(() => text(p, '#period-h')).toBe('Tuesday, 25 November 2025')
    const next = p.getByRole('button', { name: 'Next day' })
    expect(await next.isDisabled()).toBe(true)
    await p.getByRole('button', { name: 'Previous day' }).click()
    await expect.poll(() => text(p, '#period-h')).toBe('Monday, 24 November 2025')
    expect(await next.isDisabled()).toBe(false)
    expect(await p.locator('[data-projection=period]').count()).toBe(0)
    await expect
      .poll(() => text(p, '[data-compare=previous-day]'))
      .toMatch(/^\s*The day before \(Sunday, 23 November 2025\)/)
    await p.getByLabel('Show the day of').fill('2025-11-10')
    await expect.poll(() => text(p, '#period-h')).toBe('Monday, 10 November 2025')
    await p.getByRole('tab', { name: 'Week' }).click()
    await expect.poll(() => text(p, '#period-h')).toBe('Week of 10 November 2025')
    expect(await p.locator('zkm-history-chart svg rect.bar').count()).toBe(7)
    await p.getByRole('tab', { name: 'Week' }).press('ArrowRight')
    await expect.poll(() => text(p, '#period-h')).toBe('November 2025')
    expect(await p.locator('zkm-history-chart svg rect.bar').count()).toBe(30)
    await p.getByRole('button', { name: 'Previous month' }).click()
    await expect.poll(() => text(p, '#period-h')).toBe('October 2025')
    await p.getByRole('button', { name: 'This month' }).click()
    await expect.poll(() => text(p, '#period-h')).toBe('November 2025')
    expect(await p.getByRole('button', { name: 'This month' }).isDisabled()).toBe(true)
    // Every request went through the validated query, never a malformed date.
    const asked = ui.server.state.requests.filter((r) => r.path === '/api/insight').length
    expect(asked).toBeGreaterThanOrEqual(7)
  })

  it('splits the cost by the price levels of the tariff in force', async () => {
    // Night (00–07 UTC) at 1 gwei/Wh... the fake node prices readings as the node does: by slot.
    ui.server.state.tariffs.at(-1)!.prices = Array.from({ length: 96 }, (_, i) =>
      i < 28 ? '1000000000000' : '2000000000000',
    )
    const p = await open('/energy')
    await expect.poll(() => p.locator('[data-level]').count()).toBe(2)
    const rows = await p.locator('[data-level]').allTextContents()
    expect(rows[0]).toMatch(/^\s*low\s+0\.001 ETH\/kWh\s+[\d.]+ kWh\s+\d+ %\s+0\.00\d+ ETH\s*$/)
    expect(rows[1]).toMatch(/^\s*high\s+0\.002 ETH\/kWh/)
    const energy = (row: string) => Number(/([\d.]+) kWh\s+\d+ %/.exec(row)![1])
    expect(energy(rows[0]!) + energy(rows[1]!)).toBeCloseTo(8.421, 3)
    expect(await text(p, 'tfoot')).toMatch(/Total\s*8\.421 kWh\s*100 %/)
  })
})

describe('a home with solar (issue 17)', () => {
  it('shows the energy returned to the grid on Live and below the line in the Energy chart, unpriced', async () => {
    // The open interval so far has returned 80 Wh; the meter's export counter stands at 5.432 kWh.
    ui.server.state.latest = reading(1, { exportedWh: 5_432, intervalExportedWh: 80 })
    const p = await open('/')
    await expect.poll(() => text(p, '[data-value=exported-today]')).toBe('80 Wh')
    expect(await text(p, '[data-reading]')).toMatch(
      /meter import total [\d.,]+ kWh · export total 5\.432 kWh/,
    )
    const cost = await text(p, '[data-value=cost-today]')
    await p.getByRole('link', { name: 'Energy by day, week and month' }).click()
    await expect.poll(() => text(p, '[data-value=period-exported]')).toBe('80 Wh')
    // The cost is the import's alone: the same as Live's, with or without export.
    expect(await text(p, '[data-value=period-cost]')).toBe(cost)
    expect(await p.locator('zkm-history-chart svg rect.bar.export').count()).toBe(24)
    expect(await p.locator('zkm-history-chart svg').getAttribute('aria-label')).toMatch(
      /returned to the grid below the line, total 80 Wh/,
    )
  })

  it('shows nothing about export to a home without it', async () => {
    const p = await open('/')
    await expect.poll(() => text(p, '[data-value=energy-today]')).toBe('8.421 kWh')
    expect(await p.locator('[data-value=exported-today]').count()).toBe(0)
    expect(await text(p, '[data-reading]')).toMatch(/· meter total /)
    await p.getByRole('link', { name: 'Energy by day, week and month' }).click()
    await expect.poll(() => text(p, '[data-value=period-energy]')).toBe('8.421 kWh')
    expect(await p.locator('[data-value=period-exported]').count()).toBe(0)
    expect(await p.locator('zkm-history-chart svg rect.bar.export').count()).toBe(0)
  })
})

describe('the chain the ledger is on', () => {
  it('is read once per page load, whichever views show money or the setup', async () => {
    const p = await open('/')
    await expect.poll(() => text(p, '[data-value=cost-today]')).toMatch(/ETH$/)
    for (const name of ['Bills', 'Energy', 'Privacy', 'Live']) {
      await p.getByRole('link', { name, exact: true }).click()
      await expect.poll(() => p.getByRole('heading', { level: 1, name }).count()).toBe(1)
    }
    // The money format, the setup banner and the bills view share one GET /api/chain.
    expect(ui.server.state.requests.filter((r) => r.path === '/api/chain')).toHaveLength(1)
  })
})
