/**
 * GET /api/chain is read once per page load by every part of the app that needs it (money format,
 * setup banner, wallet payments), and a failed read does not stick.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'

const CHAIN = {
  chainId: '31337',
  chainIdHex: '0x7a69',
  chainName: 'zkmeter dev chain',
  rpcUrl: 'http://127.0.0.1:8545',
  ledger: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  payBillAbi: 'function payBill(bytes32 billId) payable',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
}

afterEach(() => {
  vi.unstubAllGlobals()
  vi.resetModules()
})

describe('chainInfo', () => {
  it('asks the node once for any number of callers', async () => {
    const fetch = vi.fn(async () => Response.json(CHAIN))
    vi.stubGlobal('fetch', fetch)
    const { chainInfo } = await import('../src/lib/chain-info.ts')
    const answers = await Promise.all([chainInfo(), chainInfo(), chainInfo()])
    expect(answers.map((a) => a.chainId)).toEqual(['31337', '31337', '31337'])
    expect((await chainInfo()).ledger).toBe(CHAIN.ledger)
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('asks again after a failed read instead of keeping the error', async () => {
    const fetch = vi
      .fn()
      .mockImplementationOnce(async () => Response.json({ error: 'ChainUnavailableError' }, { status: 503 }))
      .mockImplementation(async () => Response.json(CHAIN))
    vi.stubGlobal('fetch', fetch)
    const { chainInfo } = await import('../src/lib/chain-info.ts')
    await expect(chainInfo()).rejects.toThrow()
    expect((await chainInfo()).chainId).toBe('31337')
    expect(fetch).toHaveBeenCalledTimes(2)
  })
})
