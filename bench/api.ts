/**
 * bench:api — the HTTP API's latency with every web guard on (Host allowlist, fetch metadata,
 * Origin, body type; security headers on every answer) and authentication (a paired browser's
 * session cookie, checked by the authorizer on every request), on loopback.
 *
 * - `api_p50_ms`, `api_p95_ms`, `api_p99_ms`: GET /api/status (what every page load of the UI
 *   asks first), sent as the UI's own page sends it (Host, Sec-Fetch-Site: same-origin), one
 *   request at a time over a keep-alive connection, 3,000 requests after 300 of warm-up. The node
 *   is the node's own HTTP layer and route handlers over in-memory services
 *   (test/support/fake-node.ts), in a child process so client and server do not share a thread.
 *   Target (issue 12): p95 ≤ 2 ms.
 * - `api_write_p95_ms`: the same for POST /api/relays/6 {"on": …} from the node's own origin (the
 *   Origin check and the JSON body read included; the in-memory meter confirms at once).
 * - `server_cpu_us_per_get`: the node process's CPU time (user + system) per GET /api/status: what
 *   a request costs the node whatever else the machine is doing.
 * - `guard_us`: the guards alone (guardRequest on a browser-like request), median µs per call.
 */
import { fork } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { Agent, IncomingMessage, request } from 'node:http'
import { Socket } from 'node:net'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'

const WARMUP = 300
const REQUESTS = 3_000

if (process.argv.includes('--serve')) {
  const { mkdtemp } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { startFakeNode } = await import('../test/support/fake-node.ts')
  const node = await startFakeNode({
    dist: await mkdtemp(join(tmpdir(), 'zkm-bench-api-')),
    relayConfirmMs: 0,
  })
  // A paired browser: every request carries its session cookie, as the UI's would.
  const session = await node.pair('resident')
  process.send?.({ url: node.url, cookie: session.header })
  // The server's CPU time on request: unlike wall time, it does not grow with other processes' load.
  process.on('message', () => process.send?.({ cpu: process.cpuUsage() }))
  process.on('disconnect', () => void node.close().then(() => process.exit(0)))
} else {
  await main()
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

async function main(): Promise<void> {
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const { url, cookie } = await new Promise<{ url: string; cookie: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; cookie: string }))
    child.once('exit', (code) => reject(new Error(`the bench node exited (${code})`)))
  })
  const { port, host } = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })

  const send = (method: string, path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const start = performance.now()
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            host,
            cookie,
            'sec-fetch-site': 'same-origin',
            'sec-fetch-mode': 'cors',
            ...(method === 'GET' ? {} : { origin: url, 'content-type': 'application/json' }),
          },
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode}`))
            else resolve(performance.now() - start)
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })

  const measure = async (method: string, path: string, body?: (i: number) => string) => {
    for (let i = 0; i < WARMUP; i++) await send(method, path, body?.(i))
    const times: number[] = []
    for (let i = 0; i < REQUESTS; i++) times.push(await send(method, path, body?.(i)))
    return times
  }

  const cpu = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => {
        const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu
        resolve(user + system)
      })
      child.send('cpu')
    })
  for (let i = 0; i < WARMUP; i++) await send('GET', '/api/status')
  const cpuBefore = await cpu()
  const reads = await measure('GET', '/api/status')
  const cpuPerRead = (await cpu()) - cpuBefore
  const writes = await measure('POST', '/api/relays/6', (i) => JSON.stringify({ on: i % 2 === 0 }))
  agent.destroy()
  child.disconnect()

  const guardUs = await guardCost(url)
  const end = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
  console.log(`load average at start: ${load}; at end: ${end}`)
  console.log(
    JSON.stringify({
      bench: 'api',
      machine: `${cpus().length} cores, ${process.version}`,
      figures: {
        api_p50_ms: Number(percentile(reads, 50).toFixed(3)),
        api_p95_ms: Number(percentile(reads, 95).toFixed(3)),
        api_p99_ms: Number(percentile(reads, 99).toFixed(3)),
        api_write_p95_ms: Number(percentile(writes, 95).toFixed(3)),
        // Warm-up included in the window: (WARMUP + REQUESTS) GETs.
        server_cpu_us_per_get: Math.round(cpuPerRead / (WARMUP + REQUESTS)),
        guard_us: Number(guardUs.toFixed(2)),
        requests: REQUESTS,
      },
    }),
  )
}

/** The guards alone on a browser-like request: median of 20 batches of 10,000 calls, µs per call. */
async function guardCost(url: string): Promise<number> {
  const { guardRequest, defaultAllowedHosts } = await import('../node/src/http/guards.ts')
  const allowedHosts = new Set(defaultAllowedHosts())
  const req = new IncomingMessage(new Socket())
  req.method = 'POST'
  req.headers = {
    host: new URL(url).host,
    origin: url,
    'sec-fetch-site': 'same-origin',
    'content-type': 'application/json',
    'content-length': '11',
  }
  const batches: number[] = []
  for (let b = 0; b < 20; b++) {
    const start = performance.now()
    for (let i = 0; i < 10_000; i++) guardRequest(req, { allowedHosts })
    batches.push(((performance.now() - start) * 1000) / 10_000)
  }
  return percentile(batches, 50)
}
