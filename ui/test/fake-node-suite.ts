/**
 * The browser suite most UI tests share: the UI built once into a temp dir, one Chromium for the
 * file, and per test a fresh fake node (test/support/fake-node.ts) with this browser paired to it as
 * the resident. After each test the page closes, the node stops, and the page must have logged no
 * error. Register it at the top of a test file: `const ui = fakeNodeSuite('safety')`.
 */
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { type Browser, type ContextOptions, launchBrowser, sharedUiBuild } from './browser.ts'

export interface FakeNodeSuite {
  /** The fake node of the running test. */
  readonly server: FakeNode
  readonly browser: Browser
  /** The page the last open() made (closed after each test). */
  readonly page: Page
  /** A new page on `#<route>`, once the app is live on the node's stream. */
  open(route: string): Promise<Page>
  /** A blank new page, closed after the test (for a test that opens its own way). */
  newPage(): Promise<Page>
}

export function fakeNodeSuite(name: string, contextOptions: ContextOptions = {}): FakeNodeSuite {
  let dist: string | undefined
  let browser: Browser | undefined
  let server: FakeNode | undefined
  let page: Page | undefined
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`the ${name} suite's ${what} is not there yet: use it inside a test`)
    return value
  }

  beforeAll(async () => {
    dist = await sharedUiBuild()
    browser = await launchBrowser({ serviceWorkers: 'block', ...contextOptions })
  })

  afterAll(async () => {
    await browser?.close()
  })

  beforeEach(async () => {
    const b = need(browser, 'browser')
    server = await startFakeNode({ dist: need(dist, 'UI build') })
    const cookie = await server.pair('resident')
    await b.context.clearCookies()
    await b.context.addCookies([
      { name: cookie.name, value: cookie.value, url: server.url, httpOnly: true, sameSite: 'Strict' },
    ])
    b.errors.length = 0
  })

  afterEach(async () => {
    await page?.close()
    page = undefined
    await server?.close()
    expect(browser?.errors).toEqual([])
  })

  return {
    get server() {
      return need(server, 'fake node')
    },
    get browser() {
      return need(browser, 'browser')
    },
    get page() {
      return need(page, 'page')
    },
    async newPage() {
      page = await need(browser, 'browser').newPage()
      return page
    },
    async open(route) {
      const s = need(server, 'fake node')
      const p = await this.newPage()
      await p.goto(`${s.url}/#${route}`)
      await expect.poll(() => s.clients(), { timeout: scaledBudget(10_000) }).toBeGreaterThan(0)
      await expect
        .poll(() => p.getByLabel('This device', { exact: true }).count(), { timeout: scaledBudget(10_000) })
        .toBe(1)
      return p
    },
  }
}
