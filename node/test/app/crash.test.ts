/**
 * Crash safety of billing (issue 3): the real node (`zkmeter start`) in a child process is killed
 * with SIGKILL while a bill is being proved or submitted, then restarted on the same data
 * directory. Every bill must still complete — none failed, exactly one bill per period on the
 * ledger, no duplicate in bills.json. Ingestion crashes are node/test/ingest/crash.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { devAccount } from '../../../contracts/ts/chain.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { fetchAsAdmin } from '../../../test/support/node-auth.ts'
import { reservePort as freePort } from '../../../test/support/ports.ts'
import { runUtility } from '../../src/utility/cli.ts'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

interface BillView {
  id: string
  periodStart: number
  status: string
  error: unknown
  submitTx: string | null
}

let dataDir: string | undefined
let child: ChildProcess | undefined
let output = ''

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function startNode(dir: string, port: number): Promise<void> {
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'start',
      '--data-dir',
      dir,
      '--port',
      String(port),
      '--chain-port',
      '0',
      '--mqtt-port',
      '0',
      '--meter-speed',
      '14400',
      // One live sample per interval: at 14,400× a sample a minute is 240 signed records a second,
      // which a busy machine's node ingests more slowly than they come (its API then answered in
      // seconds). This test is about bills, not live telemetry.
      '--meter-live-period',
      '900',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child = proc
  // Kept for the failure message: what the node said before it stopped answering.
  proc.stdout?.on('data', (d) => {
    output = (output + String(d)).slice(-4000)
  })
  proc.stderr?.on('data', (d) => {
    output = (output + String(d)).slice(-4000)
  })
  const deadline = Date.now() + scaledBudget(60_000)
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode}:\n${output}`)
    try {
      // With the admin token this start wrote (a restarted node has a new one: read every time).
      const res = await fetchAsAdmin(dir, `http://127.0.0.1:${port}/api/status`, {
        signal: AbortSignal.timeout(2000),
      })
      if (res.ok) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`node did not answer /api/status within 60 s:\n${output}`)
    await sleep(200)
  }
}

async function killNode(signal: NodeJS.Signals): Promise<void> {
  const proc = child
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  proc.kill(signal)
  await exited
  child = undefined
}

async function bills(port: number): Promise<BillView[]> {
  const res = await fetchAsAdmin(dataDir as string, `http://127.0.0.1:${port}/api/bills`, {
    signal: AbortSignal.timeout(scaledBudget(5000)),
  })
  return ((await res.json()) as { bills: BillView[] }).bills
}

afterAll(async () => {
  await killNode('SIGKILL')
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('kill -9 during bill submission', () => {
  it(
    'restarts, completes every bill once and duplicates nothing',
    async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-bill-crash-'))
      const port = await freePort()
      const killedIn: string[] = []
      // Bills that existed at a kill: each must complete after the restart.
      const atKill = new Set<string>()
      let submittingId: string | undefined

      // A submission is one transaction on an automining chain (tens of ms) after seconds of proving:
      // catching `submitting` is luck, so each round waits a while for it and otherwise kills during
      // `proving`. Four rounds at most.
      for (let round = 0; round < 4 && !killedIn.includes('submitting'); round++) {
        await startNode(dataDir, port)
        // Quiet-machine figures, stretched by the load (a busy machine proves and ingests slower).
        const patience = Date.now() + scaledBudget(15_000)
        const giveUp = patience + scaledBudget(30_000)
        let caught: string | undefined
        while (caught === undefined) {
          const list = await bills(port)
          for (const b of list) atKill.add(b.id)
          // Round 0 kills mid-proof on purpose (the proof is lost and redone); later rounds aim for
          // the submission.
          if (round === 0 && list.some((b) => b.status === 'proving')) caught = 'proving'
          else if (round > 0 && list.some((b) => b.status === 'submitting')) {
            caught = 'submitting'
            submittingId = list.find((b) => b.status === 'submitting')?.id
          } else if (Date.now() > patience && list.some((b) => b.status === 'proving')) caught = 'proving'
          else if (Date.now() > giveUp) throw new Error(`no bill was ever proving:\n${output}`)
          else await sleep(50)
        }
        await killNode('SIGKILL')
        killedIn.push(caught)
      }
      // Which states the node died in (proving always happens; submitting when the timing allows).
      expect(killedIn.length).toBeGreaterThan(0)
      expect(killedIn.every((s) => s === 'proving' || s === 'submitting')).toBe(true)

      // Restart: every bill that existed at the last kill (and any closed since) completes.
      await startNode(dataDir, port)
      const deadline = Date.now() + scaledBudget(45_000)
      let list: BillView[] = []
      for (;;) {
        list = await bills(port)
        const failed = list.filter((b) => b.status === 'failed')
        expect(failed, JSON.stringify(failed)).toEqual([])
        // New periods keep closing at 14400× time; those after the restart may still be in flight.
        const complete = (b: BillView) => b.status === 'verified' || b.status === 'paid'
        if ([...atKill].every((id) => list.some((b) => b.id === id && complete(b)))) break
        if (Date.now() > deadline)
          throw new Error(`bills did not complete: ${JSON.stringify(list)}\n${output}`)
        await sleep(250)
      }
      const done = list.filter((b) => b.status === 'verified' || b.status === 'paid')
      expect(atKill.size).toBeGreaterThan(0)
      expect(done.length).toBeGreaterThanOrEqual(atKill.size)
      // No submitTx on the bill killed in `submitting` = the chain already held it and the restart
      // adopted it instead of submitting again; with one, the transaction had not gone out yet.
      const resumed = list.find((b) => b.id === submittingId)
      const how = resumed?.submitTx ? 'submitted after the restart' : 'found on-chain after the restart'
      console.info(
        `killed the node while a bill was: ${killedIn.join(', ')}; ${atKill.size} bills then, all completed` +
          (resumed ? `; the one killed in submitting was ${how}` : ''),
      )

      const onChain = (
        (await (
          await fetchAsAdmin(dataDir as string, `http://127.0.0.1:${port}/api/utility/bills`)
        ).json()) as {
          bills: { periodStart: number; billId: string }[]
        }
      ).bills
      const starts = onChain.map((b) => b.periodStart)
      expect(new Set(starts).size).toBe(starts.length)
      // Every completed bill is on the ledger, and the ledger holds nothing the node does not know.
      for (const bill of done) expect(starts).toContain(bill.periodStart)
      for (const start of starts) expect(list.map((b) => b.periodStart)).toContain(start)

      // The utility's view of the same ledger, through `zkmeter utility bills` on the node's chain
      // (its entry point, in process: node/test/utility/cli.test.ts runs the CLI as a child): the
      // same bills, totals only. Reading needs no particular key; dev account 0 stands in.
      const status = (await (
        await fetchAsAdmin(dataDir as string, `http://127.0.0.1:${port}/api/status`)
      ).json()) as {
        chain: { rpcUrl: string; ledger: string }
      }
      const utilityView = await runUtility(
        {
          positionals: ['bills'],
          flags: new Map([
            ['rpc-url', status.chain.rpcUrl],
            ['ledger', status.chain.ledger],
          ]),
        },
        { ...process.env, ZKMETER_UTILITY_KEY: devAccount(0).privateKey },
      )
      const seen = JSON.parse(utilityView) as { count: number; bills: { billId: string; total: string }[] }
      expect(seen.count).toBeGreaterThanOrEqual(onChain.length)
      for (const b of onChain) expect(seen.bills.map((x) => x.billId)).toContain(b.billId)
      expect(seen.bills.every((b) => /^\d+$/.test(b.total))).toBe(true)

      await killNode('SIGTERM')
      const stored = JSON.parse(await readFile(join(dataDir, 'bills.json'), 'utf8')) as {
        bills: { id: string; periodStart: number; status: string; chainBillId?: string }[]
      }
      const ids = stored.bills.map((b) => b.id)
      expect(new Set(ids).size).toBe(ids.length)
      const periods = stored.bills.map((b) => b.periodStart)
      expect(new Set(periods).size).toBe(periods.length)
      expect(stored.bills.filter((b) => b.status === 'failed')).toEqual([])

      // The narrowest window — killed after the submission was mined, before `verified` was saved —
      // is too short to hit from outside, so put the disk in that state: the verified bill back to
      // `submitting` (its proof kept), the ledger holding it. The restart must adopt the on-chain
      // bill, not submit a second one.
      const target = stored.bills.find((b) => atKill.has(b.id) && b.status === 'verified') as
        | (Record<string, unknown> & { id: string; chainBillId: string })
        | undefined
      expect(target, 'a bill from before the kills is verified').toBeDefined()
      const rewound = stored.bills.map((b) => {
        if (b.id !== target?.id) return b
        const { chainBillId: _c, submitTx: _t, ...rest } = b as Record<string, unknown>
        return { ...rest, status: 'submitting' }
      })
      await writeFile(join(dataDir, 'bills.json'), JSON.stringify({ ...stored, bills: rewound }))
      await startNode(dataDir, port)
      const adopted = await (async () => {
        const until = Date.now() + 30_000
        for (;;) {
          const bill = (await bills(port)).find((b) => b.id === target?.id)
          if (bill && bill.status !== 'submitting') return bill as BillView & { chainBillId: string | null }
          if (Date.now() > until) throw new Error(`bill stayed submitting:\n${output}`)
          await sleep(100)
        }
      })()
      expect(adopted.status).toBe('verified')
      expect(adopted.chainBillId).toBe(target?.chainBillId)
      expect(adopted.submitTx).toBeNull()
      const after = (
        (await (
          await fetchAsAdmin(dataDir as string, `http://127.0.0.1:${port}/api/utility/bills`)
        ).json()) as {
          bills: { periodStart: number }[]
        }
      ).bills.map((b) => b.periodStart)
      expect(new Set(after).size).toBe(after.length)
      expect(after.filter((p) => p === adopted.periodStart)).toHaveLength(1)
      await killNode('SIGTERM')
    },
    scaledBudget(150_000),
  )
})

/**
 * The moment the virtual meter closes a period (its "period … closed" line: the close is signed,
 * persisted and handed to MQTT) the node is killed, as bench:chaos's `sealing` fault does; the node
 * may have the close journaled, the period sealed in the vault, its bill recorded, or none of these.
 * After the restart that period must be sealed and billed exactly once, and the ledger hold it once
 * (bench:chaos seed 515 once ended with such a period sealed and never billed: issue 15).
 */
describe('kill -9 as the meter closes a period', () => {
  it(
    'seals and bills the period once after the restart',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'zkmeter-seal-crash-'))
      // The test before is done with its directory (afterAll removes the last one only).
      if (dataDir) await rm(dataDir, { recursive: true, force: true })
      dataDir = dir
      const port = await freePort()
      const killedAfter: number[] = []
      for (let round = 0; round < 2; round++) {
        await startNode(dir, port)
        const proc = child as ChildProcess
        const closed = new Promise<number>((resolve, reject) => {
          let partial = ''
          const onData = (data: Buffer) => {
            const lines = (partial + String(data)).split('\n')
            partial = lines.pop() ?? ''
            for (const line of lines) {
              if (!/"msg":"period [^"]* closed/.test(line)) continue
              // Killed from the line's own turn, as close to the close as it gets from outside.
              proc.kill('SIGKILL')
              resolve((JSON.parse(line) as { periodStart: number }).periodStart)
              return
            }
          }
          proc.stderr?.on('data', onData)
          proc.stdout?.on('data', onData)
          proc.once('exit', () => reject(new Error(`the node exited before a period closed:\n${output}`)))
        })
        killedAfter.push(await closed)
        await new Promise<void>((resolve) =>
          proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve()),
        )
        child = undefined
      }

      await startNode(dir, port)
      const complete = (b: BillView) => b.status === 'verified' || b.status === 'paid'
      const deadline = Date.now() + scaledBudget(90_000)
      let list: BillView[] = []
      for (;;) {
        list = await bills(port)
        expect(list.filter((b) => b.status === 'failed')).toEqual([])
        if (killedAfter.every((start) => list.some((b) => b.periodStart === start && complete(b)))) break
        if (Date.now() > deadline)
          throw new Error(
            `the periods closed at the kills (${killedAfter.join(', ')}) were not billed: ${JSON.stringify(list)}\n${output}`,
          )
        await sleep(250)
      }
      const starts = list.map((b) => b.periodStart)
      expect(new Set(starts).size).toBe(starts.length)
      const onChain = (
        (await (await fetchAsAdmin(dir, `http://127.0.0.1:${port}/api/utility/bills`)).json()) as {
          bills: { periodStart: number }[]
        }
      ).bills.map((b) => b.periodStart)
      expect(new Set(onChain).size).toBe(onChain.length)
      for (const start of killedAfter) expect(onChain.filter((s) => s === start)).toHaveLength(1)
      await killNode('SIGTERM')
    },
    scaledBudget(240_000),
  )
})
