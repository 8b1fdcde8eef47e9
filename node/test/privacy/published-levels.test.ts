/**
 * The privacy view's "what each bill made public" (docs/privacy.md): GET /api/privacy says, per bill
 * on the ledger, its tariff and what the bill's energy and total reveal per price level.
 */
import { describe, expect, it } from 'vitest'
import type { BillRecord } from '../../src/billing/store.ts'
import { privacyRoutes } from '../../src/http/routes/privacy.ts'

const GWEI = 1_000_000_000n
const peak = Array.from({ length: 96 }, (_, s) => (s >= 68 && s < 84 ? 45n * GWEI : 20n * GWEI))

function bill(fields: Partial<BillRecord>): BillRecord {
  return {
    id: 'b1',
    meter: `0x${'ab'.repeat(20)}`,
    periodStart: 1_764_028_800,
    periodEnd: 1_764_028_800 + 28 * 86_400,
    startCounter: 0,
    endCounter: 10_000,
    commitment: '42',
    meterSignature: '0x',
    energyWh: 10_000,
    manifestCid: 'bafy',
    cidDigest: `0x${'00'.repeat(32)}`,
    status: 'verified',
    attempts: 0,
    createdAt: '',
    updatedAt: '',
    chainBillId: `0x${'11'.repeat(32)}`,
    ...fields,
  }
}

describe('what each bill made public', () => {
  it('gives the energy per level of a two-level tariff exactly, and nothing more for a flat one', async () => {
    const twoLevels = bill({
      tariffId: '3',
      tariffPrices: peak.map(String),
      total: String(7_000n * 20n * GWEI + 3_000n * 45n * GWEI),
    })
    const flat = bill({
      id: 'b2',
      tariffId: '4',
      tariffPrices: Array(96).fill('25000000000'),
      total: '250000000000000',
    })
    const routes = privacyRoutes({
      bills: { list: () => [twoLevels, flat], get: () => undefined },
      vault: {} as never,
      grants: { list: async () => [] } as never,
      mesh: undefined,
    })
    const privacy = (await routes.privacy({} as never)) as {
      published: { tariffId?: string; levels?: unknown[] }[]
    }
    expect(privacy.published[0]).toMatchObject({
      tariffId: '3',
      levels: [
        { price: '20000000000', hours: ['21:00–17:00'], minWh: '7000', maxWh: '7000', exact: true },
        { price: '45000000000', hours: ['17:00–21:00'], minWh: '3000', maxWh: '3000', exact: true },
      ],
    })
    expect(privacy.published[1]?.levels).toEqual([
      { price: '25000000000', hours: ['00:00–24:00'], minWh: '10000', maxWh: '10000', exact: true },
    ])
  })
})
