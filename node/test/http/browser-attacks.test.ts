/**
 * The web API's defences in real Chromium (docs/security.md, "The web API"):
 * - the built UI (ui/dist) loads and works under its Content-Security-Policy, every view, without
 *   one CSP violation;
 * - a page on another site (http://evil.test:<its port>, a second local server) attacks every
 *   state-changing route the issue found open: HTML form POSTs and no-cors fetches;
 * - a DNS-rebinding page (http://evil.test:<the node's port>: the browser thinks it is same-origin)
 *   reads /api/status and switches a relay with JSON.
 * All refused, and nothing changed: relays, bills, payments, alarms (the node notes each request a
 * handler ran). The node is the node's own HTTP layer and route handlers over in-memory services
 * (test/support/fake-node.ts). Chromium resolves evil.test to 127.0.0.1 (--host-resolver-rules).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type FakeNode, startFakeNode } from '../../../test/support/fake-node.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { ROUTES as UI_VIEWS } from '../../../ui/src/lib/router.ts'
import { CHROMIUM } from '../../../ui/test/browser.ts'
import { UI_DIST } from '../../src/http/static.ts'
import {
  ALARM_ID,
  attackableState,
  FAILED_BILL,
  handledChanges,
  PAYABLE_BILL,
  snapshot,
} from './attack-support.ts'

const EVIL = 'evil.test'

let browser: Browser
let node: FakeNode
let nodePort: number
let attacker: Server
let attackerOrigin: string

/** The state-changing routes the issue found open to other sites, and the body each would need. */
const TARGETS = [
  { path: `/api/bills/${PAYABLE_BILL}/pay` },
  { path: `/api/bills/${FAILED_BILL}/retry` },
  { path: '/api/relays/4', json: '{"on":false}' },
  { path: '/api/mesh/restore' },
  { path: `/api/alarms/${ALARM_ID}/ack` },
]

/**
 * The attacker's page: one form per target, each posted into its own frame (a text/plain form can
 * carry a JSON-looking body: name `{"on":false,"x":"` value `"}`), and the same targets by no-cors
 * fetch. It notes what it could observe in `window.done`.
 */
function attackPage(nodeUrl: string): string {
  const forms = TARGETS.map((t, i) => {
    const field = t.json
      ? `<input name='${t.json.slice(0, -1)},"x":"' value='"}'>`
      : '<input name="confirm" value="yes">'
    const enctype = t.json ? 'text/plain' : 'application/x-www-form-urlencoded'
    return `<iframe name="f${i}"></iframe><form id="form${i}" method="POST" target="f${i}" enctype="${enctype}" action="${nodeUrl}${t.path}">${field}</form>`
  }).join('\n')
  return `<!doctype html><html><body>${forms}
<script>
  window.done = (async () => {
    const targets = ${JSON.stringify(TARGETS)}
    const framed = targets.map((_, i) => new Promise((resolve) => {
      document.querySelector('iframe[name=f' + i + ']').addEventListener('load', resolve, { once: true })
    }))
    targets.forEach((_, i) => document.getElementById('form' + i).submit())
    await Promise.race([Promise.all(framed), new Promise((r) => setTimeout(r, 5000))])
    const fetched = []
    for (const t of targets) {
      for (const body of [undefined, t.json ?? 'x=1']) {
        try {
          const r = await fetch(${JSON.stringify(nodeUrl)} + t.path, { method: 'POST', mode: 'no-cors', body })
          fetched.push(r.type)
        } catch (e) { fetched.push('error: ' + e.message) }
      }
    }
    return fetched
  })()
</script></body></html>`
}

/** The rebinding page: at evil.test:<node port>, so /api/... is "its own" origin, arriving with Host evil.test. */
const REBINDING_PAGE = `<!doctype html><html><body><script>
  window.done = (async () => {
    const read = await fetch('/api/status')
    const readings = await fetch('/api/readings/latest')
    const relay = await fetch('/api/relays/4', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"on":false}' })
    const pay = await fetch('/api/bills/${PAYABLE_BILL}/pay', { method: 'POST' })
    return { status: read.status, statusBody: await read.text(), readings: readings.status, relay: relay.status, pay: pay.status }
  })()
</script></body></html>`

beforeAll(async () => {
  node = await startFakeNode({ dist: UI_DIST, state: attackableState(), relayConfirmMs: 0 })
  nodePort = Number(new URL(node.url).port)
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(attackPage(node.url))
  })
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
  attackerOrigin = `http://${EVIL}:${(attacker.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${EVIL} 127.0.0.1`,
      // Chromium's own Local Network Access checks would stop the rebound page's requests (its
      // document, fulfilled by Playwright, counts as public): off, so the test shows the node
      // refusing on its own, as it must for browsers without those checks.
      '--disable-features=LocalNetworkAccessChecks',
    ],
  })
}, scaledBudget(60_000))

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => attacker?.close(resolve))
  await node?.close()
})

beforeEach(() => {
  node.state.requests.length = 0
})

/**
 * Every answer the node gave, refused ones included, as "METHOD path status host" (watched at the
 * server: Chromium itself hides a no-cors answer that Cross-Origin-Resource-Policy blocks).
 */
function watchNodeAnswers(): { seen: string[]; stop(): void } {
  const seen: string[] = []
  const listener = (req: IncomingMessage, res: ServerResponse) =>
    res.on('finish', () => seen.push(`${req.method} ${req.url} ${res.statusCode} ${req.headers.host}`))
  node.server.on('request', listener)
  return { seen, stop: () => node.server.off('request', listener) }
}

/** What the page's script left in `window.done` (browser code as text: this file has no DOM types). */
const done = <T>(page: Page) => page.evaluate('window.done') as Promise<T>

describe('the UI under its Content-Security-Policy', () => {
  it(
    'loads every view with no CSP violation, no header warning and no console error',
    async () => {
      const context = await browser.newContext()
      const page = await context.newPage()
      const problems: string[] = []
      page.on('console', (m) => {
        // Errors, and the warnings Chromium gives for a header it cannot apply (an unknown feature).
        if (m.type() === 'error' || /Content Security Policy|Permissions-Policy/i.test(m.text())) {
          problems.push(m.text())
        }
      })
      page.on('pageerror', (e) => problems.push(e.message))
      await page.addInitScript(`
      window.violations = []
      document.addEventListener('securitypolicyviolation', (e) =>
        window.violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample))
    `)
      // Paired the way a resident pairs: the link `npm start` prints, with a one-time code.
      const answer = await page.goto(`${node.url}/#pair=${node.auth.issuePairingCode('resident').code}`)
      expect(answer?.headers()['content-security-policy']).toMatch(/script-src 'self'/)
      await waitFor('the live stream to connect', () => node.clients() > 0, 15_000)
      await expect
        .poll(() => page.locator('[data-value=power]').textContent(), { timeout: scaledBudget(15_000) })
        .toMatch(/W$/)
      for (const view of UI_VIEWS) {
        await page.evaluate(`location.hash = ${JSON.stringify(view.path)}`)
        await expect.poll(() => page.evaluate("location.hash || '#/'")).toBe(`#${view.path}`)
        // Let the view fetch and render what it shows.
        await page.waitForLoadState('networkidle').catch(() => undefined)
      }
      const violations = await page.evaluate('window.violations')
      expect(violations).toEqual([])
      expect(problems).toEqual([])
      await context.close()
    },
    scaledBudget(60_000),
  )
})

describe('attacks from another site in real Chromium', () => {
  it(
    'refuses form POSTs, no-cors fetches and a DNS-rebinding page, and nothing changes',
    async () => {
      const context = await browser.newContext()
      const before = snapshot(node.state)

      // The victim pairs with the node (the link `npm start` prints): from here on the victim's
      // browser holds a resident's session cookie, which the attacks below must not be able to use.
      const victim = await context.newPage()
      await victim.goto(`${node.url}/#pair=${node.auth.issuePairingCode('resident').code}`)
      await expect
        .poll(async () => (await context.cookies(node.url)).length, { timeout: scaledBudget(15_000) })
        .toBe(1)
      await waitFor('the victim’s UI to connect', () => node.clients() > 0, 15_000)

      // Another site's page: forms and no-cors fetches at every target.
      const evil = await context.newPage()
      const answers = watchNodeAnswers()
      await evil.goto(`${attackerOrigin}/`)
      const fetched = await done<string[]>(evil)
      expect(fetched).toHaveLength(TARGETS.length * 2)
      // Chromium reached the node with every one of them (a form and two fetches), each refused.
      const posts = () => answers.seen.filter((a) => a.startsWith('POST '))
      await waitFor('every attack to be answered', () => posts().length >= TARGETS.length * 3, 10_000)
      for (const target of TARGETS) {
        const refused = posts().filter((a) => a.startsWith(`POST ${target.path} `))
        expect(refused, target.path).toHaveLength(3)
        for (const answer of refused) expect(answer, target.path).toMatch(/ 403 127\.0\.0\.1:\d+$/)
      }

      // A DNS-rebinding page: served as http://evil.test:<node port>/, so the browser sends its
      // requests to the node as same-origin (Host: evil.test). The page itself comes from the
      // attacker (Playwright stands in for the attacker's DNS answer that first pointed evil.test
      // elsewhere); everything it fetches goes to the node.
      const rebound = await context.newPage()
      const reboundOrigin = `http://${EVIL}:${nodePort}`
      await rebound.route(`${reboundOrigin}/`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: REBINDING_PAGE }),
      )
      await rebound.goto(`${reboundOrigin}/`)
      const result = await done<Record<string, unknown>>(rebound)
      expect(answers.seen).toContain(`POST /api/relays/4 403 ${EVIL}:${nodePort}`)
      answers.stop()
      expect(result).toMatchObject({ status: 403, readings: 403, relay: 403, pay: 403 })
      expect(String(result?.statusBody)).toMatch(/ForeignHostError/)
      expect(String(result?.statusBody)).not.toMatch(/meter|chain|ledger/)

      // Nothing changed: relays, fan, bills and payments, alarms, rules; no handler ran but the
      // victim's own pairing.
      expect(handledChanges(node.state)).toEqual(['POST /api/pair'])
      expect(snapshot(node.state)).toBe(before)
      expect(node.state.relays[3]?.on).toBe(true)
      expect(node.state.bills.find((b) => b.id === PAYABLE_BILL)?.status).toBe('verified')
      expect(node.state.alarms[0]?.state).toBe('active')
      await context.close()
    },
    scaledBudget(90_000),
  )
})
