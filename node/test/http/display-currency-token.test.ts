/**
 * The display currency converts Ether only (issue 17): in a home whose area bills in a token, the
 * routes refuse to set one, in words, and never report one (a rate to ETH put after a tUSD amount
 * would be a wrong figure). An Ether home sets and reads it as before.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDisplayCurrencyStore } from '../../src/billing/display-currency.ts'
import { DisplayCurrencyNotApplicableError, paymentRoutes } from '../../src/http/routes/payments.ts'

const TUSD = { assetId: 1, symbol: 'tUSD', decimals: 6, token: `0x${'ab'.repeat(20)}` as `0x${string}` }
const request = (body: unknown) => ({
  params: {},
  query: new URLSearchParams(),
  json: async () => body,
})

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('display currency and the home asset', () => {
  it('a token home refuses a display currency and reports none, even one stored before', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkm-display-token-'))
    const store = await openDisplayCurrencyStore(dir)
    await store.set({ currency: 'EUR', rate: '3000' }) // e.g. kept from when the home billed in Ether
    const routes = paymentRoutes({
      bills: { list: () => [], get: () => undefined },
      displayCurrency: store,
      asset: TUSD,
    })
    await expect(routes.setDisplayCurrency(request({ currency: 'EUR', rate: '2870.00' }))).rejects.toThrow(
      DisplayCurrencyNotApplicableError,
    )
    await expect(routes.setDisplayCurrency(request({ currency: 'EUR', rate: '2870.00' }))).rejects.toThrow(
      "this home's bills are in tUSD, a token, and are shown in it: a display currency converts Ether bills only",
    )
    expect(await routes.displayCurrency(request(undefined))).toEqual({ display: null })
    expect(await routes.payments(request(undefined))).toEqual({ payments: [], display: null })
  })

  it('an Ether home sets and reads it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkm-display-eth-'))
    const store = await openDisplayCurrencyStore(dir)
    const routes = paymentRoutes({ bills: { list: () => [], get: () => undefined }, displayCurrency: store })
    const set = await routes.setDisplayCurrency(request({ currency: 'EUR', rate: '2870.00' }))
    expect(set.display).toMatchObject({ currency: 'EUR', rate: '2870.00' })
    expect((await routes.displayCurrency(request(undefined))).display).toMatchObject({ currency: 'EUR' })
  })
})
