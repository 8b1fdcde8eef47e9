/**
 * bench:node — a running household node, measured from outside as a user would see it:
 *   idle_rss_mb            resident memory of the node process (prover child reported apart)
 *   stream_latency_p95_ms  meter record seen on MQTT → the same record on the API's live stream
 * The node runs as `zkmeter start` in a child process on free loopback ports, its virtual meter
 * at 60× (one live record per real second).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60)

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')
    return text.trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

const dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-bench-node-'))
const port = await freePort()
const mqttPort = await freePort()
let node: ChildProcess | undefined
try {
  node = spawn(
    process.execPath,
    [
      'node/src/cli.ts',
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
      '60',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  )
  const api = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  for (;;) {
    const ok = await fetch(`${api}/api/status`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) throw new Error('the node did not become ready within 120 s')
    await new Promise((r) => setTimeout(r, 250))
  }
  console.log(`node ready at ${api}`)

  // Records as they leave the meter (MQTT) and as they reach a UI (SSE), matched by seq.
  const seenOnMqtt = new Map<number, number>()
  const latencies: number[] = []
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`)
  client.on('message', (_topic, payload) => {
    const seq = (JSON.parse(payload.toString()) as { ZK?: { seq?: number } }).ZK?.seq
    if (typeof seq === 'number') seenOnMqtt.set(seq, performance.now())
  })
  await client.subscribeAsync('tele/+/SENSOR', { qos: 0 })

  const controller = new AbortController()
  const res = await fetch(`${api}/api/stream`, { signal: controller.signal })
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
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
      if (sent !== undefined) latencies.push(arrived - sent)
    }
  }
  controller.abort()
  await client.endAsync()

  // Idle: the meter keeps running at 60×, nothing else is asked of the node.
  await new Promise((r) => setTimeout(r, 10_000))
  const pid = node.pid as number
  const rss = await rssMb(pid)
  const prover = (await Promise.all((await childPids(pid)).map(rssMb))).reduce((a, b) => a + b, 0)
  console.log(
    `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
  )
  console.log(`node RSS ${rss.toFixed(0)} MB (prover child ${prover.toFixed(0)} MB, not included)`)
  console.log(
    JSON.stringify({
      bench: 'node',
      machine: `${cpus().length} cores, ${process.version}`,
      figures: {
        idle_rss_mb: Math.round(rss),
        prover_child_rss_mb: Math.round(prover),
        stream_latency_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
        stream_latency_p95_ms: Number(percentile(latencies, 95).toFixed(1)),
        samples: latencies.length,
      },
    }),
  )
} finally {
  node?.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 3000))
  node?.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
}
