/**
 * What the API routes read or act on: the household node's services, listed once (app/node.ts
 * builds them). Each route file asks only for the part it uses (a `Pick` of `RoutesContext`, the
 * same services narrowed to the methods the routes call), so a route's reach is visible in its
 * signature, and a test (or the UI's fake node, test/support/fake-node.ts) can hand it just that
 * over in-memory data.
 */
import type { AbstractProvider, Provider, Signer, Wallet } from 'ethers'
import type { Aggregates, PrivacySpendView, TrustedSetupStatus } from '#protocol/api/types.ts'
import type {
  AssetInfo,
  BillRecord as LedgerBillRecord,
  LedgerClient,
  Notice as LedgerNotice,
  MeterState,
  TariffState,
} from '../../../contracts/ts/ledger.ts'
import type { Auth } from '../auth/service.ts'
import type { AlarmManager } from '../automation/alarms.ts'
import type { RelayCommander } from '../automation/commander-types.ts'
import type { RuleStore } from '../automation/rule-store.ts'
import type { RuleEngine } from '../automation/rules.ts'
import type { Automation } from '../automation/service.ts'
import type { Biller } from '../billing/biller.ts'
import type { DisplayCurrencyStore } from '../billing/display-currency.ts'
import type { BillStore } from '../billing/store.ts'
import type { ChainHealth } from '../chain/resilient-provider.ts'
import type { NodeConfig } from '../config.ts'
import type { ReadingHistory } from '../history/readings.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import type { Ingestor } from '../ingest/ingestor.ts'
import type { MeterStatus } from '../ingest/types.ts'
import type { Logger } from '../log/logger.ts'
import type { HouseholdMesh } from '../mesh/household/index.ts'
import type { VirtualMeter } from '../meter/index.ts'
import type { GrantStore } from '../privacy/grants.ts'
import type { DiskAlarm } from '../storage/disk-alarm.ts'
import type { AssetLedger, AssetReads } from '../utility/assets.ts'
import type { CreditReads, NetBillsUtilityLedger } from '../utility/credits.ts'
import type { Vault } from '../vault/index.ts'
import type { DeviceRegistry } from '../voice/devices.ts'
import type { SseHub } from './server.ts'

export interface HouseholdContext {
  config: NodeConfig
  identity: HouseholdIdentity
  ledger: LedgerClient
  /** The household account (submits bills; pays them on the dev chain). */
  wallet: Wallet
  /** What the home's bills are in: its area's asset on the ledger (Ether or a token). */
  asset: AssetInfo
  /** The utility account: only on the embedded dev chain, where this node plays the utility. */
  utility: Wallet | undefined
  provider: AbstractProvider
  chainId: bigint
  rpcUrl: string
  /** The chain RPC's health (retries, last error); null when the provider does not track it. */
  chainHealth(): ChainHealth | null
  diskAlarm: DiskAlarm
  mqttUrl: string
  circuit: { profile: string; n: number; slots: number; intervalSeconds: number }
  ingestor: Ingestor
  vault: Vault
  bills: BillStore
  biller: Biller
  /** The household's display currency for Ether bills (billing/display-currency.ts). */
  displayCurrency: DisplayCurrencyStore
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
  /** The trusted setup bills are verified under, checked at start (node/src/setup/ledger-setup.ts). */
  trustedSetup?: TrustedSetupStatus
  startedAt: number
  log: Logger
  /** Pairing, sessions and tokens (node/src/auth/). */
  auth: Auth
}

/** A sent transaction, as far as the routes read it (its hash). */
export interface SentTransaction {
  hash: string
}

/** The ledger as the routes use it (LedgerClient fits): reads, and the utility's transactions. */
export interface RoutesLedger extends AssetReads, CreditReads {
  readonly address: string
  payBill(billId: string, amount?: bigint): Promise<SentTransaction>
  /** Pays a token bill with an EIP-2612 permit the sender signs (the dev wallet). */
  payBillWithPermit(billId: string): Promise<SentTransaction>
  notices(): Promise<LedgerNotice[]>
  meter(meter: string): Promise<MeterState>
  tariffCount(): Promise<bigint>
  tariff(tariffId: bigint): Promise<TariffState>
  bills(): Promise<LedgerBillRecord[]>
  /** The same ledger, sending as the utility. */
  connect(utility: Signer): UtilityLedger
}

/** What the utility console sends (LedgerClient.connect(utility) fits). */
export interface UtilityLedger extends AssetLedger, NetBillsUtilityLedger {
  registerMeter(meter: {
    meter: string
    household: string
    areaId: number
    startTime: number
    startCounter: number
  }): Promise<SentTransaction>
  publishTariff(tariff: {
    effectiveFrom: number
    prices: bigint[]
    /** A registered token (omitted: Ether). */
    assetId?: number
  }): Promise<{ tariffId: bigint; tariffHash: bigint; receipt: SentTransaction }>
  meter(meter: string): Promise<MeterState>
  publishNotice(notice: {
    areaId: number
    kind: number
    startsAt: number
    endsAt: number
    message: string
  }): Promise<SentTransaction>
}

/** The household's services narrowed to what the routes call: HouseholdContext is one of these. */
export interface RoutesContext {
  config: Pick<NodeConfig, 'dev' | 'timeZone'>
  identity: { meter: { address: string } }
  ledger: RoutesLedger
  wallet: { readonly address: string }
  /** The utility account (embedded dev chain only). */
  utility: Signer | undefined
  chainId: bigint
  rpcUrl: string
  /** The chain, to read a token the utility names (absent in fakes without a chain). */
  provider?: Provider
  chainHealth?(): ChainHealth | null
  /** The full-disk alarm (storage/disk-alarm.ts), listed with the hazard alarms. */
  diskAlarm?: Pick<DiskAlarm, 'list' | 'acknowledge'>
  mqttUrl: string
  circuit: HouseholdContext['circuit']
  trustedSetup?: TrustedSetupStatus
  ingestor: Pick<Ingestor, 'counters' | 'anomalies'> & {
    status(): Pick<MeterStatus, 'meter' | 'ackedSeq' | 'openPeriod'>[]
    /** The broker connection's health (optional: test stand-ins without MQTT leave it out). */
    broker?: Ingestor['broker']
    /** The start's catch-up (optional: test stand-ins that never restart leave it out). */
    catchUp?: Ingestor['catchUp']
  }
  vault: Pick<Vault, 'grant'>
  bills: Pick<BillStore, 'list' | 'get'>
  /** What the home's bills are in (its area's asset on the ledger); absent: Ether. */
  asset?: AssetInfo
  displayCurrency: Pick<DisplayCurrencyStore, 'get' | 'set'>
  biller: Pick<Biller, 'markPaid' | 'retry'>
  grants: GrantStore
  history: ReadingHistory
  automation: Pick<Automation, 'send' | 'switch' | 'manual' | 'origins'> & {
    engine: Pick<RuleEngine, 'setRules'>
    alarms: Pick<AlarmManager, 'list' | 'acknowledge' | 'interlockInputs'>
    commander: Pick<RelayCommander, 'outputs'>
  }
  rules: Pick<RuleStore, 'current' | 'replace' | 'put' | 'delete'>
  devices: DeviceRegistry
  /** The virtual meter's clock (undefined for a hardware meter). */
  meter: { clock: { now(): number } } | undefined
  mesh:
    | (Pick<HouseholdMesh, 'status' | 'backups' | 'restore' | 'notices'> & {
        aggregates(): Aggregates
        /** ε spent by the aggregation shares (docs/aggregation.md §7); absent in fakes without noise. */
        privacy?(): PrivacySpendView
      })
    | undefined
  priceAt(time: number): bigint
  startedAt: number
  auth: Auth
}
