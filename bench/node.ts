/**
 * bench:node — a running household node, measured from outside as a user would see it:
 *   idle_rss_mb              resident memory of the household node process (`npm start`: the
 *                            esbuild bundle with the V8 flags of tools/build-node.mjs), the largest
 *                            of ten 1-second samples after the stream measurement
 *   dev_services_rss_mb      the embedded dev chain's process (a stand-in for an external Ethereum
 *                            node; not part of a real household node)
 *   prover_child_rss_mb      the prover child if it is alive at that moment (it runs only while a
 *                            bill is proved, plus 15 s), else 0
 *   stream_latency_p95_ms    meter record seen on MQTT → the same record on the API's live stream
 *   stop_ms                  SIGTERM → the node process has exited (its dev chain with it)
 *   idle_rss_unbundled_mb    the same node run from the TypeScript sources without the V8 flags,
 *                            measured in the same run for comparison (bundle_rss_ratio = it ÷ ours)
 *   first_start_rss_mb       the bundled node's RSS on its very first start: an empty data dir and no
 *                            compiled contracts (contracts/build/test/artifacts.json removed), so it
 *                            compiles and deploys the ledger; the largest of ten 1-second samples once
 *                            it answers (BENCH_FIRST_ONLY=1 measures only this)
 *   billing_rss_peak_mb      the bundled node's largest RSS (sampled every 250 ms) while it proves,
 *                            submits and follows BENCH_BILLS bills (default 3) with its meter at
 *                            1440× (a period closes every real minute); prover_peak_rss_mb the same
 *                            for the prover child
 * Each node runs as `zkmeter start` in a child process on free loopback ports. For the idle and
 * stream figures its virtual meter runs at 60× (one live record per real second; a period closes
 * every 24 real minutes, so no bill is proved then). BENCH_UNBUNDLED=0 skips the comparison run,
 * BENCH_BILLS=0 the billing run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { addMqttLogin } from '../test/support/mqtt-login.ts'
import { fetchAsAdmin } from '../test/support/node-auth.ts'
import { BUNDLE, buildNode, NODE_RUN_FLAGS } from '../tools/build-node.mjs'
import { freePort, rssMb } from './support/process.ts'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60)
const COMPARE = process.env.BENCH_UNBUNDLED !== '0'
const BILLS = Number(process.env.BENCH_BILLS ?? 3)

async function children(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')
  } catch {
    return []
  }
  const pids = text.trim().split(/\s+/).filter(Boolean).map(Number)
  return Promise.all(
    pids.map(async (p) => ({
      pid: p,
      cmdline: await readFile(`/proc/${p}/cmdline`, 'utf8').then(
        (c) => c.replaceAll('\0', ' '),
        () => '',
      ),
    })),
  )
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Run {
  rss: number
  devServices: number
  prover: number
  p50: number
  p95: number
  samples: number
  stopMs: number
}

interface StartedNode {
  node: ChildProcess
  api: string
  dataDir: string
  mqttPort: number
  exited: Promise<void>
  /** SIGKILL if still running, then remove the data dir. */
  dispose(): Promise<void>
}

/** `zkmeter start` (in the form `args` gives) on free loopback ports and a fresh data dir, ready. */
async function startNode(label: string, args: string[], meterSpeed: number): Promise<StartedNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-bench-node-'))
  const port = await freePort()
  const mqttPort = await freePort()
  const node = spawn(
    process.execPath,
    [
      ...args,
      'start',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--chain-port',
      '0',
      '--mqtt-port',
      String(mqttPort),
      '--meter-speed',
      String(meterSpeed),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  )
  const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()))
  const dispose = async () => {
    if (node.exitCode === null && node.signalCode === null) node.kill('SIGKILL')
    await rm(dataDir, { recursive: true, force: true })
  }
  const api = `http://127.0.0.1:${port}`
  try {
    const deadline = Date.now() + 120_000
    for (;;) {
      // As the local CLI does: with the admin token the node wrote to its data dir.
      const ok = await fetchAsAdmin(dataDir, `${api}/api/status`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      if (node.exitCode !== null) throw new Error(`${label}: the node exited with ${node.exitCode}`)
      if (Date.now() > deadline) throw new Error(`${label}: the node did not become ready within 120 s`)
      await sleep(250)
    }
  } catch (error) {
    await dispose()
    throw error
  }
  console.log(`${label}: node ready at ${api}`)
  return { node, api, dataDir, mqttPort, exited, dispose }
}

/**
 * The first start of all: no data dir and no compiled contracts, so the node compiles the ledger and
 * deploys it before it answers. Returns the node's largest RSS over ten 1-second samples after that.
 */
async function measureFirstStart(args: string[]): Promise<number> {
  await rm(join('contracts', 'build', 'test', 'artifacts.json'), { force: true })
  const started = await startNode('first start', args, 60)
  try {
    let rss = 0
    for (let i = 0; i < 10; i++) {
      await sleep(1000)
      rss = Math.max(rss, await rssMb(started.node.pid as number))
    }
    started.node.kill('SIGTERM')
    await Promise.race([started.exited, sleep(30_000)])
    return rss
  } finally {
    await started.dispose()
  }
}

async function measure(label: string, args: string[]): Promise<Run> {
  const started = await startNode(label, args, 60)
  const { node, api, mqttPort, dataDir, exited } = started
  try {
    // Records as they leave the meter (MQTT) and as they reach a UI (SSE), matched by seq.
    const seenOnMqtt = new Map<number, number>()
    const latencies: number[] = []
    // A tool's read-only login: it reads the records as they leave the meter, like Home Assistant would.
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      ...(await addMqttLogin(dataDir, 'bench-observer', 'homeassistant')),
    })
    client.on('message', (_topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { ZK?: { seq?: number } }).ZK?.seq
      if (typeof seq === 'number') seenOnMqtt.set(seq, performance.now())
    })
    await client.subscribeAsync('tele/+/SENSOR', { qos: 0 })

    const controller = new AbortController()
    const res = await fetchAsAdmin(started.dataDir, `${api}/api/stream`, { signal: controller.signal })
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    // The stream opens with the latest reading (docs/api.md), which left the meter before this
    // client connected: its wait is not the stream's latency. Only records sent from now on count.
    const connectedAt = performance.now()
    const decoder = new TextDecoder()
    let buffer = ''
    while (latencies.length < SAMPLES) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the stream closed')
      const arrived = performance.now()
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
        if (!frame.includes('event: reading')) continue
        const data = frame.split('\n').find((l) => l.startsWith('data: '))
        const seq = (JSON.parse(data?.slice(6) ?? '{}') as { seq?: number }).seq
        const sent = seq === undefined ? undefined : seenOnMqtt.get(seq)
        if (sent !== undefined && sent >= connectedAt) latencies.push(arrived - sent)
      }
    }
    controller.abort()
    await client.endAsync()

    // Idle: the meter keeps running at 60×, nothing else is asked of the node. RSS moves with each
    // garbage collection, so take the largest of ten samples, one a second.
    const pid = node.pid as number
    let rss = 0
    let devServices = 0
    let prover = 0
    for (let i = 0; i < 10; i++) {
      await sleep(1000)
      rss = Math.max(rss, await rssMb(pid))
      for (const child of await children(pid)) {
        const mb = await rssMb(child.pid)
        if (child.cmdline.includes('dev-chain-process')) devServices = Math.max(devServices, mb)
        else if (child.cmdline.includes('prover-worker')) prover = Math.max(prover, mb)
      }
    }
    const devChains = (await children(pid)).filter((c) => c.cmdline.includes('dev-chain-process'))

    const stopStarted = performance.now()
    node.kill('SIGTERM')
    await Promise.race([exited, sleep(30_000)])
    const stopMs = performance.now() - stopStarted
    if (node.exitCode === null && node.signalCode === null)
      throw new Error(`${label}: SIGTERM did not stop the node`)
    // The dev chain must not outlive its node.
    await sleep(500)
    for (const chain of devChains) {
      if ((await rssMb(chain.pid)) > 0)
        throw new Error(`${label}: the dev chain (pid ${chain.pid}) outlived the node`)
    }
    const run: Run = {
      rss,
      devServices,
      prover,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      samples: latencies.length,
      stopMs,
    }
    console.log(
      `${label}: node RSS ${rss.toFixed(0)} MB; dev chain process ${devServices.toFixed(0)} MB; prover child ` +
        `${prover > 0 ? `${prover.toFixed(0)} MB` : 'not running'}; latency p50 ${run.p50.toFixed(1)} ms, ` +
        `p95 ${run.p95.toFixed(1)} ms; stop ${stopMs.toFixed(0)} ms`,
    )
    return run
  } finally {
    await started.dispose()
  }
}

/** Peak RSS of the node and of its prover child while `bills` bills go from period close to verified. */
async function measureBilling(label: string, args: string[], bills: number) {
  const started = await startNode(label, args, 1440)
  try {
    const pid = started.node.pid as number
    let node = 0
    let prover = 0
    let verified = 0
    const deadline = Date.now() + (bills + 3) * 90_000
    while (verified < bills) {
      if (Date.now() > deadline) throw new Error(`${label}: ${verified} of ${bills} bills verified in time`)
      await sleep(250)
      node = Math.max(node, await rssMb(pid))
      for (const child of await children(pid)) {
        if (child.cmdline.includes('prover-worker')) prover = Math.max(prover, await rssMb(child.pid))
      }
      const list = (await fetchAsAdmin(started.dataDir, `${started.api}/api/bills`).then((r) =>
        r.json(),
      )) as {
        bills: { status: string }[]
      }
      verified = list.bills.filter((b) => b.status === 'verified' || b.status === 'paid').length
    }
    console.log(
      `${label}: ${verified} bills verified; node RSS peak ${node.toFixed(0)} MB, prover child peak ${prover.toFixed(0)} MB`,
    )
    return { node, prover, verified }
  } finally {
    await started.dispose()
  }
}

// What is measured must be what `npm start` runs.
const startScript = (
  JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> }
).scripts.start
for (const flag of NODE_RUN_FLAGS) {
  if (!startScript?.includes(flag)) throw new Error(`npm start does not pass ${flag} (tools/build-node.mjs)`)
}
const built = await buildNode()
console.log(`bundle ${built.file} (${(built.bytes / 1024 / 1024).toFixed(1)} MB, ${built.ms} ms)`)
const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
const firstStart = await measureFirstStart([...NODE_RUN_FLAGS, BUNDLE])
console.log(`first start (compiles and deploys the ledger): ${firstStart.toFixed(0)} MB`)
if (process.env.BENCH_FIRST_ONLY === '1') {
  console.log(
    JSON.stringify({
      bench: 'node',
      machine: `${cpus().length} cores, ${process.version}`,
      load,
      figures: { first_start_rss_mb: Math.round(firstStart) },
    }),
  )
  process.exit(0)
}
const ours = await measure('bundled', [...NODE_RUN_FLAGS, BUNDLE])
const billing = BILLS > 0 ? await measureBilling('billing', [...NODE_RUN_FLAGS, BUNDLE], BILLS) : undefined
const unbundled = COMPARE ? await measure('unbundled', ['node/src/cli.ts']) : undefined
console.log(
  `load average at start: ${load}; at end: ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`,
)
console.log(
  JSON.stringify({
    bench: 'node',
    machine: `${cpus().length} cores, ${process.version}`,
    figures: {
      first_start_rss_mb: Math.round(firstStart),
      idle_rss_mb: Math.round(ours.rss),
      dev_services_rss_mb: Math.round(ours.devServices),
      prover_child_rss_mb: Math.round(ours.prover),
      stream_latency_p50_ms: Number(ours.p50.toFixed(1)),
      stream_latency_p95_ms: Number(ours.p95.toFixed(1)),
      stop_ms: Math.round(ours.stopMs),
      samples: ours.samples,
      ...(billing
        ? {
            billing_rss_peak_mb: Math.round(billing.node),
            prover_peak_rss_mb: Math.round(billing.prover),
            bills_verified: billing.verified,
          }
        : {}),
      ...(unbundled
        ? {
            idle_rss_unbundled_mb: Math.round(unbundled.rss),
            bundle_rss_ratio: Number((unbundled.rss / ours.rss).toFixed(2)),
            stop_unbundled_ms: Math.round(unbundled.stopMs),
          }
        : {}),
    },
  }),
)
