/**
 * The embedded default chain: Hardhat EDR, persisted by the transaction journal, served on loopback
 * JSON-RPC for browser wallets, with the ledger deployed once and found again after every restart
 * (same journal → same address). The household node runs it in a child process
 * (spawnEmbeddedChain → dev-chain-process.ts) and talks to it over that JSON-RPC like to any chain;
 * startEmbeddedChain runs it in the calling process (the child itself, tests).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AbstractProvider, BrowserProvider, Network, Wallet } from 'ethers'
import { tariffHash } from '#protocol/commitment.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { devAccount, serveJsonRpc, startDevChain } from '../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { connectLedger, deployLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { DEV_UTILITY_ACCOUNT } from '../identity/identity.ts'
import { writeJsonAtomic } from '../storage/json-file.ts'
import type { DevChainMessage } from './dev-chain-message.ts'
import { openJournaledProvider } from './journaled-provider.ts'
import { type ResilientRpcProvider, resilientRpcProvider } from './resilient-provider.ts'

export class DeploymentMismatchError extends ZkMeterError {
  override name = 'DeploymentMismatchError'
}

/** The dev chain's process could not start, or stopped while the node needed it. */
export class DevChainProcessError extends ZkMeterError {
  override name = 'DevChainProcessError'
  override readonly category = 'unavailable'
}

export interface EmbeddedChain {
  /** Ethers provider over the journaled chain (in-process, or JSON-RPC to the chain's process). */
  provider: AbstractProvider
  chainId: bigint
  rpcUrl: string
  replayed: { total: number; refused: number }
  close(): Promise<void>
}

export async function startEmbeddedChain(options: {
  dataDir: string
  host: string
  port: number
}): Promise<EmbeddedChain> {
  const chain = await startDevChain({ accounts: 10 })
  const journaled = await openJournaledProvider(
    chain.provider,
    join(options.dataDir, 'chain', 'transactions.jsonl'),
  )
  let rpc: Awaited<ReturnType<typeof serveJsonRpc>>
  try {
    rpc = await serveJsonRpc(journaled, { host: options.host, port: options.port })
  } catch (error) {
    await journaled.close()
    await chain.close()
    throw error
  }
  const provider = new BrowserProvider(journaled, Network.from(Number(chain.chainId)), {
    staticNetwork: true,
    cacheTimeout: -1,
  })
  provider.pollingInterval = 100
  return {
    provider,
    chainId: chain.chainId,
    rpcUrl: rpc.url,
    replayed: journaled.replayed,
    async close() {
      provider.destroy()
      await rpc.close()
      await journaled.close()
      await chain.close()
    },
  }
}

export interface SpawnedChain extends EmbeddedChain {
  /** Process id of the chain's process. */
  pid: number
  /** Settles with the reason if the chain's process ends without being asked to (never otherwise). */
  unexpectedExit: Promise<DevChainProcessError>
}

const DEV_CHAIN_PROCESS = fileURLToPath(new URL('./dev-chain-process.ts', import.meta.url))

/**
 * Runs the embedded chain in a child process and connects to it over JSON-RPC. The child exits when
 * its IPC channel closes, so it dies with this process whichever way this one ends (stop, crash,
 * SIGKILL). Its stderr is this process's: a crash there is printed where the node's log goes.
 */
export async function spawnEmbeddedChain(options: {
  dataDir: string
  host: string
  port: number
}): Promise<SpawnedChain> {
  const child: ChildProcess = fork(DEV_CHAIN_PROCESS, [options.dataDir, options.host, String(options.port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Not the node's flags: those are tuned for the node's heap (tools/build-node.mjs), or are
    // --input-type/--eval forms a script file cannot take.
    execArgv: [],
  })
  let closing = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  let ready: { rpcUrl: string; chainId: string; replayed: { total: number; refused: number } }
  try {
    ready = await new Promise((resolve, reject) => {
      child.on('message', (message: DevChainMessage) => {
        if (message.type === 'ready') resolve(message)
        else if (message.type === 'fatal') {
          reject(
            new DevChainProcessError(
              `the dev chain failed to start: ${message.error.name}: ${message.error.message}`,
            ),
          )
        }
      })
      child.once('error', (cause) =>
        reject(new DevChainProcessError(`cannot start the dev chain process: ${cause.message}`, { cause })),
      )
      void exited.then(({ code, signal }) =>
        reject(new DevChainProcessError(`the dev chain process exited during start (${signal ?? code})`)),
      )
    })
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    throw error
  }
  const close = async () => {
    if (closing) return exited.then(() => undefined)
    closing = true
    provider?.destroy()
    if (child.exitCode === null && child.signalCode === null) {
      // Ask, so the journal is closed cleanly; it is fsync'd per transaction, so a kill after the
      // grace period loses nothing acknowledged.
      if (child.connected) child.send({ type: 'close' })
      else child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  let provider: ResilientRpcProvider | undefined
  try {
    // Over loopback to a process of its own: resets are unlikely, but a busy machine makes it slow,
    // and a request abandoned after 15 s would still run there while its retry queued behind it.
    // A long timeout, then: the retries are for a restarted process, the look-up by hash for safety.
    provider = await resilientRpcProvider(ready.rpcUrl, { timeoutMs: 120_000 })
  } catch (error) {
    await close()
    throw error
  }
  // Transaction receipts are found by polling: the default 4 s would add seconds to every bill.
  provider.pollingInterval = 100
  const unexpectedExit = exited.then(
    ({ code, signal }) =>
      new Promise<DevChainProcessError>((resolve) => {
        if (!closing)
          resolve(new DevChainProcessError(`the dev chain process exited unexpectedly (${signal ?? code})`))
      }),
  )
  return {
    provider,
    chainId: BigInt(ready.chainId),
    rpcUrl: ready.rpcUrl,
    replayed: ready.replayed,
    pid: child.pid as number,
    unexpectedExit,
    close,
  }
}

interface DeploymentFile {
  version: 1
  chainId: string
  ledger: `0x${string}`
  fromBlock: number
  profile: string
}

/**
 * Deploys the ledger with `profile`'s verifier on first start (the dev utility account becomes
 * owner) and reconnects to it afterwards.
 */
export async function ensureLedger(options: {
  dataDir: string
  provider: AbstractProvider
  chainId: bigint
  profile: 'test' | 'production'
  limits: { slots: number; maxIntervals: number }
}): Promise<{ ledger: LedgerClient; utility: Wallet; deployedNow: boolean }> {
  const utility = new Wallet(devAccount(DEV_UTILITY_ACCOUNT).privateKey, options.provider)
  const file = join(options.dataDir, 'chain', 'deployment.json')
  let deployment: DeploymentFile | undefined
  try {
    deployment = JSON.parse(await readFile(file, 'utf8')) as DeploymentFile
  } catch {
    deployment = undefined
  }
  if (deployment) {
    if (deployment.profile !== options.profile || deployment.chainId !== options.chainId.toString()) {
      throw new DeploymentMismatchError(
        `${file} belongs to circuit profile ${deployment.profile} on chain ${deployment.chainId}; ` +
          `this start uses ${options.profile} on chain ${options.chainId}: use another data directory`,
      )
    }
    const artifacts = await compileLedger(options.profile)
    if ((await options.provider.getCode(deployment.ledger)) === '0x') {
      throw new DeploymentMismatchError(
        `the ledger recorded in ${file} has no code on the chain: the chain journal is missing or from another data directory`,
      )
    }
    return {
      ledger: connectLedger(deployment.ledger, utility, artifacts.ledger.abi, deployment.fromBlock),
      utility,
      deployedNow: false,
    }
  }
  const ledger = await deployLedger(utility, await compileLedger(options.profile), options.limits)
  await writeJsonAtomic(file, {
    version: 1,
    chainId: options.chainId.toString(),
    ledger: ledger.address,
    fromBlock: ledger.fromBlock,
    profile: options.profile,
  } satisfies DeploymentFile)
  return { ledger, utility, deployedNow: true }
}

/**
 * A believable time-of-use curve for the demo, in wei per Wh per 15-minute slot (UTC):
 * cheap nights, a morning shoulder, an evening peak. ~10 kWh/day costs about 0.01 ETH.
 * Four levels in runs of an hour or more, three significant digits, levels 5 % apart or more: it
 * obeys the tariff rules (protocol/tariff-rules.ts, docs/privacy.md).
 */
export function demoPrices(slots = 96): bigint[] {
  return Array.from({ length: slots }, (_, s) => {
    const hour = (s * 24) / slots
    if (hour < 6) return 500_000_000_000n
    if (hour >= 17 && hour < 21) return 2_000_000_000_000n
    if (hour >= 7 && hour < 10) return 1_200_000_000_000n
    return 1_000_000_000_000n
  })
}

/**
 * On the dev chain the node plays the utility too: publish the demo tariff once, ahead of the chain's
 * clock as every tariff must be. The dev chain's clock starts in 2020 (contracts/ts/chain.ts
 * DEV_GENESIS_TIME), so the tariff is in force before any period the virtual meter closes.
 */
export async function ensureDevTariff(ledger: LedgerClient, slots: number): Promise<void> {
  if ((await ledger.tariffCount()) === 0n) {
    const prices = demoPrices(slots)
    const latest = await ledger.contract.runner?.provider?.getBlock('latest')
    const { tariffNotice } = await ledger.policy()
    const interval = 86_400n / BigInt(slots)
    // A minute's margin: the publishing block comes a little after the latest one.
    const earliest = BigInt(latest?.timestamp ?? 0) + tariffNotice + 60n
    const effectiveFrom = ((earliest + interval - 1n) / interval) * interval
    await ledger.publishTariff({ effectiveFrom, prices, tariffHash: tariffHash(prices) })
  }
}

/**
 * …and register its meter, as a utility does at installation: at an interval boundary, with the
 * counter the meter showed then. A no-op once registered.
 */
export async function registerDevMeter(options: {
  ledger: LedgerClient
  meter: `0x${string}`
  household: `0x${string}`
  areaId: number
  startTime: number
  startCounter: number
}): Promise<boolean> {
  if ((await options.ledger.meter(options.meter)).registered) return false
  await options.ledger.registerMeter({
    meter: options.meter,
    household: options.household,
    areaId: options.areaId,
    startTime: options.startTime,
    startCounter: options.startCounter,
  })
  return true
}
