/**
 * The chain and the ledger: the embedded dev chain (its own process, the ledger deployed once), or
 * an external chain at RPC_URL with the utility's ledger. Either way the node reaches it over
 * JSON-RPC, and the ledger client it returns signs as the household.
 */
import { type AbstractProvider, Wallet } from 'ethers'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { connectLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { ensureLedger, spawnEmbeddedChain } from '../chain/embedded-chain.ts'
import { ExternalChainConfigError } from '../chain/errors.ts'
import { type ChainHealth, ResilientRpcProvider, resilientRpcProvider } from '../chain/resilient-provider.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import type { Logger } from '../log/logger.ts'
import type { Lifecycle } from './lifecycle.ts'

export interface ChainConnection {
  provider: AbstractProvider
  chainId: bigint
  rpcUrl: string
  /** The ledger, signing as the household. */
  ledger: LedgerClient
  /** The household account (submits bills; pays them on the dev chain). */
  wallet: Wallet
  /** The utility account: only on the embedded dev chain, where this node plays the utility. */
  utility: Wallet | undefined
  /** The RPC's health for /api/status (resilient-provider.ts). */
  chainHealth(): ChainHealth | null
}

export async function connectChain(options: {
  config: NodeConfig
  identity: HouseholdIdentity
  circuit: { slots: number; n: number }
  lifecycle: Lifecycle
  log: Logger
}): Promise<ChainConnection> {
  const chain =
    options.config.chain.rpcUrl === undefined
      ? await startDevChain(options)
      : await connectExternalChain(options.config, options.config.chain.rpcUrl, options.lifecycle)
  const wallet = new Wallet(Buffer.from(options.identity.walletKey).toString('hex'), chain.provider)
  const { provider } = chain
  const chainHealth = () => (provider instanceof ResilientRpcProvider ? provider.health() : null)
  return { ...chain, ledger: chain.ledger.connect(wallet), wallet, chainHealth }
}

async function startDevChain({
  config,
  circuit,
  lifecycle,
  log,
}: {
  config: NodeConfig
  circuit: { slots: number; n: number }
  lifecycle: Lifecycle
  log: Logger
}): Promise<Omit<ChainConnection, 'wallet' | 'chainHealth'>> {
  // The dev chain is a stand-in for an external Ethereum node: it runs in its own process
  // (Hardhat is not the household node's memory) and is reached over JSON-RPC like a real one.
  const embedded = await spawnEmbeddedChain({
    dataDir: config.dataDir,
    host: '127.0.0.1',
    port: config.chain.embeddedPort,
  })
  lifecycle.started('dev chain', () => embedded.close())
  // Without its chain the node can neither bill nor provision: say so and stop, rather than
  // run on with every transaction failing.
  void embedded.unexpectedExit.then((error) => {
    log.error('stopping: the embedded dev chain is gone', { error })
    process.exitCode = 1
    void lifecycle.stop()
  })
  const deployed = await ensureLedger({
    dataDir: config.dataDir,
    provider: embedded.provider,
    chainId: embedded.chainId,
    profile: config.circuit,
    limits: { slots: circuit.slots, maxIntervals: circuit.n },
  })
  log.info(deployed.deployedNow ? 'ledger deployed' : 'ledger found', { ledger: deployed.ledger.address })
  return {
    provider: embedded.provider,
    chainId: embedded.chainId,
    rpcUrl: embedded.rpcUrl,
    ledger: deployed.ledger,
    utility: deployed.utility,
  }
}

async function connectExternalChain(
  config: NodeConfig,
  rpcUrl: string,
  lifecycle: Lifecycle,
): Promise<Omit<ChainConnection, 'wallet' | 'chainHealth'>> {
  if (config.chain.ledger === undefined) {
    throw new ExternalChainConfigError(
      'with RPC_URL set, also give the ledger address (ZKMETER_LEDGER or --ledger): the utility deploys it with `npm run deploy:contracts`',
    )
  }
  // Timeouts, retries with backoff, a raw transaction never sent twice (resilient-provider.ts).
  const external = await resilientRpcProvider(rpcUrl)
  lifecycle.started('chain provider', async () => external.destroy())
  return {
    provider: external,
    chainId: (await external.getNetwork()).chainId,
    rpcUrl,
    ledger: connectLedger(
      config.chain.ledger,
      new Wallet(`0x${'1'.repeat(64)}`),
      (await compileLedger(config.circuit)).ledger.abi,
    ),
    utility: undefined,
  }
}
