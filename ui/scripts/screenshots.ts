/**
 * Screenshots of the main views, desktop (1280 px) and phone (375 px), into docs/screenshots/.
 * Against the fake node (test/support/fake-node.ts) by default (reproducible data); `--url http://127.0.0.1:8787` takes
 * them from a running node instead.
 *
 *   npx node ui/scripts/screenshots.ts [--url <node>]
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
  ['bills', '/bills'],
  ['home', '/home'],
  ['safety', '/safety'],
  ['privacy', '/privacy'],
  ['mesh', '/mesh'],
  ['utility', '/utility'],
] as const

const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 375, height: 812 } }

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
const browser = await launchBrowser()
if (server) {
  // A paired browser, as a resident's is (the session cookie pairing gives).
  const cookie = await server.pair()
  await browser.context.addCookies([
    { name: cookie.name, value: cookie.value, url: server.url, httpOnly: true, sameSite: 'Strict' },
  ])
}
try {
  for (const [size, viewport] of Object.entries(SIZES)) {
    for (const [name, route] of VIEWS) {
      const page = await browser.newPage(viewport)
      await page.goto(`${base}/#${route}`)
      await settle(page)
      await page.screenshot({ path: join(out, `${name}-${size}.png`), fullPage: true })
      await page.close()
      console.log(`${name}-${size}.png`)
    }
  }
  if (server) {
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
    for (const [size, viewport] of Object.entries(SIZES)) {
      const page = await browser.newPage(viewport)
      await page.goto(`${base}/#/`)
      await settle(page)
      await page.screenshot({ path: join(out, `alarm-${size}.png`) })
      await page.close()
      console.log(`alarm-${size}.png`)
    }
  }
  if (browser.errors.length) console.error('console errors:', browser.errors)
} finally {
  await browser.close()
  await server?.close()
  if (dist) await rm(dist, { recursive: true, force: true })
}
