/**
 * Crash safety of the resident's retry (issue 3): a billing process (retry-child.ts: the real
 * biller, store, prover and ledger over JSON-RPC) is killed with SIGKILL while the retried bill is
 * being proved, and again after its submission was mined but before `verified` was saved. After
 * the restarts the bill is verified exactly once: one bill on the ledger for the period, the
 * node's record adopting it rather than submitting again.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { priceCurve } from '../../../contracts/test/bills.ts'
import { meterKey, startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { type JsonRpcServerHandle, serveJsonRpc } from '../../../contracts/ts/chain.ts'
import { deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import type { BillRecord } from '../../src/billing/store.ts'
import { MIDNIGHT, N, REGISTERED_AT, SLOTS, START_COUNTER } from './fixtures.ts'

const CHILD = fileURLToPath(new URL('./retry-child.ts', import.meta.url))
const METER = 'crash-retry'

let env: TestEnv
let rpc: JsonRpcServerHandle
let utility: LedgerClient
let dataDir: string
const children = new Set<ChildProcess>()

beforeAll(async () => {
  env = await startTestEnv()
  utility = await deployLedger(env.signers[0] as never, env.artifacts, { slots: SLOTS, maxIntervals: N })
  rpc = await serveJsonRpc(env.chain.provider, { host: '127.0.0.1', port: 0 })
  dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-retry-crash-'))
}, scaledBudget(120_000))

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await rpc?.close()
  await env?.chain.close()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

interface ChildEvent {
  event: string
  id?: string
  status?: string
  kind?: string
}

/**
 * Runs the billing process until it is idle, or until `killWhen` matches an event: then SIGKILL.
 * Resolves with what it printed and how it ended.
 */
function runChild(
  args: Record<string, unknown>,
  killWhen?: (e: ChildEvent) => boolean,
): Promise<{ events: ChildEvent[]; killed: boolean }> {
  const child = spawn(
    process.execPath,
    [CHILD, JSON.stringify({ rpcUrl: rpc.url, ledger: utility.address, dataDir, meter: METER, ...args })],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  const events: ChildEvent[] = []
  let stderr = ''
  let buffer = ''
  let killed = false
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000)
  })
  child.stdout?.on('data', (d) => {
    buffer += String(d)
    let newline = buffer.indexOf('\n')
    while (newline !== -1) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
      const event = JSON.parse(line) as ChildEvent
      events.push(event)
      if (!killed && killWhen?.(event)) {
        killed = true
        child.kill('SIGKILL')
      }
    }
  })
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      children.delete(child)
      if (killed && signal === 'SIGKILL') resolve({ events, killed })
      else if (code === 0 && !killWhen) resolve({ events, killed })
      else reject(new Error(`billing process ended with ${signal ?? code} (killed: ${killed}):\n${stderr}`))
    })
  })
}

async function stored(): Promise<BillRecord[]> {
  return (JSON.parse(await readFile(join(dataDir, 'bills.json'), 'utf8')) as { bills: BillRecord[] }).bills
}

describe('kill -9 during a retry', () => {
  it(
    'completes the retried bill exactly once',
    async () => {
      const meter = meterKey(METER)
      await utility.registerMeter({
        meter: meter.address,
        household: env.signers[1]?.address as string,
        areaId: 1,
        startTime: REGISTERED_AT,
        startCounter: START_COUNTER,
      })

      // No tariff yet: the bill fails once its automatic attempts are used up.
      await runChild({ mode: 'add', maxAttempts: 2 })
      const [failed] = await stored()
      expect(failed).toMatchObject({ status: 'failed', failure: { kind: 'tariff-missing' } })
      const id = (failed as BillRecord).id

      await utility.publishTariff({
        effectiveFrom: MIDNIGHT,
        prices: priceCurve(10n ** 12n, 2n * 10n ** 12n, SLOTS),
      })

      // Retried, killed mid-proof: the restart point was saved before the work began.
      const first = await runChild(
        { mode: 'retry', billId: id },
        (e) => e.event === 'bill' && e.status === 'proving',
      )
      expect(first.killed).toBe(true)
      expect((await stored())[0]?.status).toBe('proving')
      expect((await stored())[0]?.retries).toBe(1)

      // Resumed, killed after the ledger took the bill but before `verified` was saved.
      const second = await runChild({ mode: 'resume', hangAfterSubmit: true }, (e) => e.event === 'submitted')
      expect(second.killed).toBe(true)
      expect((await stored())[0]?.status).toBe('submitting')
      const onChain = await utility.bills({ meter: meter.address })
      expect(onChain).toHaveLength(1)

      // Resumed again: the bill the ledger holds is adopted, not submitted a second time.
      const third = await runChild({ mode: 'resume' })
      expect(third.events.some((e) => e.event === 'idle')).toBe(true)
      const [done] = await stored()
      expect(done).toMatchObject({ id, status: 'verified', chainBillId: onChain[0]?.billId, retries: 1 })
      expect(done?.submitTx).toBeUndefined()
      expect(done?.failure).toBeUndefined()
      expect(await utility.bills({ meter: meter.address })).toHaveLength(1)
      expect(await stored()).toHaveLength(1)
    },
    scaledBudget(180_000),
  )
})
