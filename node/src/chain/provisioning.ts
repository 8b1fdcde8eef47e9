/**
 * Where this home's meter stands on the ledger, and on the dev chain (where the node plays the
 * utility) its installation: the demo tariff, and the meter registered at its first period start.
 */
import { join } from 'node:path'
import type { AssetInfo, LedgerClient, MeterState } from '../../../contracts/ts/ledger.ts'
import type { Ingestor, RecordEvent } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import { devAsset, ensureDevTariff, fundDevWallet, registerDevMeter } from './embedded-chain.ts'
import { AssetConfigError, ExternalChainConfigError } from './errors.ts'

export interface Provisioning {
  /** The meter on the ledger as the node found it at start. */
  registered: MeterState
  /** Where the meter's first period starts (its registration point while unregistered). */
  firstPeriodStart: number
  /** What this home's bills are in: its area's asset (Ether, or a token with its symbol and decimals). */
  asset: AssetInfo
}

export async function provisionMeter(options: {
  dataDir: string
  ledger: LedgerClient
  /** The dev utility: present only on the embedded dev chain. */
  utility: LedgerClient | undefined
  meter: `0x${string}`
  slots: number
  intervalSeconds: number
  /** Where the meter's clock starts (simulated time), if it is the node's virtual meter. */
  clockStart: number | undefined
  /** On the dev chain: what to bill in (`--asset`), the household to fund and the meter's area. */
  dev?: { asset: 'eth' | 'token'; household: `0x${string}`; areaId: number }
}): Promise<Provisioning> {
  const { ledger, intervalSeconds } = options
  const registered = await ledger.meter(options.meter)
  let asset: AssetInfo
  if (options.utility) {
    asset = await devAsset(options.utility, options.dev?.asset ?? 'eth')
    await setUpDevAsset(options.utility, registered, asset, options.dev)
    await ensureDevTariff(options.utility, options.slots, asset.assetId)
  } else {
    asset = await ledger.asset(registered.assetId)
  }
  if (!registered.registered && !options.utility) {
    throw new ExternalChainConfigError(
      `meter ${options.meter} is not registered on the ledger ${ledger.address}: ask the utility to register it`,
    )
  }
  // Registration point: a boundary two intervals after the clock's start (the meter is running
  // by then), fixed once so that a restart before it keeps the same one.
  const provisioningFile = join(options.dataDir, 'meter', 'provisioning.json')
  const provisioning = (await readJsonFile(provisioningFile)) as { firstPeriodStart?: number } | undefined
  let firstPeriodStart = Number(registered.nextStart)
  if (!registered.registered) {
    firstPeriodStart =
      provisioning?.firstPeriodStart ??
      Math.ceil((options.clockStart ?? Math.floor(Date.now() / 1000)) / intervalSeconds) * intervalSeconds +
        intervalSeconds
    await writeJsonAtomic(provisioningFile, { firstPeriodStart })
  }
  return { registered, firstPeriodStart, asset }
}

/**
 * The dev chain's area asset for `--asset`: set before the meter is registered (the area's first
 * meter fixes it), refused with a plain message when this data directory already bills in the other
 * asset, and the dev wallet funded with test tokens for token bills.
 */
async function setUpDevAsset(
  utility: LedgerClient,
  registered: MeterState,
  asset: AssetInfo,
  dev: { asset: 'eth' | 'token'; household: `0x${string}`; areaId: number } | undefined,
): Promise<void> {
  const name = (id: number) => (id === 0 ? 'eth' : 'token')
  if (registered.registered) {
    if (registered.assetId !== asset.assetId) {
      throw new AssetConfigError(
        `this data directory's meter is billed in ${name(registered.assetId)} on the dev chain, not ${name(asset.assetId)}: start with --asset ${name(registered.assetId)}, or use another --data-dir`,
      )
    }
  } else if (dev !== undefined) {
    const area = await utility.areaAsset(dev.areaId)
    if (area.assetId !== asset.assetId) {
      if (area.fixed) {
        throw new AssetConfigError(
          `area ${dev.areaId} of this dev chain bills in ${name(area.assetId)}, not ${name(asset.assetId)}: start with --asset ${name(area.assetId)}, or use another --data-dir`,
        )
      }
      await utility.setAreaAsset(dev.areaId, asset.assetId)
    }
  }
  if (asset.assetId !== 0 && dev !== undefined) await fundDevWallet(utility, dev.household)
}

/**
 * On the dev chain, registers the meter when its record at the registration point arrives, with
 * the counter it showed then (as a utility does at installation).
 */
export function registerDevMeterAtFirstPeriod(options: {
  ingestor: Ingestor
  utility: LedgerClient
  meter: `0x${string}`
  household: `0x${string}`
  areaId: number
  firstPeriodStart: number
  log: Logger
}): void {
  const { ingestor, firstPeriodStart, log } = options
  const onBoundary = (event: RecordEvent) => {
    if (event.record.kind !== 1 || event.record.time !== firstPeriodStart) return
    ingestor.off('record', onBoundary)
    registerDevMeter({
      ledger: options.utility,
      meter: options.meter,
      household: options.household,
      areaId: options.areaId,
      startTime: firstPeriodStart,
      startCounter: event.record.energyWh,
    }).then(
      () =>
        log.info('meter registered on the ledger', {
          startTime: firstPeriodStart,
          startCounter: event.record.energyWh,
        }),
      (error: unknown) => log.error('could not register the meter', { error }),
    )
  }
  ingestor.on('record', onBoundary)
}
