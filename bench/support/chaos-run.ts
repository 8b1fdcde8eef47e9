/**
 * The chaos harness (issue 15): one household node with its virtual meter at high speed, and many
 * seeded faults at random moments, each followed by the invariants that can be read while the node
 * runs; at the end the node is stopped and its vault read offline for the rest
 * (chaos-invariants.ts). One seed gives one sequence of fault kinds, phases and delays (the moments
 * the node reaches a phase still depend on the machine). Used by bench/chaos.ts and the system test
 * test/chaos/chaos.test.ts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Fault, startFaultyRpcProxy } from '../../test/support/faulty-rpc-proxy.ts'
import { scaledBudget } from '../../test/support/load.ts'
import { reservePort } from '../../test/support/ports.ts'
import {
  type BillRow,
  checkAcknowledged,
  checkBilledEnergy,
  checkBills,
  checkExportAgainstVault,
  parseExport,
  readVault,
} from './chaos-invariants.ts'
import { ChaosNode } from './chaos-node.ts'

export const FAULT_KINDS = [
  'kill-node',
  'rpc-faults',
  'kill-chain',
  'kill-prover',
  'disk-full',
  'clock-jump',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** Where a node kill is aimed: a log line the node writes as it enters that step (or a pay request). */
const KILL_PHASES: Record<string, RegExp | 'pay' | 'any'> = {
  ingest: 'any',
  sealing: /"msg":"period \d{4}-[^"]* closed/,
  proving: /"msg":"period assembled"/,
  submission: /"msg":"bill proved"/,
  payment: 'pay',
  backup: /"msg":"backing up a sealed period/,
}

export interface ChaosOptions {
  seed: number
  faults: number
  kinds?: readonly FaultKind[]
  meterSpeed?: number
  log?: (line: string) => void
  keep?: boolean
  /** Asked before each fault: true ends the faults there and goes on to the final checks. */
  endEarly?: () => boolean
  /** The longest the final wait for bills may last, however much they move (default 30 min). */
  drainCapMs?: number
}

export interface ChaosResult {
  seed: number
  faults: number
  byKind: Record<string, number>
  recordsLost: number
  /** Records the meter signed gone (lost with the meter's buffer, never acknowledged). */
  goneRecords: number
  violations: string[]
  restarts: number[]
  ackedSeq: number
  bills: number
  /** Seconds from the final start until its journal backlog was in the vault (`ingest` ok). */
  finalCatchUpSeconds: number
  /** Seconds the final wait took for the bills up to the cutoff to be verified (or found stuck). */
  drainSeconds: number
  dataDir: string
}

/** mulberry32: a small seeded generator, enough to replay a run's choices from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Status {
  meter: { ackedSeq: number | null; lastSeq: number | null }
  /** The ingestor's catch-up after a start (docs/api.md, Status). */
  ingest?: { state: 'catching-up' | 'ok'; unflushed: number }
  circuit: { intervalSeconds?: number }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.log(line))
  const random = seededRandom(options.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const between = (lo: number, hi: number) => lo + random() * (hi - lo)
  const kinds = options.kinds ?? FAULT_KINDS
  const root = await mkdtemp(join(tmpdir(), 'zkmeter-chaos-'))
  const dataDir = join(root, 'data')
  const controlDir = join(root, 'control')
  await mkdir(controlDir)
  const chainPort = await reservePort()
  const proxy = await startFaultyRpcProxy(`http://127.0.0.1:${chainPort}/`)
  const proxyPort = Number(new URL(proxy.url).port)

  // A fault aimed at a phase fires from the line handler itself, the moment the node logs it.
  let trigger: { re: RegExp; fire: () => void } | undefined
  const node = new ChaosNode({
    dataDir,
    controlDir,
    port: await reservePort(),
    chainPort,
    rpcProxyPort: proxyPort,
    meterSpeed: options.meterSpeed ?? 7200,
    // Kept with the data directory (BENCH_CHAOS_KEEP=1): the node's own account of the run.
    ...(options.keep ? { logFile: join(root, 'node.log') } : {}),
    onLine: (line) => {
      if (trigger?.re.test(line)) {
        const t = trigger
        trigger = undefined
        t.fire()
      }
    },
  })

  const violations: string[] = []
  const restarts: number[] = []
  const byKind: Record<string, number> = {}
  let maxAcked = -1
  let faultNo = 0
  let clockOffset = 0
  let drainSeconds = 0
  let finalCatchUpSeconds = 0
  const reported = new Set<string>()
  const violate = (what: string) => {
    // A broken state stays broken until fixed: count it once, at the fault that first showed it.
    if (reported.has(what)) return
    reported.add(what)
    const line = `fault ${faultNo} (seed ${options.seed}): ${what}`
    violations.push(line)
    log(`VIOLATION ${line}`)
  }

  const status = () => node.get<Status>('/api/status')
  const bills = async () => (await node.get<{ bills: BillRow[] }>('/api/bills')).bills
  const ledgerStarts = async () =>
    (await node.get<{ bills: { periodStart: number }[] }>('/api/utility/bills')).bills.map(
      (b) => b.periodStart,
    )

  /** Start (again) and time it to the first answer; a start slower than the budget is a violation. */
  const restart = async (why: string) => {
    // The machine's load as this start begins (another job may have started since the run began).
    const restartBudgetMs = scaledBudget(10_000)
    node.start()
    const seconds = await node.ready(120_000)
    restarts.push(seconds)
    log(`  answered ${seconds.toFixed(1)} s after its start (${why})`)
    if (seconds * 1000 > restartBudgetMs)
      violate(
        `the node took ${seconds.toFixed(1)} s to answer after ${why} (budget ${restartBudgetMs / 1000} s)`,
      )
  }

  const diskAlarmActive = async () =>
    (await node.get<{ alarms: { kind: string; active: boolean }[] }>('/api/alarms')).alarms.some(
      (a) => a.kind === 'disk-full' && a.active,
    )

  /** The acknowledged prefix never goes back, and the node moves past it again. */
  const checkProgress = async () => {
    const deadline = performance.now() + scaledBudget(30_000)
    for (;;) {
      const acked = (await status()).meter.ackedSeq
      if (acked !== null && acked < maxAcked) {
        violate(`acknowledged sequence went back from ${maxAcked} to ${acked}`)
        maxAcked = acked
      }
      if (acked !== null && acked > maxAcked) {
        log(`  acknowledged up to seq ${acked}`)
        maxAcked = acked
        return
      }
      if (performance.now() > deadline) {
        violate(`ingestion stuck at acknowledged seq ${acked} for ${scaledBudget(30_000) / 1000} s`)
        return
      }
      await sleep(200)
    }
  }

  const checkRunning = async () => {
    const list = await bills()
    for (const p of checkBills(list, await ledgerStarts())) violate(p)
    const csv = await node.get<string>('/api/export.csv')
    for (const p of checkBilledEnergy(parseExport(csv), list)) violate(p)
  }

  const killNodeAt = async (phase: string) => {
    const how = KILL_PHASES[phase] ?? 'any'
    const patience = scaledBudget(20_000)
    if (how === 'any') await sleep(between(200, 4000))
    else if (how === 'pay') {
      const unpaid = (await bills()).find((b) => b.status === 'verified')
      if (unpaid) {
        const paying = node.post(`/api/bills/${unpaid.id}/pay`).catch(() => undefined)
        await sleep(between(0, 300))
        void paying
      } else log('  no verified bill to pay: killing during ingest')
    } else {
      const fired = new Promise<boolean>((resolve) => {
        trigger = { re: how, fire: () => resolve(true) }
        setTimeout(() => resolve(false), patience)
      })
      // The kill is sent from the line handler's own turn (below), as close to the line as it gets.
      const hit = await fired
      trigger = undefined
      if (!hit) log(`  the node did not reach ${phase} within ${patience / 1000} s: killing anyway`)
    }
    await node.kill()
    await restart(`kill -9 during ${phase}`)
  }

  try {
    log(`seed ${options.seed}: ${options.faults} faults of ${kinds.join(', ')}; data in ${root}`)
    await restart('the first start')
    await checkProgress()
    for (faultNo = 1; faultNo <= options.faults; faultNo++) {
      if (options.endEarly?.()) {
        log(`ending early, after ${faultNo - 1} faults`)
        break
      }
      const kind = pick(kinds)
      byKind[kind] = (byKind[kind] ?? 0) + 1
      await sleep(between(500, 3000))
      if (!node.running) {
        violate(`the node stopped by itself before the fault:\n${node.lastOutput.slice(-1500)}`)
        await restart('its own stop')
      }
      if (kind === 'kill-node') {
        const phase = pick(Object.keys(KILL_PHASES))
        log(`fault ${faultNo}: kill -9 of the node during ${phase}`)
        await killNodeAt(phase)
      } else if (kind === 'rpc-faults') {
        const mix: Fault[] = ['reset', 'reset-after', '5xx', `delay:${Math.round(between(500, 5000))}`]
        const rate = between(0.2, 0.8)
        const windowMs = between(3000, 12_000)
        log(
          `fault ${faultNo}: chain RPC faults for ${(windowMs / 1000).toFixed(1)} s, ${(rate * 100).toFixed(0)} % of requests`,
        )
        const faultRandom = seededRandom(Math.floor(random() * 2 ** 32))
        proxy.plan = () =>
          faultRandom() < rate ? (mix[Math.floor(faultRandom() * mix.length)] as Fault) : 'pass'
        await sleep(windowMs)
        proxy.plan = () => 'pass'
      } else if (kind === 'kill-chain') {
        const [chain] = await node.childrenNamed('dev-chain-process')
        log(`fault ${faultNo}: kill -9 of the dev chain (${chain ?? 'not found'})`)
        if (chain !== undefined) {
          process.kill(chain, 'SIGKILL')
          // The node stops itself without its chain (app/chain.ts); a supervisor starts it again.
          const stopped = await Promise.race([
            node.whenExited().then(() => true),
            sleep(scaledBudget(60_000)).then(() => false),
          ])
          if (!stopped) {
            violate('the node kept running without its chain')
            await node.kill()
          }
          await restart('its chain was killed')
        }
      } else if (kind === 'kill-prover') {
        const fired = new Promise<boolean>((resolve) => {
          trigger = { re: KILL_PHASES.proving as RegExp, fire: () => resolve(true) }
          setTimeout(() => resolve(false), scaledBudget(20_000))
        })
        await fired
        trigger = undefined
        await sleep(between(0, 1500))
        const provers = await node.childrenNamed('prover-worker')
        log(`fault ${faultNo}: kill -9 of the prover child (${provers.join(',') || 'none running'})`)
        for (const pid of provers) process.kill(pid, 'SIGKILL')
      } else if (kind === 'disk-full') {
        const windowMs = between(2000, 10_000)
        log(`fault ${faultNo}: disk full for ${(windowMs / 1000).toFixed(1)} s`)
        await node.setFault('disk-full', '1')
        // The journal's next write fails: the resident must get the disk-full alarm meanwhile.
        const until = performance.now() + windowMs
        let alarmed = false
        while (performance.now() < until) {
          alarmed ||= await diskAlarmActive()
          await sleep(250)
        }
        alarmed ||= await diskAlarmActive()
        await node.setFault('disk-full', undefined)
        if (!alarmed) violate(`a full disk for ${(windowMs / 1000).toFixed(1)} s raised no disk-full alarm`)
      } else if (kind === 'clock-jump') {
        const jump = Math.round(between(-2, 2) * 86_400_000)
        log(`fault ${faultNo}: wall clock jumps ${(jump / 3_600_000).toFixed(1)} h`)
        clockOffset += jump
        await node.setFault('clock-offset-ms', String(clockOffset))
      }
      if (!node.running) {
        // Only its chain's death stops the node by design (app/chain.ts); anything else it must ride out.
        const words = node.lastOutput
          .split('\n')
          .filter((l) => /"level":"(error|fatal)"|Error/.test(l))
          .slice(-3)
        violate(`the node stopped by itself during ${kind}: ${words.join(' | ').slice(0, 800)}`)
        await node.kill()
        await restart(`its own stop after ${kind}`)
      }
      // A node that dies by itself meanwhile is a broken invariant (it must ride the fault out):
      // counted with its last words, started again, and the checks run once more.
      for (let attempt = 0; ; attempt++) {
        try {
          await checkProgress()
          await checkRunning()
          break
        } catch (error) {
          if (node.running || attempt > 0) throw error
          const words = node.lastOutput
            .split('\n')
            .filter((l) => /error|Error/.test(l))
            .slice(-3)
          violate(`the node died after ${kind}: ${words.join(' | ').slice(0, 600)}`)
          await node.kill()
          await restart(`its own death after ${kind}`)
        }
      }
    }

    // The end: let billing catch up, then compare everything with the vault.
    // The drain: the ledger takes a meter's bills one after the other (10-20 s each on a loaded
    // 2-core machine), so a backlog left by the faults takes minutes to clear. A bill is stuck only
    // if nothing moves: the wait goes on while bills up to the cutoff are recorded or verified, ends
    // as a violation after drainIdleMs without one, and after drainCapMs in all whatever happens.
    const drainIdleMs = scaledBudget(120_000)
    const drainCapMs = options.drainCapMs ?? 30 * 60_000
    log(
      `faults done: waiting for every closed period to be billed (while bills move; stuck after ${drainIdleMs / 1000} s without a change, at most ${drainCapMs / 60_000} min)`,
    )
    const cutoff = (await node.get<{ reading: { time: number } }>('/api/readings/latest')).reading.time
    const drainStart = performance.now()
    let billedDeadline = drainStart + drainIdleMs
    let lastState = ''
    let list: BillRow[] = []
    for (;;) {
      list = await bills()
      const open = list.filter((b) => b.periodEnd <= cutoff && b.status !== 'verified' && b.status !== 'paid')
      // Progress is a bill recorded or verified, not a retry (which would reset the wait for ever).
      const state = JSON.stringify(
        list
          .filter((b) => b.periodEnd <= cutoff)
          .map((b) => [b.periodStart, b.status === 'verified' || b.status === 'paid']),
      )
      if (state !== lastState) {
        lastState = state
        billedDeadline = Math.min(performance.now() + drainIdleMs, drainStart + drainCapMs)
      }
      // A period closed but without a bill yet (its seal or its bill record retried after a full
      // disk) is not in the list at all: wait for the bills to be contiguous up to the cutoff too.
      const unbilled = unbilledPeriods(list, cutoff)
      if (open.length === 0 && unbilled.length === 0) break
      // Behind a bill failed for good, every later one waits for ever: no use waiting (checkBills
      // has reported the failed one).
      // The ledger bills a meter one period after the other: nothing after it can be verified.
      const dead = open.find((b) => b.status === 'failed' && b.nextAttemptAt === null)
      if (dead !== undefined && open.every((b) => b.periodStart >= dead.periodStart)) {
        violate(`${open.length - 1} bills can never be verified behind a bill that failed for good`)
        break
      }
      if (performance.now() > billedDeadline) {
        const why =
          performance.now() >= drainStart + drainCapMs
            ? `still not verified when the ${drainCapMs / 60_000} min drain ended`
            : `no bill recorded or verified for ${drainIdleMs / 1000} s`
        for (const b of open)
          violate(
            `bill for the period from ${new Date(b.periodStart * 1000).toISOString()} stuck in ${b.status} (${why})`,
          )
        for (const start of unbilled)
          violate(`the period from ${new Date(start * 1000).toISOString()} closed but has no bill yet`)
        break
      }
      await sleep(500)
    }
    drainSeconds = (performance.now() - drainStart) / 1000
    log(`  drained in ${drainSeconds.toFixed(0)} s`)
    await checkProgress()
    const intervalSeconds = 900
    const liveExport = parseExport(await node.get<string>('/api/export.csv'))
    for (const p of checkBills(list, await ledgerStarts())) violate(p)
    await node.stop()
    const vault = await readVault(dataDir)
    const acked = checkAcknowledged(vault.records, maxAcked, vault.gone)
    for (const seq of acked.duplicated) violate(`record seq ${seq} is in the vault more than once`)
    if (acked.lost.length > 0)
      violate(
        `${acked.lost.length} acknowledged records are not in the vault: ${acked.lost.slice(0, 20).join(', ')}`,
      )
    for (const p of checkExportAgainstVault(liveExport, vault.records, intervalSeconds, cutoff))
      violate(`live export: ${p}`)
    // Every period the meter closed is billed: one the ingestor rejected never will be.
    for (const period of vault.periods) {
      if (period.status === 'rejected')
        violate(
          `period from ${new Date(period.periodStart * 1000).toISOString()} is never billed: ${period.reason}`,
        )
    }
    for (const period of vault.sealed) {
      if (period.periodEnd > cutoff) continue
      if (!list.some((b) => b.periodStart === period.periodStart))
        violate(`sealed period from ${new Date(period.periodStart * 1000).toISOString()} has no bill`)
    }
    // And after one more start: the history rebuilt from the vault.
    await restart('the final stop')
    // The node answers first and flushes the journal's backlog into the vault behind it: how long.
    const catchUpBegan = performance.now()
    while ((await status()).ingest?.state === 'catching-up') await sleep(200)
    finalCatchUpSeconds = restarts.at(-1) ?? 0
    finalCatchUpSeconds += (performance.now() - catchUpBegan) / 1000
    log(`  caught up with its journal ${finalCatchUpSeconds.toFixed(1)} s after its start`)
    const restartedExport = parseExport(await node.get<string>('/api/export.csv'))
    for (const p of checkExportAgainstVault(restartedExport, vault.records, intervalSeconds, cutoff))
      violate(`export after restart: ${p}`)
    for (const p of checkBilledEnergy(restartedExport, list)) violate(`after restart: ${p}`)
    await node.stop()
    const goneCount = vault.gone.reduce((n, [from, to]) => n + to - from + 1, 0)
    log(
      `the meter signed ${goneCount} records gone (${JSON.stringify(vault.gone)}); not acknowledged, not counted lost`,
    )
    return {
      seed: options.seed,
      goneRecords: goneCount,
      faults: faultNo - 1,
      byKind,
      recordsLost: acked.lost.length,
      violations,
      restarts,
      ackedSeq: maxAcked,
      bills: list.length,
      drainSeconds,
      finalCatchUpSeconds,
      dataDir,
    }
  } catch (error) {
    log(
      `chaos run failed at fault ${faultNo} (seed ${options.seed}): ${(error as Error).stack}\n${node.lastOutput.slice(-3000)}`,
    )
    throw error
  } finally {
    await node.kill()
    await proxy.close()
    if (!options.keep) await rm(root, { recursive: true, force: true })
  }
}

/**
 * Starts of the periods that closed by `cutoff` and have no bill, as far as the bills show them:
 * the holes between consecutive bills, and the periods after the last one (its length repeated).
 */
function unbilledPeriods(list: readonly BillRow[], cutoff: number): number[] {
  const sorted = [...list].sort((a, b) => a.periodStart - b.periodStart)
  const missing: number[] = []
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1] as BillRow
    if (before.periodEnd < (sorted[i] as BillRow).periodStart) missing.push(before.periodEnd)
  }
  const last = sorted.at(-1)
  if (last !== undefined) {
    // A first period may be short (it starts at registration): the later ones are whole days.
    const length = Math.max(86_400, last.periodEnd - last.periodStart)
    for (let start = last.periodEnd; start + length <= cutoff; start += length) missing.push(start)
  }
  return missing
}
