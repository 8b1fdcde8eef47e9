/**
 * bench:ui — the production bundle's size and the time to the first live value in Chromium.
 *
 * - `bundle_gzip_kb`: sum of the gzip sizes (level 9, as a static server would pre-compress) of
 *   every file in the production build (ui/dist).
 * - `first_value_ms`: navigation start → the dashboard's power tile showing a value, in headless
 *   Chromium against the fake node (test/support/fake-node.ts: the node's routes over fixture
 *   data, readings streamed every 100 ms); median of 15 fresh page loads. Target ≤ 1,000 ms on localhost.
 * - `first_stream_value_ms`: the same when the node has no stored reading yet (404), so the first
 *   value arrives over the SSE stream: what a resident sees right after the meter starts.
 * - with `--url <node>` (a running `npm start`), also `node_first_value_ms`: the same measurement
 *   against the real node serving ui/dist.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { type FakeNode, initialState, reading, startFakeNode } from '../test/support/fake-node.ts'
import { type Browser, buildUi, launchBrowser } from '../ui/test/browser.ts'

const RUNS = 15

async function files(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await files(path)))
    else out.push(path)
  }
  return out
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

// Runs in the page: finds the power tile through the shadow roots and records when it first
// shows a number, in ms since navigation start (performance.now()).
const FIRST_VALUE = `(() => {
  const find = (root) => {
    const hit = root.querySelector('[data-value=power]')
    if (hit) return hit
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) { const f = find(el.shadowRoot); if (f) return f }
    return null
  }
  const el = find(document)
  if (el && /\\d/.test(el.textContent)) { window.__firstValue ??= performance.now(); return true }
  return false
})()`

async function firstValue(browser: Browser, server: FakeNode | string): Promise<number[]> {
  const times: number[] = []
  let seq = 10
  const url = typeof server === 'string' ? server : server.url
  if (typeof server !== 'string') {
    // A paired browser, as a resident's is (the session cookie pairing gives).
    const cookie = await server.pair()
    await browser.context.addCookies([
      { name: cookie.name, value: cookie.value, url, httpOnly: true, sameSite: 'Strict' },
    ])
  }
  const ticker =
    typeof server === 'string' ? undefined : setInterval(() => server.emit('reading', reading(seq++)), 100)
  try {
    for (let i = 0; i < RUNS; i++) {
      const page = await browser.newPage()
      await page.goto(url, { waitUntil: 'commit' })
      await page.waitForFunction(FIRST_VALUE, undefined, { polling: 'raf', timeout: 10_000 })
      times.push(await page.evaluate('window.__firstValue'))
      await page.close()
    }
  } finally {
    clearInterval(ticker)
  }
  return times
}

const { values } = parseArgs({ options: { url: { type: 'string' } } })
const dist = await buildUi()
let gzipBytes = 0
let rawBytes = 0
for (const file of await files(dist)) {
  const data = await readFile(file)
  rawBytes += (await stat(file)).size
  gzipBytes += gzipSync(data, { level: 9 }).length
}
console.log(
  `bundle: ${(rawBytes / 1024).toFixed(1)} KB raw, ${(gzipBytes / 1024).toFixed(1)} KB gzip (target ≤ 250 KB gzip)`,
)

const browser = await launchBrowser()
const servers: FakeNode[] = []
let rest: number[]
let streamed: number[]
let real: number[] | undefined
try {
  const withReading = await startFakeNode({ dist })
  servers.push(withReading)
  rest = await firstValue(browser, withReading)
  const state = initialState()
  state.latest = undefined
  const empty = await startFakeNode({ dist, state })
  servers.push(empty)
  streamed = await firstValue(browser, empty)
  if (values.url) real = await firstValue(browser, values.url)
} finally {
  await browser.close()
  for (const s of servers) await s.close()
}
const figures = {
  bundle_gzip_kb: Math.round((gzipBytes / 1024) * 10) / 10,
  bundle_raw_kb: Math.round((rawBytes / 1024) * 10) / 10,
  first_value_ms: Math.round(median(rest)),
  first_value_max_ms: Math.round(Math.max(...rest)),
  first_stream_value_ms: Math.round(median(streamed)),
  ...(real ? { node_first_value_ms: Math.round(median(real)) } : {}),
}
console.log(
  `first live value: median ${figures.first_value_ms} ms, max ${figures.first_value_max_ms} ms over ${RUNS} loads (target ≤ 1,000 ms)`,
)
console.log(`first value over the stream (no stored reading): median ${figures.first_stream_value_ms} ms`)
if (real)
  console.log(`first live value from the node at ${values.url}: median ${Math.round(median(real))} ms`)
console.log(
  JSON.stringify({
    bench: 'ui',
    machine: `${availableParallelism()} cores, node ${process.version}`,
    figures,
  }),
)
