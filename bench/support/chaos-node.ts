/**
 * One household node as `npm start` runs it (the bundle, its V8 flags), started, killed and started
 * again on the same data directory and ports, as a supervisor (systemd's Restart=always) would: the
 * chaos harness's subject. The in-process faults are in chaos-preload.ts, loaded with --import and
 * switched through files in `controlDir`. Lines the node logs are offered to `onLine` as they come,
 * so a fault can strike the moment the node says it entered a step.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaledBudget } from '../../test/support/load.ts'
import { fetchAsAdmin } from '../../test/support/node-auth.ts'
import { BUNDLE, NODE_RUN_FLAGS } from '../../tools/build-node.mjs'

const PRELOAD = fileURLToPath(new URL('./chaos-preload.ts', import.meta.url))

export class ChaosNodeError extends Error {
  override name = 'ChaosNodeError'
}

export interface ChaosNodeOptions {
  dataDir: string
  controlDir: string
  port: number
  chainPort: number
  /** The fault proxy's port: the node's requests to its chain go there. */
  rpcProxyPort: number
  meterSpeed: number
  /** Every line the node writes (stdout and stderr), as it comes. */
  onLine: (line: string) => void
  /** A file that gets every line the node writes, across its starts (to trace a run afterwards). */
  logFile?: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The child processes of `pid` (Linux /proc), with their command lines. */
export async function childProcesses(pid: number): Promise<{ pid: number; cmd: string }[]> {
  const found: { pid: number; cmd: string }[] = []
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    // Field 4 is the parent; the command name (field 2) may hold spaces, so count from its ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid !== pid) continue
    const cmd = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ')
    found.push({ pid: Number(entry), cmd })
  }
  return found
}

export class ChaosNode {
  readonly api: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private tail = ''
  private readonly options: ChaosNodeOptions
  constructor(options: ChaosNodeOptions) {
    this.options = options
    this.api = `http://127.0.0.1:${options.port}`
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Whether the node's process is running (it may stop by itself: its chain gone, a fatal error). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** The node's last few kB of output, for a failure message. */
  get lastOutput(): string {
    return this.tail
  }

  start(): void {
    const o = this.options
    const child = spawn(
      process.execPath,
      [
        ...NODE_RUN_FLAGS,
        '--import',
        PRELOAD,
        BUNDLE,
        'start',
        '--data-dir',
        o.dataDir,
        '--port',
        String(o.port),
        '--chain-port',
        String(o.chainPort),
        '--mqtt-port',
        '0',
        '--meter-speed',
        String(o.meterSpeed),
        // One live sample per interval (as bench:soak): the faults, not the ingest rate, are the
        // point, and a busy shared machine falls behind a meter sending 16 records per interval.
        '--meter-live-period',
        '900',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          CHAOS_CONTROL_DIR: o.controlDir,
          CHAOS_DATA_DIR: o.dataDir,
          CHAOS_CHAIN_PORT: String(o.chainPort),
          CHAOS_RPC_PROXY_PORT: String(o.rpcProxyPort),
        },
      },
    )
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
    let partial = ''
    const onData = (data: Buffer) => {
      const text = partial + String(data)
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        this.tail = `${this.tail}${line}\n`.slice(-6000)
        if (o.logFile !== undefined) appendFileSync(o.logFile, `${line}\n`)
        o.onLine(line)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
  }

  /** Seconds from now until /api/status answers 200; throws after `timeoutMs` or if the node exits. */
  async ready(timeoutMs: number): Promise<number> {
    const since = performance.now()
    for (;;) {
      const ok = await fetchAsAdmin(this.options.dataDir, `${this.api}/api/status`, {
        signal: AbortSignal.timeout(2000),
      }).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) return (performance.now() - since) / 1000
      if (!this.running) throw new ChaosNodeError(`the node exited during its start:\n${this.tail}`)
      if (performance.now() - since > timeoutMs)
        throw new ChaosNodeError(`the node did not answer within ${timeoutMs} ms:\n${this.tail}`)
      await sleep(50)
    }
  }

  /** GET with the admin token, retried for up to `patienceMs` while the node is busy or restarting. */
  async get<T>(path: string, patienceMs = scaledBudget(30_000)): Promise<T> {
    const deadline = performance.now() + patienceMs
    for (;;) {
      try {
        const res = await fetchAsAdmin(this.options.dataDir, `${this.api}${path}`, {
          signal: AbortSignal.timeout(Math.max(1000, Math.min(20_000, patienceMs))),
        })
        if (!res.ok) throw new ChaosNodeError(`GET ${path}: ${res.status} ${await res.text()}`)
        return (path.endsWith('.csv') ? await res.text() : await res.json()) as T
      } catch (error) {
        if (!this.running || performance.now() > deadline) throw error
        await sleep(250)
      }
    }
  }

  async post(path: string): Promise<Response> {
    return fetchAsAdmin(this.options.dataDir, `${this.api}${path}`, {
      method: 'POST',
      signal: AbortSignal.timeout(20_000),
    })
  }

  /** kill -9 of the node (its chain and prover children die with their IPC channel). */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child?.kill('SIGKILL')
    await this.exited
    // The chain and prover children exit when their IPC channel closes; wait, so the next start
    // does not find the chain's port still held.
    await this.childrenGone()
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 60_000): Promise<void> {
    if (!this.running) return
    this.child?.kill('SIGTERM')
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
    await this.childrenGone()
  }

  /** Resolves once the process has exited, whoever ended it. */
  whenExited(): Promise<void> {
    return this.exited
  }

  private lastPid: number | undefined
  private async childrenGone(): Promise<void> {
    const pid = this.child?.pid
    if (pid === undefined) return
    this.lastPid = pid
    // Orphans are re-parented: find them by their command line naming this data directory.
    const deadline = performance.now() + 30_000
    while (performance.now() < deadline) {
      const alive = await orphansOf(this.options.dataDir)
      if (alive.length === 0) return
      await sleep(100)
    }
    for (const p of await orphansOf(this.options.dataDir)) process.kill(p, 'SIGKILL')
  }

  /** The node's child processes whose command line contains `marker`. */
  async childrenNamed(marker: string): Promise<number[]> {
    const pid = this.child?.pid ?? this.lastPid
    if (pid === undefined) return []
    return (await childProcesses(pid)).filter((c) => c.cmd.includes(marker)).map((c) => c.pid)
  }

  /** Sets or clears an in-process fault (chaos-preload.ts). */
  async setFault(name: 'disk-full' | 'clock-offset-ms', value: string | undefined): Promise<void> {
    const file = join(this.options.controlDir, name)
    if (value === undefined) await rm(file, { force: true })
    else await writeFile(file, value)
  }
}

/** The dev chain processes still running for `dataDir` (a chain outlives its node by a moment). */
async function orphansOf(dataDir: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    const cmd = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (cmd.some((arg) => arg.includes('dev-chain-process')) && cmd.includes(dataDir))
      found.push(Number(entry))
  }
  return found
}
