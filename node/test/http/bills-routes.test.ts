/**
 * POST /api/bills/:id/retry and the bill view's failure fields as docs/api.md documents them: the
 * household routes over a real biller and bill store, on a chain that never has a tariff (so a
 * bill fails for tariff-missing and a retry restarts it without reaching a ledger).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bill as BillView } from '#protocol/api/types.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import type { HouseholdContext } from '../../src/app/node.ts'
import { createAuthorizer } from '../../src/auth/authorize.ts'
import { openAuth } from '../../src/auth/service.ts'
import { type Biller, type BillingChain, createBiller } from '../../src/billing/biller.ts'
import { openDisplayCurrencyStore } from '../../src/billing/display-currency.ts'
import { type BillStore, openBillStore } from '../../src/billing/store.ts'
import { registerRoutes } from '../../src/http/routes.ts'
import { createHttpApi, type HttpApi, SseHub } from '../../src/http/server.ts'

class NotInThisTestError extends ZkMeterError {
  override name = 'NotInThisTestError'
}

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const METER = '0x1111111111111111111111111111111111111111'
let dir: string
let api: HttpApi
let url: string
let biller: Biller
let store: BillStore
/** The node's admin token (the CLI below reads it from the data dir, as it does from a real node's). */
let headers: { authorization: string }

const noTariffYet: BillingChain = {
  findTariff: async () => undefined,
  findSubmittedBill: async () => undefined,
  submitBill: async () => {
    throw new NotInThisTestError('no bill gets this far without a tariff')
  },
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-bills-api-'))
  const bills = await openBillStore(dir)
  store = bills
  biller = createBiller({
    store: bills,
    chain: noTariffYet,
    prover: {
      prove: async () => {
        throw new NotInThisTestError('nothing is proved without a tariff')
      },
    },
    inputs: {
      readingsFor: async () => {
        throw new NotInThisTestError('nothing is proved without a tariff')
      },
    },
    // One automatic retry 300 ms later: long enough that the second POST below finds it retrying.
    baseDelayMs: 300,
    maxAttempts: 2,
  })
  // As on a real node, every call needs a credential: the admin token the local CLI reads.
  const auth = await openAuth({ dataDir: dir })
  headers = { authorization: `Bearer ${auth.adminToken}` }
  // The routes touch only what they are asked about: bills here.
  const ctx = {
    auth,
    identity: { meter: { address: METER } },
    config: { dataDir: dir, dev: true },
    bills,
    biller,
    displayCurrency: await openDisplayCurrencyStore(dir),
    stream: new SseHub(),
  } as unknown as HouseholdContext
  api = createHttpApi({ authorize: createAuthorizer(auth) })
  registerRoutes(api, ctx)
  url = (await api.start()).url
})

afterAll(async () => {
  biller.stop()
  await biller.idle()
  await api.stop()
  await rm(dir, { recursive: true, force: true })
})

/** `zkmeter <args>` against this API, as a resident types it. */
function zkmeter(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { port } = new URL(url)
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--data-dir', dir, '--port', port],
      { timeout: scaledBudget(60_000) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout: String(stdout), stderr: String(stderr) })
      },
    )
  })
}

const post = (path: string) => fetch(`${url}${path}`, { method: 'POST', headers })

describe('POST /api/bills/:id/retry', () => {
  it('retries a failed bill (200), refuses it while it is not failed (409) and unknown ids (404)', async () => {
    const bill = await biller.addPeriod({
      meter: METER,
      periodStart: 1_764_000_000,
      periodEnd: 1_764_086_400,
      startCounter: 1000,
      endCounter: 2000,
      commitment: 42n,
      meterSignature: '0x00',
      manifestCid: 'bafy-test',
      cidDigest: `0x${'ab'.repeat(32)}`,
    })
    await biller.idle()
    const listed = ((await (await fetch(`${url}/api/bills`, { headers })).json()) as { bills: BillView[] })
      .bills
    expect(listed[0]).toMatchObject({
      id: bill.id,
      status: 'failed',
      retryable: true,
      nextAttemptAt: null,
      waitingFor: null,
      error: { name: 'TariffMissingError' },
      failure: { kind: 'tariff-missing', ledgerError: null, temporary: true, reprove: true },
    })
    expect(listed[0]?.failure?.advice).toMatch(/tariff/)

    const retried = await post(`/api/bills/${bill.id}/retry`)
    expect(retried.status).toBe(200)
    const body = (await retried.json()) as { bill: BillView }
    expect(body.bill).toMatchObject({
      id: bill.id,
      status: 'waiting-tariff',
      retryable: false,
      failure: null,
    })

    // Retrying by itself now (no tariff yet): the resident's retry is refused until it gives up.
    const again = await post(`/api/bills/${bill.id}/retry`)
    expect(again.status).toBe(409)
    const conflict = (await again.json()) as { error: string; message: string; details: { status: string } }
    expect(conflict.error).toBe('HttpError')
    expect(conflict.message).toMatch(/not failed/)
    expect(conflict.details.status).toBe('waiting-tariff')

    const unknown = await post('/api/bills/0xnope-1/retry')
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toBe('NotFoundError')
  })

  it('zkmeter retry <bill-id> prints the restarted bill, and the refusal by name', async () => {
    await biller.idle()
    const [failed] = ((await (await fetch(`${url}/api/bills`, { headers })).json()) as { bills: BillView[] })
      .bills
    expect(failed?.status).toBe('failed')
    const ok = await zkmeter(['retry', failed?.id as string])
    expect(ok.code, ok.stderr).toBe(0)
    expect((JSON.parse(ok.stdout) as { bill: BillView }).bill.status).toBe('waiting-tariff')
    // A bill recorded but not started (as after a crash, before resume): not failed, so refused.
    const pending = await store.insert({
      id: `${METER}-1764086400`,
      meter: METER,
      periodStart: 1_764_086_400,
      periodEnd: 1_764_172_800,
      startCounter: 2000,
      endCounter: 3000,
      commitment: '43',
      meterSignature: '0x00',
      energyWh: 1000,
      manifestCid: 'bafy-test-2',
      cidDigest: `0x${'cd'.repeat(32)}`,
    })
    const refused = await zkmeter(['retry', pending.id])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/409 bill .* is waiting-tariff, not failed: the node is working on it/)
    const usage = await zkmeter(['retry'])
    expect(usage.stderr).toMatch(/usage: zkmeter retry <bill-id>/)
  })
})
