/**
 * Accessibility in real Chromium (issue 14, "Phone and screen readers", "Dark mode contrast"): the
 * production build against the fake node (test/support/fake-node.ts: the node's own server, routes,
 * security headers and stream over fixture data, so every view has tables, an alarm and bills).
 *
 * - axe-core over every view (each tab, the pairing page, the node-down message), light and dark
 *   (prefers-color-scheme), desktop and phone (390×844): zero violations of the WCAG 2.1 A/AA rules.
 * - What axe cannot judge: one h1 and a title per view, focus on the new view's heading, the skip
 *   link, the sticky phone navigation, key table columns in view on a phone, scrollable regions
 *   reachable by keyboard, one node-down message with Retry, and no CSP violation on the way.
 */
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Alarm } from '#protocol/api/types.ts'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { ROUTES } from '../src/lib/router.ts'
import { axe, settled, type Violation } from './axe.ts'
import { type Browser, launchBrowser, sharedUiBuild } from './browser.ts'

const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const
const SCHEMES = ['light', 'dark'] as const

const ALARM: Alarm = {
  id: 'a11y',
  kind: 'fire',
  state: 'active',
  active: true,
  raisedAt: '2026-11-24T12:00:00Z',
  clearedAt: null,
  acknowledgedAt: null,
  deviceReacted: true,
  severity: 'alarm',
  resends: 0,
}

let dist: string
let browser: Browser
let server: FakeNode
let page: Page | undefined

beforeAll(async () => {
  dist = await sharedUiBuild()
  browser = await launchBrowser({ serviceWorkers: 'block' })
})

afterAll(async () => {
  await browser?.close()
})

beforeEach(async () => {
  server = await startFakeNode({ dist })
  browser.errors.length = 0
})

afterEach(async () => {
  const violations = page ? await cspViolations(page) : []
  await page?.close()
  page = undefined
  await server.close()
  expect(violations).toEqual([])
  expect(browser.errors).toEqual([])
})

async function pair(): Promise<void> {
  const cookie = await server.pair('resident')
  await browser.context.clearCookies()
  await browser.context.addCookies([
    { name: cookie.name, value: cookie.value, url: server.url, httpOnly: true, sameSite: 'Strict' },
  ])
}

/** A page that records CSP violations (the UI's policy allows no inline style or script). */
async function newPage(size: keyof typeof SIZES, scheme: (typeof SCHEMES)[number]): Promise<Page> {
  page = await browser.newPage(SIZES[size])
  await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' })
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] }
    w.cspViolations = []
    document.addEventListener('securitypolicyviolation', (e) =>
      w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    )
  })
  return page
}

function cspViolations(p: Page): Promise<string[]> {
  return p
    .evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])
    .catch(() => [])
}

describe('axe-core: zero WCAG 2.1 A/AA violations', () => {
  for (const scheme of SCHEMES) {
    for (const size of Object.keys(SIZES) as (keyof typeof SIZES)[]) {
      it(
        `every view, ${scheme}, ${size}`,
        async () => {
          server.state.alarms.push({ ...ALARM })
          await pair()
          const p = await newPage(size, scheme)
          const found: Record<string, Violation[]> = {}
          await p.goto(`${server.url}/#/`)
          for (const route of ROUTES) {
            await p.evaluate((path) => {
              location.hash = path
            }, route.path)
            await settled(p)
            const violations = await axe(p)
            if (violations.length) found[route.label] = violations
          }
          // The pairing page: an unpaired browser.
          await browser.context.clearCookies()
          await p.goto(`${server.url}/#/`)
          await p.getByRole('heading', { name: /pair/i }).first().waitFor()
          const pairing = await axe(p)
          if (pairing.length) found.pairing = pairing
          browser.errors.splice(
            0,
            browser.errors.length,
            ...browser.errors.filter((e) => !/status of 401/.test(e)),
          )
          expect(found).toEqual({})
        },
        scaledBudget(180_000),
      )
    }
  }
})

/** Runs in the page: every shown element matching `selector`, through all open shadow roots. */
function deepCount(p: Page, selector: string): Promise<number> {
  return p.evaluate((sel) => {
    const all = (root: Document | ShadowRoot): Element[] =>
      [...root.querySelectorAll('*')].flatMap((el) => [
        ...(el.matches(sel) && el.checkVisibility() ? [el] : []),
        ...(el.shadowRoot ? all(el.shadowRoot) : []),
      ])
    return all(document).length
  }, selector)
}

/** Chromium logs each refused request (the node "down"); nothing else may have gone wrong. */
function forgetRefusedRequests(): void {
  const refused = /ERR_CONNECTION_REFUSED|ERR_FAILED|ERR_INCOMPLETE_CHUNKED_ENCODING/
  browser.errors.splice(0, browser.errors.length, ...browser.errors.filter((e) => !refused.test(e)))
}

/** The text the page shows: every text node with a rendered parent, through the shadow roots. */
function shownText(p: Page): Promise<string> {
  return p.evaluate(() => {
    const texts: string[] = []
    const walk = (root: Document | ShadowRoot) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.parentElement?.checkVisibility()) texts.push(node.textContent ?? '')
      }
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot)
    }
    walk(document)
    return texts.join(' ')
  })
}

/** The focused element through the shadow roots: its tag and text. */
function focused(p: Page): Promise<{ tag: string; text: string }> {
  return p.evaluate(() => {
    let el = document.activeElement
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement
    return { tag: el?.tagName.toLowerCase() ?? '', text: (el?.textContent ?? '').trim() }
  })
}

const HEADINGS: Record<string, string> = {
  '/': 'Live',
  '/energy': 'Energy',
  '/bills': 'Bills',
  '/home': 'Home',
  '/safety': 'Safety',
  '/privacy': 'Privacy',
  '/mesh': 'Neighbourhood',
  '/utility': 'Utility console',
}

/**
 * Runs in the page: every enabled control whose edge or fill is below 3:1 against what is behind
 * it (WCAG 1.4.11, non-text contrast; axe checks text only). A control passes if its border or its
 * own background stands out at 3:1 from the nearest opaque background behind it.
 */
function weakControls(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number)
    const opaque = (c: string) => {
      const v = rgb(c)
      return v.length >= 3 && (v[3] === undefined || v[3] === 1)
    }
    const lum = (c: string) => {
      const [r, g, b] = rgb(c).map((v) => {
        const s = v / 255
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0)
    }
    const ratio = (a: string, b: string) => {
      const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m)
      return ((x ?? 0) + 0.05) / ((y ?? 0) + 0.05)
    }
    const behind = (el: Element): string => {
      let node: Element | null =
        el.parentElement ?? ((el.getRootNode() as ShadowRoot).host as Element | undefined) ?? null
      while (node) {
        const bg = getComputedStyle(node).backgroundColor
        if (opaque(bg)) return bg
        node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host as Element | undefined) ?? null
      }
      return getComputedStyle(document.body).backgroundColor
    }
    const weak: string[] = []
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll(
        'input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea, button',
      )) {
        if ((el as HTMLInputElement).disabled || !el.checkVisibility()) continue
        const style = getComputedStyle(el)
        const back = behind(el)
        const border = Number.parseFloat(style.borderTopWidth) > 0 ? ratio(style.borderTopColor, back) : 1
        const fill = opaque(style.backgroundColor) ? ratio(style.backgroundColor, back) : 1
        if (Math.max(border, fill) < 3) {
          const name = el.getAttribute('aria-label') ?? el.textContent?.trim() ?? el.tagName
          weak.push(
            `${el.tagName.toLowerCase()} "${name.slice(0, 40)}": ${Math.max(border, fill).toFixed(2)}:1`,
          )
        }
      }
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot)
    }
    walk(document)
    return weak
  })
}

describe('non-text contrast: every control stands out at 3:1 (WCAG 1.4.11)', () => {
  for (const scheme of SCHEMES) {
    it(`every view, ${scheme}`, async () => {
      server.state.alarms.push({ ...ALARM })
      await pair()
      const p = await newPage('desktop', scheme)
      await p.goto(`${server.url}/#/`)
      const found: Record<string, string[]> = {}
      for (const route of ROUTES) {
        await p.evaluate((path) => {
          location.hash = path
        }, route.path)
        await settled(p)
        const weak = await weakControls(p)
        if (weak.length) found[route.label] = weak
      }
      expect(found).toEqual({})
    })
  }
})

describe('phone and screen readers', () => {
  it('gives every view one h1 and its own title, and a view switch focuses that heading', async () => {
    await pair()
    const p = await newPage('desktop', 'light')
    await p.goto(`${server.url}/#/`)
    await settled(p)
    for (const route of [...ROUTES.slice(1), ROUTES[0]]) {
      // Keyboard navigation, as a screen reader user follows a link.
      await p.getByRole('link', { name: route.label, exact: true }).focus()
      await p.keyboard.press('Enter')
      const heading = HEADINGS[route.path] as string
      await expect
        .poll(() => focused(p), { timeout: scaledBudget(10_000) })
        .toEqual({ tag: 'h1', text: heading })
      await settled(p)
      expect(await deepCount(p, 'h1'), route.path).toBe(1)
      expect(await p.title()).toBe(`${heading} — zkmeter`)
    }
  })

  it('names every control with its visible text in it (WCAG 2.5.3, label in name)', async () => {
    server.state.alarms.push({ ...ALARM })
    await pair()
    const p = await newPage('desktop', 'light')
    await p.goto(`${server.url}/#/`)
    const mismatches: string[] = []
    for (const route of ROUTES) {
      await p.evaluate((path) => {
        location.hash = path
      }, route.path)
      await settled(p)
      mismatches.push(
        ...(await p.evaluate(() => {
          const words = (s: string) =>
            s
              .toLowerCase()
              .replace(/[^\p{L}\p{N}°]+/gu, ' ')
              .trim()
          const found: string[] = []
          const walk = (root: Document | ShadowRoot) => {
            for (const el of root.querySelectorAll('[aria-label]')) {
              const control = el.matches('button, a, input, select, textarea, [role=switch], [role=tab]')
              if (!control) continue
              // A field's visible label is its <label>'s text; a button's or link's its content.
              const label = el.closest('label')
              const visible = el.matches('input, select, textarea')
                ? label
                  ? [...label.childNodes]
                      .filter((n) => n.nodeType === Node.TEXT_NODE)
                      .map((n) => n.textContent)
                      .join(' ')
                  : ''
                : (el.textContent ?? '')
              const name = el.getAttribute('aria-label') ?? ''
              if (words(visible) && !words(name).includes(words(visible)))
                found.push(`${name} ⊅ ${visible.trim()}`)
            }
            for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot)
          }
          walk(document)
          return found
        })),
      )
    }
    expect([...new Set(mismatches)]).toEqual([])
  })

  it('offers a skip link as the first Tab stop, which moves focus to the view', async () => {
    await pair()
    const p = await newPage('phone', 'dark')
    await p.goto(`${server.url}/#/bills`)
    await settled(p)
    await p.keyboard.press('Tab')
    expect(await focused(p)).toEqual({ tag: 'a', text: 'Skip to content' })
    // Shown when focused (it sits off-screen otherwise).
    const box = await p.getByRole('link', { name: 'Skip to content' }).boundingBox()
    expect(box?.y).toBeGreaterThanOrEqual(0)
    await p.keyboard.press('Enter')
    await expect.poll(() => focused(p)).toEqual({ tag: 'h1', text: 'Bills' })
    expect(new URL(p.url()).hash).toBe('#/bills')
  })

  it('keeps a compact navigation at the top of a phone screen while the view scrolls', async () => {
    await pair()
    const p = await newPage('phone', 'light')
    await p.goto(`${server.url}/#/home`)
    await settled(p)
    const nav = p.getByRole('navigation', { name: 'Views' })
    // One row (links scroll sideways), not the three rows the wrapped links took.
    expect((await nav.boundingBox())?.height).toBeLessThan(60)
    await p.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight))
    await expect.poll(async () => (await nav.boundingBox())?.y).toBe(0)
    expect(await p.evaluate(() => window.scrollY)).toBeGreaterThan(300)
    // Opened on a tab at the row's far end, the row shows it.
    await p.goto(`${server.url}/#/utility`)
    await settled(p)
    const current = p.getByRole('link', { name: 'Utility', exact: true })
    const [currentBox, rowBox] = [await current.boundingBox(), await nav.boundingBox()]
    expect(currentBox!.x + currentBox!.width).toBeLessThanOrEqual(rowBox!.x + rowBox!.width + 1)
    // Every tab is still reachable: the row scrolls to the focused one.
    await p.goto(`${server.url}/#/`)
    await settled(p)
    const last = p.getByRole('link', { name: 'Utility', exact: true })
    await last.focus()
    const [linkBox, navBox] = [await last.boundingBox(), await nav.boundingBox()]
    expect(linkBox!.x + linkBox!.width).toBeLessThanOrEqual(navBox!.x + navBox!.width + 1)
  })

  it('keeps a table’s key column in view on a phone, and its scrolling region is keyboard-reachable', async () => {
    await pair()
    const p = await newPage('phone', 'light')
    await p.goto(`${server.url}/#/privacy`)
    await settled(p)
    const region = p.getByRole('region', { name: 'Published on-chain, table' })
    const sizes = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }))
    // The table is wider than the phone: the region scrolls.
    expect(sizes.scroll).toBeGreaterThan(sizes.client)
    await region.focus()
    expect((await focused(p)).tag).toBe('div')
    // The arrow keys scroll it (the region is a Tab stop of its own).
    await p.keyboard.press('ArrowRight')
    await expect.poll(() => region.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0)
    await region.evaluate((el) => {
      el.scrollLeft = el.scrollWidth
    })
    const [wrap, key] = [await region.boundingBox(), await region.locator('tbody td').first().boundingBox()]
    expect(key!.x).toBeGreaterThanOrEqual(wrap!.x - 1)
    expect(key!.x + key!.width).toBeLessThanOrEqual(wrap!.x + wrap!.width)
  })

  it('shows ONE message with Retry while the node cannot be reached, and Retry brings the views back', async () => {
    server.state.alarms.push({ ...ALARM })
    await pair()
    const p = await newPage('phone', 'dark')
    await p.goto(`${server.url}/#/safety`)
    await settled(p)
    // The node goes away: no request gets an answer, and the open stream drops.
    await p.route(`${server.url}/api/**`, (route) => route.abort('connectionrefused'))
    server.server.closeAllConnections()
    const message = p.locator('[data-node-down]')
    await message.waitFor({ timeout: scaledBudget(15_000) })
    // Switching views while down: still the one message, no view's own "Could not load".
    await p.getByRole('link', { name: 'Bills', exact: true }).click()
    await expect.poll(() => focused(p)).toEqual({ tag: 'h1', text: 'Cannot reach your zkmeter node' })
    expect(await deepCount(p, '[role=alert]')).toBe(1)
    expect(await deepCount(p, 'button')).toBe(2) // Retry, and Log out in the header
    expect(await p.getByRole('button', { name: 'Retry' }).count()).toBe(1)
    expect(await deepCount(p, 'h1')).toBe(1)
    // What is shown (the views stay mounted, hidden, so an unsaved edit survives an outage).
    const shown = await shownText(p)
    expect(shown).toMatch(/Cannot reach your zkmeter node/)
    expect(shown).not.toMatch(/Could not load|reconnecting|Loading/)
    expect(await axe(p)).toEqual([])
    // Retry while still down says so, and the message stays.
    await p.getByRole('button', { name: 'Retry' }).click()
    await expect.poll(() => p.getByRole('status').filter({ hasText: 'Still no answer' }).count()).toBe(1)
    // The node is back: Retry shows the view again.
    await p.unroute(`${server.url}/api/**`)
    await p.getByRole('button', { name: 'Retry' }).click()
    await expect.poll(() => deepCount(p, '[data-bill]'), { timeout: scaledBudget(15_000) }).toBeGreaterThan(0)
    expect(await message.count()).toBe(0)
    forgetRefusedRequests()
  })

  it('keeps an unsaved edit through a short outage (the view stays mounted behind the message)', async () => {
    await pair()
    const p = await newPage('desktop', 'light')
    await p.goto(`${server.url}/#/home`)
    await settled(p)
    const field = p.getByLabel('Speed 1 from (°C), ceiling fan')
    await field.fill('27')
    await p.route(`${server.url}/api/**`, (route) => route.abort('connectionrefused'))
    server.server.closeAllConnections()
    await p.locator('[data-node-down]').waitFor({ timeout: scaledBudget(15_000) })
    expect(await field.isVisible()).toBe(false)
    await p.unroute(`${server.url}/api/**`)
    await p.getByRole('button', { name: 'Retry' }).click()
    await field.waitFor({ state: 'visible', timeout: 15_000 })
    expect(await field.inputValue()).toBe('27')
    forgetRefusedRequests()
  })
})
