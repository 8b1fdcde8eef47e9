/**
 * The embedded development chain: Hardhat 3's EDR simulator in this process, as an EIP-1193 provider
 * with funded accounts. Used by the tests, the gas benchmark and the household node's default
 * (the node serves it on 127.0.0.1:8545 with json-rpc-server.ts). For a real chain use RPC_URL instead.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { JsonRpcProvider, type Network } from 'ethers'
import { addressOfPrivateKey, bytesToHex } from '#protocol/eip712.ts'
import type { Eip1193Provider } from '#protocol/eip1193.ts'
import { InvalidInputError } from '#protocol/errors.ts'

/** The EIP-1193 surface everything here needs (Hardhat's provider, a browser wallet, ...). */
export type { Eip1193Provider }

export interface DevAccount {
  address: `0x${string}`
  /** Development key: derived from a public label, so anyone can spend on this chain. Never use elsewhere. */
  privateKey: `0x${string}`
}

export interface DevChain {
  provider: Eip1193Provider
  chainId: bigint
  accounts: readonly DevAccount[]
  close(): Promise<void>
}

export interface DevChainOptions {
  /** Chain id of the simulated chain (default 31337, Hardhat's). */
  chainId?: number
  /** Number of funded accounts (default 10). */
  accounts?: number
  /** Balance of each account in wei (default 10,000 ether). */
  balanceWei?: bigint
  /** Timestamp of the genesis block (default DEV_GENESIS_TIME); blocks after it advance in real time. */
  genesisTime?: Date
}

/**
 * 2020-01-01T00:00:00Z: the dev chain's clock starts here, years behind the wall clock, because the
 * meters on it (the virtual meter, test fixtures) run on their own simulated clocks that start at or
 * near today and run ahead. A tariff must be published ahead of the periods it prices
 * (ZkMeterLedger.tariffNotice, docs/privacy.md): with the chain's clock behind every simulated
 * period, a tariff published now on the dev chain is ahead of all of them, as it would be in
 * production where the chain and the meters share real time.
 */
export const DEV_GENESIS_TIME = new Date('2020-01-01T00:00:00Z')

const DEFAULT_BALANCE = 10_000n * 10n ** 18n

/** Deterministic, publicly known development keys: keccak256("zkmeter/dev-account/<i>"). */
export function devAccount(index: number): DevAccount {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new InvalidInputError(`dev account index must be a non-negative integer, got ${index}`)
  }
  const key = keccak_256(new TextEncoder().encode(`zkmeter/dev-account/${index}`))
  return { address: addressOfPrivateKey(key), privateKey: bytesToHex(key) }
}

/** Starts an in-process EDR chain (automining, Osaka rules) with funded development accounts. */
export async function startDevChain(options: DevChainOptions = {}): Promise<DevChain> {
  const chainId = options.chainId ?? 31337
  const count = options.accounts ?? 10
  const balance = options.balanceWei ?? DEFAULT_BALANCE
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidInputError(`chainId must be a positive integer, got ${String(options.chainId)}`)
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > 1000) {
    throw new InvalidInputError(`accounts must be an integer in [1, 1000], got ${String(options.accounts)}`)
  }
  if (typeof balance !== 'bigint' || balance < 0n) {
    throw new InvalidInputError('balanceWei must be a non-negative bigint')
  }
  const accounts = Array.from({ length: count }, (_, i) => devAccount(i))
  // Loaded here, not at the top: the household node imports this module for devAccount and
  // jsonRpcProvider, and must not carry Hardhat (its dev chain runs in a separate process).
  const { createHardhatRuntimeEnvironment } = await import('hardhat/hre')
  const hre = await createHardhatRuntimeEnvironment({
    networks: {
      zkmeter: {
        type: 'edr-simulated',
        chainId,
        accounts: accounts.map((a) => ({ privateKey: a.privateKey, balance })),
        initialDate: options.genesisTime ?? DEV_GENESIS_TIME,
        loggingEnabled: false,
      },
    },
  })
  const connection = await hre.network.create('zkmeter')
  let closed = false
  return {
    provider: connection.provider,
    chainId: BigInt(chainId),
    accounts,
    async close() {
      if (closed) return
      closed = true
      await connection.close()
    },
  }
}

export { type JsonRpcServerHandle, type JsonRpcServerOptions, serveJsonRpc } from './json-rpc-server.ts'

/**
 * An ethers provider for any EVM chain's JSON-RPC URL (RPC_URL): the network is fetched once and then
 * fixed (staticNetwork), and requests are not batched — without both, every transaction costs several
 * extra round trips (~95 ms instead of ~12 ms against a local node, PROBES.md). No response cache.
 */
export async function jsonRpcProvider(url: string): Promise<JsonRpcProvider> {
  if (typeof url !== 'string' || !/^(https?|wss?):\/\//.test(url)) {
    throw new InvalidInputError(`RPC URL must be an http(s):// or ws(s):// URL, got ${JSON.stringify(url)}`)
  }
  const probe = new JsonRpcProvider(url, undefined, { batchMaxCount: 1 })
  let network: Network
  try {
    network = await probe.getNetwork()
  } catch (cause) {
    throw new InvalidInputError(`cannot reach the chain at ${url}: ${(cause as Error).message}`, { cause })
  } finally {
    probe.destroy()
  }
  // cacheTimeout -1: ethers otherwise answers a repeated identical request (the pending nonce of two
  // back-to-back transactions) from a 250 ms cache, and the second transaction reuses the nonce.
  return new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 1, cacheTimeout: -1 })
}
