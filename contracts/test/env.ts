/**
 * Shared test environment: an in-process EDR chain, ethers signers on it, the compiled ledger of the
 * 'test' circuit profile, meter keys and EIP-712 signing of billing periods.
 */

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { BrowserProvider, type JsonRpcSigner, Network } from 'ethers'
import {
  addressOfPrivateKey,
  type BillingPeriodMessage,
  billingPeriodDigest,
  type Eip712Domain,
  exportPeriodDigest,
  signDigest,
} from '#protocol/eip712.ts'
import { type DevChain, startDevChain } from '../ts/chain.ts'
import {
  type CompiledContract,
  compileLedger,
  compileSolidity,
  type LedgerArtifacts,
  REPO_ROOT,
} from '../ts/compile.ts'
import type { BillingPeriod } from '../ts/ledger.ts'

export interface TestEnv {
  chain: DevChain
  provider: BrowserProvider
  signers: JsonRpcSigner[]
  artifacts: LedgerArtifacts
}

export async function startTestEnv(): Promise<TestEnv> {
  const artifacts = await compileLedger('test')
  const chain = await startDevChain({ accounts: 8 })
  // staticNetwork: no eth_chainId round trip before every call (PROBES.md).
  const provider = new BrowserProvider(chain.provider, Network.from(Number(chain.chainId)), {
    staticNetwork: true,
    cacheTimeout: -1,
  })
  const signers = await Promise.all(chain.accounts.map((a) => provider.getSigner(a.address)))
  return { chain, provider, signers, artifacts }
}

export async function compileFixture(): Promise<CompiledContract> {
  const path = join(REPO_ROOT, 'contracts', 'test', 'fixtures', 'ReentrantReceiver.sol')
  const contracts = await compileSolidity(
    { 'ReentrantReceiver.sol': readFileSync(path, 'utf8') },
    { cacheDir: join(REPO_ROOT, 'contracts', 'build', 'fixtures') },
  )
  return contracts.ReentrantReceiver as CompiledContract
}

export interface MeterKey {
  privateKey: Uint8Array
  address: `0x${string}`
}

/** A deterministic meter key for tests. */
export function meterKey(label: string): MeterKey {
  const privateKey = keccak_256(new TextEncoder().encode(`zkmeter/test-meter/${label}`))
  return { privateKey, address: addressOfPrivateKey(privateKey) }
}

export function toMessage(period: BillingPeriod): BillingPeriodMessage {
  return {
    meter: period.meter,
    periodStart: BigInt(period.periodStart),
    periodEnd: BigInt(period.periodEnd),
    startCounter: BigInt(period.startCounter),
    endCounter: BigInt(period.endCounter),
    commitment: BigInt(period.commitment),
  }
}

/** The meter's EIP-712 signature over a BillingPeriod (r ‖ s ‖ v, low S). */
export function signPeriod(key: MeterKey, domain: Eip712Domain, period: BillingPeriod): `0x${string}` {
  return signDigest(key.privateKey, billingPeriodDigest(domain, toMessage(period)))
}

/** The meter's EIP-712 signature over an ExportPeriod, the export half of a period close. */
export function signExportPeriod(key: MeterKey, domain: Eip712Domain, period: BillingPeriod): `0x${string}` {
  return signDigest(key.privateKey, exportPeriodDigest(domain, toMessage(period)))
}

export const DAY = 86_400
export const INTERVAL = 900
/** A UTC midnight (2025-11-24T00:00:00Z) and a registration point one hour after it. */
export const MIDNIGHT = 1_763_942_400
export const REGISTERED_AT = MIDNIGHT + 4 * INTERVAL
export const START_COUNTER = 1_000_000n
