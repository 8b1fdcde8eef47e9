/**
 * The installable app in real Chromium (docs/app.md): the production build served by the node's
 * own static files over the fake node (test/support/fake-node.ts). 127.0.0.1 is a secure context,
 * so the service worker registers over plain HTTP here as it does over the node's HTTPS.
 *
 * - the manifest is linked, parses without error in Chromium and the page is installable; every
 *   icon it names loads with the size it claims;
 * - the service worker installs, controls the page and precaches the shell the build produced;
 * - at phone size, once the node is gone, a reload shows the app with the last values and
 *   "Offline since …" instead of the browser's error page;
 * - with notifications granted, an alarm on the live stream raises one system notification per
 *   alarm (tagged, so repeats replace it), closed once the alarm is acknowledged;
 * - a 401 from the node (the session ended) deletes the kept answers;
 * - a new build's worker takes over at once and the open page offers a reload.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Alarm } from '#protocol/api/types.ts'
import { type FakeNode, startFakeNode } from '../../test/support/fake-node.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { shellFiles } from '../scripts/service-worker.ts'
import { type Browser, type ContextOptions, launchBrowser, sharedUiBuild } from './browser.ts'

const PHONE: ContextOptions = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 3,
}

let dist: string
let browser: Browser | undefined
let server: FakeNode | undefined

beforeAll(async () => {
  dist = await sharedUiBuild()
}, scaledBudget(120_000))

afterAll(async () => {})

afterEach(async () => {
  await browser?.close()
  await server?.close().catch(() => undefined)
  browser = undefined
  server = undefined
})

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { width: view.getUint32(16), height: view.getUint32(20) }
}

/** A browser already paired with the node as a resident (its session cookie), as after pairing. */
async function launchPaired(node: FakeNode, options?: ContextOptions): Promise<Browser> {
  const paired = await launchBrowser(options)
  const cookie = await node.pair('resident')
  await paired.context.addCookies([
    { name: cookie.name, value: cookie.value, url: node.url, httpOnly: true, sameSite: 'Strict' },
  ])
  return paired
}

/** Resolves once a service worker controls the page (clients.claim on first install). */
async function controlled(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready
    if (navigator.serviceWorker.controller) return
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve))
  })
}

/** The paths (origin-relative) held in the page's caches whose name starts with `prefix`. */
function cachedPaths(page: Page, prefix: string): Promise<string[]> {
  return page.evaluate(async (prefix) => {
    const paths: string[] = []
    for (const name of await caches.keys()) {
      if (!name.startsWith(prefix)) continue
      for (const request of await (await caches.open(name)).keys()) paths.push(new URL(request.url).pathname)
    }
    return paths.sort()
  }, prefix)
}

function alarm(overrides: Partial<Alarm> = {}): Alarm {
  return {
    id: 'fire-1',
    kind: 'fire',
    state: 'active',
    active: true,
    raisedAt: '2026-11-24T12:00:00Z',
    clearedAt: null,
    acknowledgedAt: null,
    deviceReacted: true,
    severity: 'alarm',
    resends: 0,
    ...overrides,
  }
}

describe('the installable app', () => {
  it('links a valid manifest, its icons have the sizes it names, and Chromium finds it installable', async () => {
    server = await startFakeNode({ dist })
    browser = await launchPaired(server)
    const page = await browser.newPage()
    await page.goto(server.url)

    const href = await page.locator('link[rel=manifest]').getAttribute('href')
    expect(href).toBeTruthy()
    const manifestUrl = new URL(href!, server.url)
    const answer = await fetch(manifestUrl)
    expect(answer.headers.get('content-type')).toBe('application/manifest+json')
    const manifest = await answer.json()
    expect(manifest).toMatchObject({
      name: expect.stringContaining('zkmeter'),
      short_name: 'zkmeter',
      start_url: expect.any(String),
      scope: expect.any(String),
      display: 'standalone',
      theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/),
      background_color: expect.stringMatching(/^#[0-9a-f]{6}$/),
    })
    expect(new URL(manifest.start_url, manifestUrl).href).toBe(`${server.url}/`)

    const icons: { src: string; sizes: string; type: string; purpose?: string }[] = manifest.icons
    const pngs = icons.filter((i) => i.type === 'image/png')
    expect(pngs.map((i) => `${i.sizes} ${i.purpose ?? 'any'}`).sort()).toEqual([
      '192x192 any',
      '512x512 any',
      '512x512 maskable',
    ])
    for (const icon of pngs) {
      const image = await fetch(new URL(icon.src, manifestUrl))
      expect(image.headers.get('content-type'), icon.src).toBe('image/png')
      const { width, height } = pngSize(new Uint8Array(await image.arrayBuffer()))
      expect(`${width}x${height}`, icon.src).toBe(icon.sizes)
    }
    const svg = icons.find((i) => i.type === 'image/svg+xml')
    expect(svg?.sizes).toBe('any')
    const svgAnswer = await fetch(new URL(svg!.src, manifestUrl))
    expect(svgAnswer.headers.get('content-type')).toBe('image/svg+xml')
    expect(await svgAnswer.text()).toContain('<svg')

    // iOS reads its home-screen icon and standalone mode from the page, not the manifest.
    const touch = await page.locator('link[rel=apple-touch-icon]').getAttribute('href')
    const touchIcon = await fetch(new URL(touch!, server.url))
    expect(pngSize(new Uint8Array(await touchIcon.arrayBuffer()))).toEqual({ width: 180, height: 180 })
    expect(await page.locator('meta[name=apple-mobile-web-app-capable]').getAttribute('content')).toBe('yes')
    expect(await page.locator('meta[name=theme-color]').first().getAttribute('content')).toBe(
      manifest.theme_color,
    )

    // Chromium's own reading of the manifest and its installability verdict.
    await controlled(page)
    const cdp = await page.context().newCDPSession(page)
    const parsed = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] }
    expect(parsed.url).toBe(manifestUrl.href)
    expect(parsed.errors).toEqual([])
    const installable = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: unknown[]
    }
    expect(installable.installabilityErrors).toEqual([])
    expect(browser.errors).toEqual([])
  })

  it('installs a service worker that controls the page and precaches exactly the built shell', async () => {
    server = await startFakeNode({ dist })
    browser = await launchPaired(server)
    const page = await browser.newPage()
    await page.goto(server.url)
    await controlled(page)
    // Page loads ask the node while the worker starts (navigation preload), not after it.
    await expect
      .poll(
        () =>
          page.evaluate(
            async () => (await (await navigator.serviceWorker.ready).navigationPreload.getState()).enabled,
          ),
        { timeout: scaledBudget(10_000) },
      )
      .toBe(true)
    const built = (await readdir(join(dist, 'assets'))).map((f) => `/assets/${f}`)
    const precached = await cachedPaths(page, 'zkm-shell-')
    for (const path of [...built, '/index.html', '/manifest.webmanifest', '/icons/icon-192.png'])
      expect(precached).toContain(path)
    // The worker is served with no-cache so a new build is found on the next visit.
    const sw = await fetch(`${server.url}/sw.js`)
    expect(sw.headers.get('content-type')).toContain('text/javascript')
    expect(sw.headers.get('cache-control')).toBe('no-cache')
    expect(await sw.text()).toBe(await readFile(join(dist, 'sw.js'), 'utf8'))
    expect(browser.errors).toEqual([])
  })

  it('on a phone, with the node gone, a reload shows the last values and "offline since" instead of an error page', async () => {
    server = await startFakeNode({ dist })
    browser = await launchPaired(server, PHONE)
    const page = await browser.newPage()
    await page.goto(server.url)
    await expect
      .poll(() => page.locator('[data-value=power]').textContent(), { timeout: scaledBudget(10_000) })
      .toBe('1,510 W')
    await controlled(page)
    // The worker keeps the dashboard's last good answers (it warms them once it takes control).
    await expect
      .poll(() => cachedPaths(page, 'zkm-data'), { timeout: scaledBudget(10_000) })
      .toEqual(['/api/alarms', '/api/bills', '/api/readings/latest', '/api/status', '/api/summary/today'])

    await server.close()
    await page.reload()
    // The app's own page from the worker's copy (each view titles it "<view> — zkmeter"), not an error page.
    expect(await page.title()).toMatch(/zkmeter$/)
    await expect
      .poll(() => page.locator('[data-value=power]').textContent(), { timeout: scaledBudget(10_000) })
      .toBe('1,510 W')
    expect(await page.locator('[data-value=cost-today]').textContent()).toBe('0.008421 ETH')
    const notice = page.getByRole('status', { name: 'Offline', exact: true })
    await expect
      .poll(() => notice.textContent(), { timeout: scaledBudget(10_000) })
      .toMatch(/Offline since \d{1,2}:\d{2}/)
    // The bills list was kept too; the phone fits it without sideways scrolling.
    await page.getByRole('link', { name: 'Bills' }).click()
    await expect
      .poll(() => page.getByText('paid', { exact: true }).count(), { timeout: scaledBudget(10_000) })
      .toBeGreaterThan(0)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    // Only the failed network requests of views that keep nothing offline (history, notices).
    expect(browser.errors.filter((e) => !e.includes('net::ERR_'))).toEqual([])
  })

  it('raises one system notification per alarm, replaced on repeats and closed once acknowledged', async () => {
    server = await startFakeNode({ dist })
    browser = await launchPaired(server, PHONE)
    await browser.context.grantPermissions(['notifications'], { origin: server.url })
    const page = await browser.newPage()
    await page.goto(`${server.url}/#/safety`)
    await controlled(page)
    await expect
      .poll(() => page.getByText('Alarm notifications are on').count(), { timeout: scaledBudget(10_000) })
      .toBe(1)
    await expect.poll(() => server!.clients(), { timeout: scaledBudget(10_000) }).toBeGreaterThan(0)
    const shown = () =>
      page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
          title: n.title,
          tag: n.tag,
          route: (n.data as { route?: string } | null)?.route,
        })),
      )

    server.state.alarms.push(alarm())
    server.emit('alarm', alarm())
    await expect
      .poll(shown, { timeout: scaledBudget(10_000) })
      .toEqual([{ title: 'Fire detected', tag: 'zkm-alarm-fire-1', route: '/safety' }])
    server.emit('alarm', alarm({ severity: 'escalated', resends: 1 }))
    await expect
      .poll(shown, { timeout: scaledBudget(10_000) })
      .toEqual([{ title: 'Fire detected — escalated', tag: 'zkm-alarm-fire-1', route: '/safety' }])
    server.emit(
      'alarm',
      alarm({ state: 'acknowledged', acknowledgedAt: '2026-11-24T12:01:00Z', active: false }),
    )
    await expect.poll(shown, { timeout: scaledBudget(10_000) }).toEqual([])

    // A click on a notification (dispatched in the worker as the phone would) opens the Safety view.
    server.emit('alarm', alarm({ id: 'gas-2', kind: 'gas' }))
    await expect
      .poll(shown, { timeout: scaledBudget(10_000) })
      .toEqual([{ title: 'Gas leak detected', tag: 'zkm-alarm-gas-2', route: '/safety' }])
    await page.getByRole('link', { name: 'Bills' }).click()
    expect(new URL(page.url()).hash).toBe('#/bills')
    const [worker] = browser.context.serviceWorkers()
    await worker!.evaluate(async () => {
      const scope = self as unknown as ServiceWorkerGlobalScope
      const [notification] = await scope.registration.getNotifications()
      scope.dispatchEvent(new NotificationEvent('notificationclick', { notification: notification! }))
    })
    await expect.poll(() => new URL(page.url()).hash, { timeout: scaledBudget(10_000) }).toBe('#/safety')
    await expect.poll(shown, { timeout: scaledBudget(10_000) }).toEqual([])
    expect(browser.errors).toEqual([])
  })

  it('asks for notification permission only from the button in the Safety view', async () => {
    server = await startFakeNode({ dist })
    browser = await launchPaired(server, PHONE)
    const page = await browser.newPage()
    // Counts the page's permission requests; the resident's answer is "allow".
    await page.addInitScript(() => {
      const counted = window as Window & { permissionRequests?: number }
      counted.permissionRequests = 0
      Notification.requestPermission = async () => {
        counted.permissionRequests = (counted.permissionRequests ?? 0) + 1
        return 'granted'
      }
    })
    const requests = () =>
      page.evaluate(() => (window as Window & { permissionRequests?: number }).permissionRequests)
    await page.goto(`${server.url}/#/safety`)
    await controlled(page)
    const button = page.getByRole('button', { name: 'Enable alarm notifications' })
    await expect.poll(() => button.count(), { timeout: scaledBudget(10_000) }).toBe(1)
    expect(await requests()).toBe(0)
    await button.click()
    expect(await requests()).toBe(1)
    await expect
      .poll(() => page.getByText('Alarm notifications are on').count(), { timeout: scaledBudget(10_000) })
      .toBe(1)
    expect(browser.errors).toEqual([])
  })

  it('forgets the kept answers as soon as the node answers 401 (the session ended or was revoked)', async () => {
    server = await startFakeNode({ dist })
    // In front of the node: answers 401 to every API request once `refuse` is set.
    let refuse = false
    const upstream = new URL(server.url)
    const gate = createServer((req, res) => {
      if (refuse && req.url?.startsWith('/api/')) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'Unauthorized', message: 'Pair this device again.' }))
        return
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      forward.on('error', () => res.destroy())
      req.pipe(forward)
    })
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`
    try {
      browser = await launchPaired(server, PHONE)
      const page = await browser.newPage()
      await page.goto(gateUrl)
      await controlled(page)
      await expect
        .poll(() => cachedPaths(page, 'zkm-data'), { timeout: scaledBudget(10_000) })
        .toHaveLength(5)
      refuse = true
      expect(await page.evaluate(() => fetch('api/status').then((r) => r.status))).toBe(401)
      await expect
        .poll(() => page.evaluate(() => caches.has('zkm-data')), { timeout: scaledBudget(10_000) })
        .toBe(false)
    } finally {
      gate.closeAllConnections()
      await new Promise((resolve) => gate.close(resolve))
    }
  })

  it('a new build takes over at once: its worker replaces the old shell and the open page offers a reload', async () => {
    // A copy of the build to change under the running page.
    const own = await mkdtemp(join(tmpdir(), 'zkm-pwa-update-'))
    try {
      await cp(dist, own, { recursive: true })
      server = await startFakeNode({ dist: own })
      browser = await launchPaired(server)
      const page = await browser.newPage()
      await page.goto(server.url)
      await controlled(page)
      const { version } = await shellFiles(own)
      expect(await page.evaluate(() => caches.keys())).toContain(`zkm-shell-${version}`)
      // The next build: a different version written into sw.js (as any change of a file gives).
      const next = 'f'.repeat(16)
      const worker = join(own, 'sw.js')
      await writeFile(worker, (await readFile(worker, 'utf8')).replace(version, next))
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update())
      await expect
        .poll(() => page.getByRole('status', { name: 'Update', exact: true }).count(), {
          timeout: scaledBudget(15_000),
        })
        .toBe(1)
      await expect
        .poll(() => page.evaluate(() => caches.keys()), { timeout: scaledBudget(10_000) })
        .not.toContain(`zkm-shell-${version}`)
      expect(await page.evaluate(() => caches.keys())).toContain(`zkm-shell-${next}`)
      expect(browser.errors).toEqual([])
    } finally {
      await rm(own, { recursive: true, force: true })
    }
  })
})
