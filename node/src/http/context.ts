/**
 * What the API routes read or act on: the household node's services, listed once (app/node.ts
 * builds them). Each route file asks only for the part it uses (a `Pick` of this), so a route's
 * reach is visible in its signature and a test can hand it just that.
 */
import type { AbstractProvider, Wallet } from 'ethers'
import type { LedgerClient } from '../../../contracts/ts/ledger.ts'
import type { RuleStore } from '../automation/rule-store.ts'
import type { Automation } from '../automation/service.ts'
import type { Biller } from '../billing/biller.ts'
import type { BillStore } from '../billing/store.ts'
import type { NodeConfig } from '../config.ts'
import type { ReadingHistory } from '../history/readings.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import type { Ingestor } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import type { HouseholdMesh } from '../mesh/household/index.ts'
import type { VirtualMeter } from '../meter/index.ts'
import type { GrantStore } from '../privacy/grants.ts'
import type { Vault } from '../vault/index.ts'
import type { DeviceRegistry } from '../voice/devices.ts'
import type { SseHub } from './server.ts'

export interface HouseholdContext {
  config: NodeConfig
  identity: HouseholdIdentity
  ledger: LedgerClient
  /** The household account (submits bills; pays them on the dev chain). */
  wallet: Wallet
  /** The utility account: only on the embedded dev chain, where this node plays the utility. */
  utility: Wallet | undefined
  provider: AbstractProvider
  chainId: bigint
  rpcUrl: string
  mqttUrl: string
  circuit: { profile: string; n: number; slots: number; intervalSeconds: number }
  ingestor: Ingestor
  vault: Vault
  bills: BillStore
  biller: Biller
  /** The resident's list of the grants given (privacy page). */
  grants: GrantStore
  history: ReadingHistory
  automation: Automation
  rules: RuleStore
  devices: DeviceRegistry
  stream: SseHub
  meter: VirtualMeter | undefined
  /** The neighbourhood mesh (undefined with --mesh false). */
  mesh: HouseholdMesh | undefined
  /** Prices of the tariff in force (wei per Wh per slot), refreshed from the chain. */
  priceAt(time: number): bigint
  startedAt: number
  log: Logger
}
