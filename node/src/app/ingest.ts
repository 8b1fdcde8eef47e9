/** The ingestor for this home's one meter: from its registration point (or where billing stands). */
import { join } from 'node:path'
import type { MeterState } from '../../../contracts/ts/ledger.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import { createIngestor, type Ingestor } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import { sealedStateKey } from '../storage/sealed-json.ts'
import type { Vault } from '../vault/index.ts'

export function createHomeIngestor(options: {
  config: NodeConfig
  identity: HouseholdIdentity
  domain: Parameters<typeof createIngestor>[0]['domain']
  mqttUrl: string
  mqttCredentials: { username: string; password: string }
  registered: MeterState
  firstPeriodStart: number
  circuit: { n: number; intervalSeconds: number }
  vault: Vault
  /** Reopens the vault's stores (a LevelDB error that outlived the full disk). */
  reopenVault?: () => Promise<void>
  log: Logger
}): Ingestor {
  const { identity, registered } = options
  const meter = identity.meter.address
  return createIngestor({
    mqttUrl: options.mqttUrl,
    mqttCredentials: options.mqttCredentials,
    clientId: `zkmeter-node-${meter.slice(2, 10)}`,
    dataDir: join(options.config.dataDir, 'ingest'),
    domain: options.domain,
    meters: [
      {
        address: meter,
        pairingKey: identity.meter.pairingKey,
        firstPeriodStart: Number(
          registered.nextStart === 0n ? BigInt(options.firstPeriodStart) : registered.nextStart,
        ),
      },
    ],
    intervalSeconds: options.circuit.intervalSeconds,
    periodReadings: options.circuit.n,
    periodDays: options.config.meter.periodDays,
    vault: options.vault,
    ...(options.reopenVault ? { reopenVault: options.reopenVault } : {}),
    log: options.log,
    stateKey: sealedStateKey(identity.rootKey, 'ingest-state'),
  })
}
