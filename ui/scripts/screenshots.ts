/**
 * Screenshots of every view, desktop (1280 px) and phone (390×844), light and dark, into
 * docs/screenshots/<view>-<size>-<scheme>.png: each tab, the pairing page, an active alarm and the
 * node-down message. Against the fake node (test/support/fake-node.ts) by default (reproducible
 * data); `--url http://127.0.0.1:8787` takes the views from a running node instead (the pairing,
 * alarm and node-down shots need the fake node).
 *
 *   npx node ui/scripts/screenshots.ts [--url <node>] [--out <dir>]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.ts'
import { buildUi, launchBrowser, UI_ROOT } from '../test/browser.ts'

const VIEWS = [
  ['live', '/'],
  ['energy', '/energy'],
  ['bills', '/bills'],
  ['home', '/home'],
  ['safety', '/safety'],
  ['privacy', '/privacy'],
  ['mesh', '/mesh'],
  ['utility', '/utility'],
] as const

const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } }
const SCHEMES = ['light', 'dark'] as const

async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const main = document.querySelector('zkm-app')?.shadowRoot?.querySelector('main')
    const text = (el: Element | ShadowRoot): string =>
      [...el.children].map((c) => (c.shadowRoot ? text(c.shadowRoot) : '') + text(c)).join('') +
      (el instanceof Element ? (el.textContent ?? '') : '')
    return main !== null && main !== undefined && !text(main).includes('Loading')
  })
  await page.waitForTimeout(300)
}

const { values } = parseArgs({ options: { url: { type: 'string' }, out: { type: 'string' } } })
const out = values.out ?? join(UI_ROOT, '..', 'docs', 'screenshots')
await mkdir(out, { recursive: true })
let server: FakeNode | undefined
let dist: string | undefined
let base = values.url
if (!base) {
  dist = await mkdtemp(join(tmpdir(), 'zkm-ui-shots-'))
  await buildUi(dist)
  server = await startFakeNode({ dist })
  base = server.url
}
// No service worker: its offline copies would stand in for the node-down message.
const browser = await launchBrowser({ serviceWorkers: 'block' })
if (server) {
  // A paired browser, as a resident's is (the session cookie pairing gives).
  const cookie = await server.pair()
  await browser.context.addCookies([
    { name: cookie.name, value: cookie.value, url: server.url, httpOnly: true, sameSite: 'Strict' },
  ])
}
/** A page at this size and colour scheme (prefers-color-scheme), with animations settled. */
async function open(viewport: { width: number; height: number }, scheme: (typeof SCHEMES)[number]) {
  const page = await browser.newPage(viewport)
  await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' })
  return page
}

try {
  for (const scheme of SCHEMES) {
    for (const [size, viewport] of Object.entries(SIZES)) {
      const shot = async (page: Page, name: string, fullPage = true) => {
        await page.screenshot({ path: join(out, `${name}-${size}-${scheme}.png`), fullPage })
        console.log(`${name}-${size}-${scheme}.png`)
      }
      for (const [name, route] of VIEWS) {
        const page = await open(viewport, scheme)
        await page.goto(`${base}/#${route}`)
        await settle(page)
        await shot(page, name)
        await page.close()
      }
      if (!server) continue
      server.state.alarms.push({
        id: 'shot',
        kind: 'fire',
        state: 'active',
        active: true,
        raisedAt: '2026-11-24T12:00:00Z',
        clearedAt: null,
        acknowledgedAt: null,
        deviceReacted: true,
        severity: 'alarm',
        resends: 0,
      })
      const alarm = await open(viewport, scheme)
      await alarm.goto(`${base}/#/`)
      await settle(alarm)
      await shot(alarm, 'alarm', false)
      // The node goes away: every request refused, the stream dropped.
      await alarm.route(`${base}/api/**`, (route) => route.abort('connectionrefused'))
      server.server.closeAllConnections()
      await alarm.locator('[data-node-down]').waitFor()
      await shot(alarm, 'node-down', false)
      await alarm.close()
      server.state.alarms.length = 0
      // An unpaired browser: the pairing page.
      const cookies = await browser.context.cookies()
      await browser.context.clearCookies()
      const pairing = await open(viewport, scheme)
      await pairing.goto(`${base}/#/`)
      await pairing.getByRole('heading', { name: 'Pair this device' }).waitFor()
      await shot(pairing, 'pairing')
      await pairing.close()
      await browser.context.addCookies(cookies)
    }
  }
  // Refused requests (the node-down shots) and the unpaired page's 401 are expected.
  const errors = browser.errors.filter((e) => !/net::ERR_|status of 401/.test(e))
  if (errors.length) console.error('console errors:', errors)
} finally {
  await browser.close()
  await server?.close()
  if (dist) await rm(dist, { recursive: true, force: true })
}
