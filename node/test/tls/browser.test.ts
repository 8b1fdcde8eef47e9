/**
 * Real Chromium opens the app over HTTPS with the node's certificate and gets the live stream, as a
 * phone that trusts the household CA would; a server whose certificate is not the node's is
 * refused. Chromium is told to trust the node's server key (--ignore-certificate-errors-spki-list,
 * the SPKI hash of the server certificate), which stands in for installing the CA on a phone.
 * Needs the built UI (npm run build:ui).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeNode, reading, startFakeNode } from '../../../test/support/fake-node.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../../../ui/test/browser.ts'
import { UI_DIST } from '../../src/http/static.ts'
import { ensureNodeCertificates } from '../../src/tls/store.ts'

const NAMES = { hostnames: ['localhost'], ips: ['127.0.0.1', '::1'] }

let dirs: string[] = []
let node: FakeNode
let stranger: FakeNode
let context: BrowserContext

beforeAll(async () => {
  if (!existsSync(join(UI_DIST, 'index.html'))) throw new Error('build the UI first: npm run build:ui')
  const [home, other, profile] = await Promise.all(
    ['zkm-tls-home-', 'zkm-tls-other-', 'zkm-tls-chromium-'].map((p) => mkdtemp(join(tmpdir(), p))),
  )
  dirs = [home as string, other as string, profile as string]
  const certs = await ensureNodeCertificates(home as string, NAMES)
  const foreign = await ensureNodeCertificates(other as string, NAMES)
  node = await startFakeNode({ dist: UI_DIST, tls: { key: certs.key, cert: certs.cert } })
  stranger = await startFakeNode({ dist: UI_DIST, tls: { key: foreign.key, cert: foreign.cert } })
  context = await chromium.launchPersistentContext(profile as string, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${certs.leafSpkiSha256}`],
    viewport: { width: 390, height: 844 },
  })
}, scaledBudget(60_000))

afterAll(async () => {
  await context?.close().catch(() => undefined)
  await node?.close()
  await stranger?.close()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('the app over HTTPS in Chromium', () => {
  it('loads over the node certificate, in a secure context, and receives the live stream', async () => {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    const url = node.url.replace('127.0.0.1', 'localhost')
    expect(url).toMatch(/^https:\/\/localhost:\d+$/)
    // Paired over HTTPS with the link `npm start` prints (its code), as a phone would be.
    await page.goto(`${url}/#pair=${node.auth.issuePairingCode('resident').code}`)
    expect(await page.evaluate('[location.protocol, window.isSecureContext]')).toEqual(['https:', true])
    await expect
      .poll(() => page.locator('[data-value=power]').textContent(), { timeout: scaledBudget(15_000) })
      .toBe('1,510 W')
    await expect.poll(() => node.clients(), { timeout: scaledBudget(10_000) }).toBeGreaterThan(0)
    node.emit('reading', reading(2, { powerW: 2345, voltageV: 229.4 }))
    await expect
      .poll(() => page.locator('[data-value=power]').textContent(), { timeout: scaledBudget(10_000) })
      .toBe('2,345 W')
    // Paired over HTTPS: the session is the Secure, __Host- cookie, HttpOnly and SameSite=Strict.
    const cookies = await context.cookies(url)
    expect(cookies).toEqual([
      expect.objectContaining({
        name: '__Host-zkm_session',
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      }),
    ])
    // And the installable app's service worker installs over the node's certificate, as on a phone.
    const worker = await page.evaluate(
      'navigator.serviceWorker.ready.then((registration) => registration.active?.scriptURL ?? "")',
    )
    expect(worker).toBe(`${url}/sw.js`)
    expect(errors).toEqual([])
    await page.close()
  })

  it('refuses a server whose certificate is not from the node', async () => {
    const page = await context.newPage()
    const opened = page.goto(`${stranger.url.replace('127.0.0.1', 'localhost')}/#/`)
    await expect(opened).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID|ERR_CERT/)
    expect(stranger.clients()).toBe(0)
    await page.close()
  })
})
