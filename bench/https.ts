/**
 * HTTPS on the home network (docs/security.md), what it costs:
 *
 *   https_first_request_ms   a new TLS connection (ECDSA P-256 handshake) + GET /api/status, loopback,
 *                            p50/p95 over fresh connections; http_first_request_ms the same in plain HTTP
 *   https_keepalive_ms       a request on an open TLS connection (what a page does after the first)
 *   *_cpu_ms                 CPU time per new connection + request, client and server together
 *   idle_rss_mb / idle_rss_https_mb   the bundled household node idle, without and with --listen
 *                            127.0.0.1 (the HTTPS listener, its certificates, the RPC proxy)
 *
 *   node bench/https.ts            (BENCH_RSS=0 skips the two node runs)
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { Agent, request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import { createHttpApi } from '../node/src/http/server.ts'
import { ensureNodeCertificates } from '../node/src/tls/store.ts'
import { BUNDLE, buildNode, NODE_RUN_FLAGS } from '../tools/build-node.mjs'
import { freePort, rssMb } from './support/process.ts'

const N = Number(process.env.BENCH_SAMPLES ?? 200)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

function timedGet(url: string, options: { ca?: string; agent?: Agent | false }): Promise<number> {
  const started = performance.now()
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ...(options.ca ? { ca: options.ca } : {}), agent: options.agent ?? false },
      (res) => {
        res.resume()
        res.on('end', () => resolve(performance.now() - started))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

async function latency(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'zkm-bench-https-'))
  const certs = await ensureNodeCertificates(dir, { hostnames: ['localhost'], ips: ['127.0.0.1'] })
  const secure = createHttpApi({ tls: { key: certs.key, cert: certs.cert } })
  const plain = createHttpApi()
  for (const api of [secure, plain]) api.route('GET', '/api/status', () => ({ ready: true }))
  const https = (await secure.start()).url
  const http = (await plain.start()).url
  try {
    let cpuMs = 0
    const run = async (f: () => Promise<number>) => {
      for (let i = 0; i < 20; i++) await f() // warm-up
      const times: number[] = []
      const cpu = process.cpuUsage()
      for (let i = 0; i < N; i++) times.push(await f())
      const used = process.cpuUsage(cpu)
      cpuMs = (used.user + used.system) / 1000 / N
      return times
    }
    // A new connection and a full handshake every time (no keep-alive, no session resumption), with
    // one client context, as a browser has: what a phone pays when it opens the app.
    const secureContext = createSecureContext({ ca: certs.caCert })
    const fresh = new Agent({ secureContext, keepAlive: false, maxCachedSessions: 0 })
    const first = await run(() => timedGet(`${https}/api/status`, { agent: fresh }))
    fresh.destroy()
    const httpsCpu = cpuMs
    const plainFirst = await run(() => timedGet(`${http}/api/status`, {}))
    const httpCpu = cpuMs
    const agent = new Agent({ ca: certs.caCert, keepAlive: true, maxSockets: 1 })
    const kept = await run(() => timedGet(`${https}/api/status`, { agent }))
    agent.destroy()
    return {
      https_first_request_p50_ms: percentile(first, 50),
      https_first_request_p95_ms: percentile(first, 95),
      http_first_request_p50_ms: percentile(plainFirst, 50),
      http_first_request_p95_ms: percentile(plainFirst, 95),
      https_keepalive_p50_ms: percentile(kept, 50),
      // CPU per new connection + request, client and server together (both in this process): the
      // figure a loaded machine does not distort.
      https_first_request_cpu_ms: httpsCpu,
      http_first_request_cpu_ms: httpCpu,
    }
  } finally {
    await secure.stop()
    await plain.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The bundled node idle for 20 s (largest of 20 samples, after the first bill-free minute's start). */
async function idleRss(extra: string[]): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'zkm-bench-https-node-'))
  const port = await freePort()
  const node = spawn(
    process.execPath,
    [
      ...NODE_RUN_FLAGS,
      BUNDLE,
      'start',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--chain-port',
      '0',
      '--mqtt-port',
      String(await freePort()),
      '--meter-speed',
      '60',
      '--mesh',
      'false',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  )
  try {
    const deadline = Date.now() + 180_000
    while (
      !(await fetch(`http://127.0.0.1:${port}/api/status`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (node.exitCode !== null || Date.now() > deadline)
        throw new Error(`the node did not start (${extra.join(' ')})`)
      await sleep(250)
    }
    await sleep(5000)
    let rss = 0
    for (let i = 0; i < 20; i++) {
      await sleep(1000)
      rss = Math.max(rss, await rssMb(node.pid as number))
    }
    return rss
  } finally {
    node.kill('SIGTERM')
    await new Promise((r) => node.once('exit', r))
    await rm(dataDir, { recursive: true, force: true })
  }
}

const figures: Record<string, number> = await latency()
if (process.env.BENCH_RSS !== '0') {
  await buildNode()
  figures.idle_rss_mb = await idleRss([])
  figures.idle_rss_https_mb = await idleRss([
    '--listen',
    '127.0.0.1',
    '--https-port',
    String(await freePort()),
  ])
}
for (const [key, value] of Object.entries(figures)) console.log(`${key} ${value.toFixed(2)}`)
