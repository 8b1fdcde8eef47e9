/**
 * What makes the dashboard and the views quick to show (docs/ui.md, "Speed"), in real Chromium
 * against the fake node: the live stream opens with the latest reading and the dashboard shows it
 * without waiting for anything else; a view left and shown again shows what it had at once while
 * it refreshes in the background.
 */
import type { Route } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { reading } from '../../test/support/fake-node.ts'
import { fakeNodeSuite } from './fake-node-suite.ts'

const ui = fakeNodeSuite('view-return')

/** Clicks a tab of the navigation bar, as a resident does. */
async function tab(name: string): Promise<void> {
  await ui.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true }).click()
}

describe('first value', () => {
  it('shows the reading the live stream opens with, before GET /api/readings/latest answers', async () => {
    // The node's latest reading, published on the stream before this page opens.
    const latest = reading(7, { powerW: 2468 })
    ui.server.state.latest = latest
    ui.server.emit('reading', latest)
    const p = await ui.newPage()
    // Hold the REST read of the latest reading: the value can only come from the stream.
    let held: Route | undefined
    await p.route('**/api/readings/latest', (route) => {
      held = route
    })
    await p.goto(`${ui.server.url}/#/`)
    await expect.poll(() => held !== undefined).toBe(true)
    await expect.poll(() => p.locator('[data-value=power]').textContent()).toBe('2,468 W')
    expect(await p.getByText('No reading yet').count()).toBe(0)
    await held?.continue()
    await p.unroute('**/api/readings/latest')
    await expect
      .poll(() => ui.server.state.requests.some((r) => r.path === '/api/readings/latest'))
      .toBe(true)
    expect(await p.locator('[data-value=power]').textContent()).toBe('2,468 W')
  })
})

describe('returning to a view', () => {
  it('shows what the view had at once, and refreshes it in the background', async () => {
    const p = await ui.open('/privacy')
    const rows = p.locator('#pub-h + p + .table-wrap tbody tr')
    await expect.poll(() => rows.count()).toBe(2)
    await tab('Live')
    await expect.poll(() => p.getByRole('heading', { level: 1, name: 'Live' }).count()).toBe(1)

    // Hold the view's next request until the view has been looked at.
    let held: Route | undefined
    await p.route('**/api/privacy', (route) => {
      held = route
    })
    await tab('Privacy')
    await expect.poll(() => held !== undefined).toBe(true)
    // Its request is still unanswered, yet the view shows its data, not "Loading".
    expect(await rows.count()).toBe(2)
    expect(await p.getByText(/Loading/).count()).toBe(0)
    const focused = await p.evaluate(() => {
      let el = document.activeElement
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
      return el?.textContent
    })
    expect(focused).toBe('Privacy')

    await held?.continue()
    await p.unroute('**/api/privacy')
    await expect
      .poll(() => ui.server.state.requests.filter((r) => r.path === '/api/privacy').length)
      .toBeGreaterThanOrEqual(2)
    expect(await rows.count()).toBe(2)
  })
})
