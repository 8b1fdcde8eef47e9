import { appendFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BrowserProvider, Wallet } from 'ethers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type DevChain, startDevChain } from '../../../contracts/ts/chain.ts'
import { openJournaledProvider, UnjournaledWriteError } from '../../src/chain/journaled-provider.ts'

let dir: string
const chains: DevChain[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-journal-'))
})
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close()
  await rm(dir, { recursive: true, force: true })
})

async function session() {
  const chain = await startDevChain({ accounts: 2 })
  chains.push(chain)
  const provider = await openJournaledProvider(chain.provider, join(dir, 'chain.jsonl'))
  const ethers = new BrowserProvider(provider, undefined, { cacheTimeout: -1 })
  const wallet = new Wallet((chain.accounts[0] as { privateKey: string }).privateKey, ethers)
  return { chain, provider, ethers, wallet }
}

// A contract whose runtime code returns 42 for any call: PUSH1 42, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN
const RUNTIME = '602a60005260206000f3'
const INIT = `0x${'600a600c600039600a6000f3'}${RUNTIME}`

describe('journaled dev chain', () => {
  it('restores balances, nonces and contracts after a restart by replaying raw transactions', async () => {
    const first = await session()
    const to = '0x000000000000000000000000000000000000dEaD'
    await (await first.wallet.sendTransaction({ to, value: 12345n })).wait()
    const deploy = await first.wallet.sendTransaction({ data: INIT })
    const receipt = await deploy.wait()
    const contract = receipt?.contractAddress as string
    expect(await first.ethers.getCode(contract)).toBe(`0x${RUNTIME}`)
    await first.provider.close()
    await first.chain.close()

    const second = await session()
    expect(second.provider.replayed).toEqual({ total: 2, refused: 0 })
    expect(await second.ethers.getBalance(to)).toBe(12345n)
    expect(await second.ethers.getCode(contract)).toBe(`0x${RUNTIME}`)
    expect(await second.ethers.getTransactionCount(second.wallet.address)).toBe(2)
    expect((await second.ethers.getTransactionReceipt(deploy.hash))?.status).toBe(1)
    await second.provider.close()
  })

  it('ignores a torn last line and skips transactions the chain refuses again', async () => {
    const first = await session()
    await (await first.wallet.sendTransaction({ to: first.wallet.address, value: 1n })).wait()
    await first.provider.close()
    await appendFile(join(dir, 'chain.jsonl'), `{"raw":"0x02f8"}\n{"raw":"0xdeadbe`)
    const second = await session()
    expect(second.provider.replayed).toEqual({ total: 2, refused: 1 })
    expect(await second.ethers.getTransactionCount(second.wallet.address)).toBe(1)
    await second.provider.close()
  })

  it('refuses writes that could not be replayed', async () => {
    const { provider, chain } = await session()
    await expect(
      provider.request({ method: 'eth_sendTransaction', params: [{ from: chain.accounts[0]?.address }] }),
    ).rejects.toBeInstanceOf(UnjournaledWriteError)
    await expect(provider.request({ method: 'evm_mine', params: [] })).rejects.toThrow(
      /eth_sendRawTransaction/,
    )
    expect(await provider.request({ method: 'eth_chainId', params: [] })).toBe('0x7a69')
    await provider.close()
  })
})
