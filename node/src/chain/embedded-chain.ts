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
import {
  type AbstractProvider,
  BrowserProvider,
  Contract,
  ContractFactory,
  type InterfaceAbi,
  Network,
  Wallet,
} from 'ethers'
import { tariffHash } from '#protocol/commitment.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { devAccount, serveJsonRpc, startDevChain } from '../../../contracts/ts/chain.ts'
import { compileLedger, type LedgerArtifacts } from '../../../contracts/ts/compile.ts'
import {
  type AssetInfo,
  connectLedger,
  deployLedger,
  ERC20_PERMIT_ABI,
  ETHER_ASSET,
  type LedgerClient,
} from '../../../contracts/ts/ledger.ts'
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
    const ledger = connectLedger(deployment.ledger, utility, artifacts.ledger.abi, deployment.fromBlock)
    // A data directory from before token tariffs gets its test stablecoin now.
    await ensureDevToken(ledger, utility, artifacts)
    return { ledger, utility, deployedNow: false }
  }
  const artifacts = await compileLedger(options.profile)
  const ledger = await deployLedger(utility, artifacts, options.limits)
  await ensureDevToken(ledger, utility, artifacts)
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

/** The dev chain's test stablecoin is its first (and only) registered asset. */
export const DEV_TOKEN_ASSET_ID = 1
/** What the dev wallet is given once: 10,000 Test USD (6 decimals). */
export const DEV_TOKEN_GRANT = 10_000n * 10n ** 6n

/**
 * The embedded chain's test stablecoin: "Test USD (zkmeter dev)", 6 decimals, EIP-2612 permit
 * (contracts/src/TestStablecoin.sol), deployed by the dev utility (its minter) and registered as
 * asset 1, once per chain. Deployed whatever `--asset` says: a later start with `--asset token`
 * on a fresh data directory finds it; it costs two transactions on a simulated chain.
 */
export async function ensureDevToken(
  ledger: LedgerClient,
  utility: Wallet,
  artifacts: LedgerArtifacts,
): Promise<void> {
  if ((await ledger.assetCount()) > 0) return
  const factory = new ContractFactory(
    artifacts.testStablecoin.abi as InterfaceAbi,
    artifacts.testStablecoin.bytecode,
    utility,
  )
  const token = await factory.deploy()
  await token.waitForDeployment()
  await ledger.connect(utility).registerAsset(await token.getAddress(), 6)
}

/** Mints the dev wallet its Test USD once (while it holds none), so `--asset token` bills can be paid. */
export async function fundDevWallet(utility: LedgerClient, household: string): Promise<void> {
  const { token } = await utility.asset(DEV_TOKEN_ASSET_ID)
  if (token === undefined) return
  const runner = utility.contract.runner
  const erc20 = new Contract(
    token,
    [...ERC20_PERMIT_ABI, 'function mint(address to, uint256 amount)'],
    runner,
  )
  if (((await erc20.getFunction('balanceOf').staticCall(household)) as bigint) > 0n) return
  await (await erc20.getFunction('mint').send(household, DEV_TOKEN_GRANT)).wait()
}

/**
 * The demo curve in Test USD units (6 decimals) per Wh: 0.15 a kWh at night, 0.25 by day, 0.30 in the
 * morning shoulder, 0.45 at the evening peak. The same shape and rules as demoPrices.
 */
export function demoTokenPrices(slots = 96): bigint[] {
  return Array.from({ length: slots }, (_, s) => {
    const hour = (s * 24) / slots
    if (hour < 6) return 150n
    if (hour >= 17 && hour < 21) return 450n
    if (hour >= 7 && hour < 10) return 300n
    return 250n
  })
}

/** Whether a tariff of `assetId` has been published (dev chains hold a handful of tariffs). */
async function hasTariffIn(ledger: LedgerClient, assetId: number): Promise<boolean> {
  const count = await ledger.tariffCount()
  if (assetId === 0 && (await ledger.assetCount()) === 0) return count > 0n
  for (let id = count; id >= 1n; id--) if ((await ledger.tariffAsset(id)) === assetId) return true
  return false
}

/** The asset a home on the dev chain bills in, for `--asset eth|token`. */
export async function devAsset(ledger: LedgerClient, asset: 'eth' | 'token'): Promise<AssetInfo> {
  return asset === 'token' ? ledger.asset(DEV_TOKEN_ASSET_ID) : ETHER_ASSET
}

/**
 * On the dev chain the node plays the utility too: publish the demo tariff once (in Ether, or in
 * the test stablecoin for `assetId` 1), ahead of the chain's clock as every tariff must be. The dev
 * chain's clock starts in 2020 (contracts/ts/chain.ts DEV_GENESIS_TIME), so the tariff is in force
 * before any period the virtual meter closes.
 */
export async function ensureDevTariff(ledger: LedgerClient, slots: number, assetId = 0): Promise<void> {
  if (!(await hasTariffIn(ledger, assetId))) {
    const prices = assetId === 0 ? demoPrices(slots) : demoTokenPrices(slots)
    const latest = await ledger.contract.runner?.provider?.getBlock('latest')
    const { tariffNotice } = await ledger.policy()
    const interval = 86_400n / BigInt(slots)
    // A minute's margin: the publishing block comes a little after the latest one.
    const earliest = BigInt(latest?.timestamp ?? 0) + tariffNotice + 60n
    const effectiveFrom = ((earliest + interval - 1n) / interval) * interval
    const { tariffId } = await ledger.publishTariff({
      effectiveFrom,
      prices,
      tariffHash: tariffHash(prices),
      ...(assetId === 0 ? {} : { assetId }),
    })
    // With its feed-in curve, in the same notice window (a feed-in price is never retroactive
    // either): a home with rooftop PV (--pv-peak-w) gets net bills on the dev chain.
    if ((await ledger.netSetup()) !== undefined) {
      await ledger.publishFeedIn({ tariffId, prices, feedInPrices: demoFeedInPrices(slots, assetId) })
    }
  }
}

/**
 * The demo feed-in curve (issue 17), per exported Wh, flat: 0.4 of the day's import price in Ether
 * (400 gwei), 0.08 Test USD a kWh in the token. Obeys the tariff rules like an import curve.
 */
export function demoFeedInPrices(slots = 96, assetId = 0): bigint[] {
  return Array.from({ length: slots }, () => (assetId === 0 ? 400_000_000_000n : 80n))
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
