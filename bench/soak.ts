/**
 * bench:soak — a simulated year of one household: one node (`npm start` form: the bundle with its V8
 * flags), its virtual meter on accelerated time publishing 15-minute interval records and live
 * samples through the broker, calendar-month bills on the production circuit (N = 2976) proved,
 * submitted and verified on the embedded chain, the mesh on. Figures:
 *   rss_growth_pct          node RSS at the end of the simulated span against the start of steady
 *                           state (the first bill verified: ingest, sealing, proving, submission and
 *                           the mesh have each run once); each is the median of RSS_WINDOW 1-second
 *                           samples taken while the meter runs at the same speed. Target ≤ 10.
 *   vault_bytes             the vault's Helia stores (<data-dir>/ipfs) at the end of the span
 *   vault_bytes_per_year    vault_bytes × 365 / simulated days (measured, not scaled, when days = 365)
 *   startup_s               SIGTERM, then `zkmeter start` again on the same data dir: spawn → the
 *                           first 200 from /api/status. Target ≤ 5. startup_history_s: spawn → the
 *                           year view answered (history reads wait for the sealed periods).
 *   history_query_p95_ms    GET /api/readings over the day (hourly), week, month and year (daily)
 *                           views ending at the newest record, QUERIES of each, after the restart.
 *                           Target ≤ 50.
 *   bills_verified          bills verified (or paid) on the ledger, of bills_expected (the calendar
 *                           months closed within the span; the first is the partial month the
 *                           meter started in).
 * BENCH_SOAK_DAYS (default 365) sets the simulated span, BENCH_SOAK_SPEED the meter's speed
 * (simulated s per real s, default 20,000), BENCH_SOAK_LIVE_S the meter's live-sample period
 * (default 900: one live sample per interval, so 2 records per 15 minutes; the node's default is 60,
 * 16 records per 15 minutes, which at load 8 on 2 cores ingested ~3.6 simulated days per real
 * minute with the vault flush falling behind: a year would take ~100 minutes). Interval records, period closes, acks and bills are the same
 * either way, through the same broker and ingest path. SIGUSR2 to the bench ends the span at the
 * day ingested so far (the figures then cover that many days and say so). BENCH_SOAK_KEEP=1 keeps the data dir and the
 * node's log.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fetchAsAdmin } from '../test/support/node-auth.ts'
import { BUNDLE, buildNode, NODE_RUN_FLAGS } from '../tools/build-node.mjs'
import { freePort, rssMb } from './support/process.ts'

const DAYS = Number(process.env.BENCH_SOAK_DAYS ?? 365)
const SPEED = Number(process.env.BENCH_SOAK_SPEED ?? 20_000)
const LIVE_S = Number(process.env.BENCH_SOAK_LIVE_S ?? 900)
const KEEP = process.env.BENCH_SOAK_KEEP === '1'
const RSS_WINDOW = 20
const QUERIES = 50
const DAY = 86_400

let endEarly = false
process.on('SIGUSR2', () => {
  endEarly = true
  console.log('SIGUSR2: the span ends at the day ingested so far')
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await treeBytes(path)
    else if (entry.isFile()) total += (await stat(path)).size
  }
  return total
}

const loadavg = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')

interface Status {
  meter: { simulatedTime: number | null; lastSeq: number | null; ackedSeq: number | null }
  mesh: { enabled: boolean; running?: boolean }
  circuit: { profile: string; n: number }
}
interface Bill {
  periodStart: number
  periodEnd: number
  status: string
  chainBillId: string | null
  failure: { kind: string } | null
}

class SoakNode {
  readonly api: string
  readonly child: ChildProcess
  readonly exited: Promise<void>
  readonly dataDir: string
  constructor(dataDir: string, port: number, mqttPort: number, speed: number, log: NodeJS.WritableStream) {
    this.dataDir = dataDir
    this.api = `http://127.0.0.1:${port}`
    this.child = spawn(
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
        String(mqttPort),
        '--circuit',
        'production',
        '--period-days',
        '0', // calendar months
        '--meter-speed',
        String(speed),
        '--meter-live-period',
        String(LIVE_S),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.child.stdout?.pipe(log, { end: false })
    this.child.stderr?.pipe(log, { end: false })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
  }

  get pid(): number {
    return this.child.pid as number
  }

  /**
   * GET with the admin token. A busy node may drop a kept-alive connection or answer late: retried
   * for up to a minute (the node's own stall is then visible in the progress lines), then thrown.
   */
  async get<T>(path: string): Promise<T> {
    const deadline = performance.now() + 60_000
    for (;;) {
      try {
        const res = await fetchAsAdmin(this.dataDir, `${this.api}${path}`)
        if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
        return (await res.json()) as T
      } catch (error) {
        if (this.child.exitCode !== null || performance.now() > deadline) throw error
        await sleep(500)
      }
    }
  }

  /** Resolves once /api/status answers 200; the seconds it took from `since`. */
  async ready(since: number, timeoutMs = 300_000): Promise<number> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const ok = await fetchAsAdmin(this.dataDir, `${this.api}/api/status`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) return (performance.now() - since) / 1000
      if (this.child.exitCode !== null) throw new Error(`the node exited with ${this.child.exitCode}`)
      if (performance.now() > deadline) throw new Error(`the node did not answer within ${timeoutMs} ms`)
      await sleep(50)
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGTERM')
    await Promise.race([this.exited, sleep(60_000)])
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }
}

/** Calendar months (UTC) that end within [start, end]: the bills the span must produce. */
function monthsClosed(start: number, end: number): number {
  let count = 0
  const d = new Date(start * 1000)
  for (let m = 1; ; m++) {
    const close = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + m, 1) / 1000
    if (close > end) return count
    count++
  }
}

async function rssWindow(pid: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < RSS_WINDOW; i++) {
    samples.push(await rssMb(pid))
    await sleep(1000)
  }
  return samples
}

const verifiedBills = (bills: Bill[]) =>
  bills.filter((b) => (b.status === 'verified' || b.status === 'paid') && b.chainBillId !== null)

// ── run ──────────────────────────────────────────────────────────────────────────────────────
const built = await buildNode()
console.log(`bundle ${built.file} (${(built.bytes / 1024 / 1024).toFixed(1)} MB, ${built.ms} ms)`)
const dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-bench-soak-'))
const logFile = `${dataDir}.log`
const log = createWriteStream(logFile)
const loadStart = await loadavg()
const port = await freePort()
const mqttPort = await freePort()
let failedRun = false
let node = new SoakNode(dataDir, port, mqttPort, SPEED, log)
const cleanup = async () => {
  await node.stop()
  log.end()
  if (!KEEP) {
    await rm(dataDir, { recursive: true, force: true })
    if (!failedRun) await rm(logFile, { force: true })
  } else console.log(`kept ${dataDir} and ${logFile}`)
}

try {
  const firstStart = await node.ready(performance.now())
  const status0 = await node.get<Status>('/api/status')
  if (status0.circuit.profile !== 'production')
    throw new Error('the node did not take the production circuit')
  if (!status0.mesh.enabled) throw new Error('the mesh is off')
  const simStart = status0.meter.simulatedTime as number
  const simEnd = simStart + DAYS * DAY
  const realStart = performance.now()
  console.log(
    `node ready in ${firstStart.toFixed(1)} s; meter at ${new Date(simStart * 1000).toISOString()}, ` +
      `${SPEED}×, ${DAYS} days to ${new Date(simEnd * 1000).toISOString()}; load ${loadStart}`,
  )

  let steadyRss: number[] | undefined
  let steadyAt: number | undefined
  const monthly: string[] = []
  let lastBills = 0
  let lastPrint = 0
  let spanEnd = simEnd
  for (;;) {
    if (node.child.exitCode !== null) throw new Error(`the node exited with ${node.child.exitCode}`)
    const status = await node.get<Status>('/api/status')
    const latest = await node
      .get<{ reading: { time: number } }>('/api/readings/latest')
      .then((r) => r.reading.time)
      .catch(() => simStart)
    const { bills } = await node.get<{ bills: Bill[] }>('/api/bills')
    const verified = verifiedBills(bills).length
    // A failed bill the node does not retry by itself would never be verified: stop here.
    const failed = bills.filter(
      (b) => b.status === 'failed' && !(b as { nextAttemptAt?: string | null }).nextAttemptAt,
    )
    if (failed.length > 0) throw new Error(`bill failed: ${JSON.stringify(failed[0])}`)
    const meterTime = status.meter.simulatedTime as number
    const rss = await rssMb(node.pid)
    if (verified > lastBills) {
      lastBills = verified
      const line = `bill ${verified} verified at simulated ${new Date(latest * 1000).toISOString().slice(0, 10)}: node RSS ${rss.toFixed(0)} MB, load ${await loadavg()}`
      monthly.push(line)
      console.log(line)
      if (steadyRss === undefined) {
        steadyAt = latest
        steadyRss = await rssWindow(node.pid)
        console.log(`steady state from here: RSS median ${percentile(steadyRss, 50).toFixed(1)} MB`)
      }
    }
    if (performance.now() - lastPrint > 15_000) {
      lastPrint = performance.now()
      console.log(
        `t+${((performance.now() - realStart) / 1000).toFixed(0)} s: meter day ${((meterTime - simStart) / DAY).toFixed(1)}, ` +
          `ingested day ${((latest - simStart) / DAY).toFixed(1)}, seq ${status.meter.lastSeq} (acked ${status.meter.ackedSeq}), ` +
          `bills ${bills.map((b) => b.status).join(',') || '-'}, RSS ${rss.toFixed(0)} MB, load ${await loadavg()}`,
      )
    }
    if (latest >= simEnd || endEarly) {
      spanEnd = Math.min(latest, simEnd)
      break
    }
    await sleep(1000)
  }
  const realSpan = (performance.now() - realStart) / 1000
  if (steadyRss === undefined)
    throw new Error('no bill was verified within the span: no steady state to compare')
  const endRss = await rssWindow(node.pid)
  const rssStart = percentile(steadyRss, 50)
  const rssEnd = percentile(endRss, 50)
  const vaultBytes = await treeBytes(join(dataDir, 'ipfs'))
  const journalBytes = await treeBytes(join(dataDir, 'journal'))
  const simDays = (spanEnd - simStart) / DAY
  console.log(
    `span done in ${realSpan.toFixed(0)} s; RSS ${rssStart.toFixed(1)} → ${rssEnd.toFixed(1)} MB; vault ${vaultBytes} bytes, journal ${journalBytes} bytes`,
  )

  // Every month that closed within the span must be billed: wait for the last ones to be verified.
  const expected = monthsClosed(simStart, spanEnd)
  const billDeadline = performance.now() + 20 * 60_000
  let bills: Bill[] = []
  for (;;) {
    bills = (await node.get<{ bills: Bill[] }>('/api/bills')).bills
    const closed = bills.filter((b) => b.periodEnd <= spanEnd)
    if (verifiedBills(closed).length >= expected) break
    if (performance.now() > billDeadline) break
    await sleep(2000)
  }
  const closedVerified = verifiedBills(bills.filter((b) => b.periodEnd <= spanEnd))
  const ledgerBills = await node.get<{ bills: { billId?: string; id?: string }[] }>('/api/utility/bills')
  console.log(
    `bills: ${closedVerified.length} of ${expected} closed months verified; the ledger lists ${ledgerBills.bills.length}`,
  )

  // Startup with the span's data: stop, then start on the same data dir. The meter resumes at 60×
  // so that what follows (queries) runs against a node not busy catching up.
  await node.stop()
  const restartAt = performance.now()
  node = new SoakNode(dataDir, port, mqttPort, 60, log)
  const startupS = await node.ready(restartAt)
  // Views end at the newest record the node holds: a meter that ran ahead of ingest (the span can end
  // early, SIGUSR2) resumes beyond it, and its last day would be empty.
  const now = (await node.get<{ reading: { time: number } }>('/api/readings/latest')).reading.time
  // Sealed periods are read back after the node answers (history/from-vault.ts): when is the year's view whole?
  await node.get(`/api/readings?from=${now - 365 * DAY}&to=${now}&resolution=day`)
  const historyReadyS = (performance.now() - restartAt) / 1000
  console.log(
    `restart: /api/status answered after ${startupS.toFixed(2)} s, the year's history after ${historyReadyS.toFixed(2)} s`,
  )

  const views: Record<string, [number, string]> = {
    day: [DAY, 'hour'],
    week: [7 * DAY, 'day'],
    month: [30 * DAY, 'day'],
    year: [365 * DAY, 'day'],
  }
  const all: number[] = []
  const perView: Record<string, number> = {}
  for (const [name, [seconds, resolution]] of Object.entries(views)) {
    const times: number[] = []
    for (let i = 0; i < QUERIES + 5; i++) {
      const t0 = performance.now()
      const answer = await node.get<{ points: unknown[] }>(
        `/api/readings?from=${now - seconds}&to=${now}&resolution=${resolution}`,
      )
      const ms = performance.now() - t0
      if (answer.points.length === 0) throw new Error(`the ${name} view is empty`)
      if (i >= 5) times.push(ms) // the first few warm the route up
    }
    perView[name] = percentile(times, 95)
    all.push(...times)
    console.log(
      `history ${name}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${perView[name].toFixed(1)} ms`,
    )
  }
  const loadEnd = await loadavg()
  console.log(`load average at start: ${loadStart}; at end: ${loadEnd}`)
  for (const line of monthly) console.log(`  ${line}`)
  console.log(
    JSON.stringify({
      bench: 'soak',
      machine: `${cpus().length} cores, ${process.version}`,
      figures: {
        simulated_days: Number(simDays.toFixed(1)),
        meter_speed: SPEED,
        live_period_s: LIVE_S,
        real_span_s: Math.round(realSpan),
        rss_start_mb: Number(rssStart.toFixed(1)),
        rss_end_mb: Number(rssEnd.toFixed(1)),
        rss_growth_pct: Number((((rssEnd - rssStart) / rssStart) * 100).toFixed(1)),
        steady_state_from_day: Number((((steadyAt as number) - simStart) / DAY).toFixed(1)),
        vault_bytes: vaultBytes,
        vault_bytes_per_year: Math.round((vaultBytes * 365) / simDays),
        journal_bytes: journalBytes,
        history_query_p95_ms: Number(percentile(all, 95).toFixed(1)),
        history_day_p95_ms: Number((perView.day as number).toFixed(1)),
        history_week_p95_ms: Number((perView.week as number).toFixed(1)),
        history_month_p95_ms: Number((perView.month as number).toFixed(1)),
        history_year_p95_ms: Number((perView.year as number).toFixed(1)),
        startup_s: Number(startupS.toFixed(2)),
        startup_history_s: Number(historyReadyS.toFixed(2)),
        bills_verified: closedVerified.length,
        bills_expected: expected,
      },
    }),
  )
} catch (error) {
  console.error(`soak failed: ${(error as Error).stack}; node log: ${logFile}`)
  process.exitCode = 1
  failedRun = true
} finally {
  await cleanup()
}
