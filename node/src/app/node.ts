/**
 * The household node: every service of one home wired together, started in dependency order and
 * stopped in reverse by one Lifecycle (lifecycle.ts; a failed start unwinds what already started).
 * Each step is a module of its own here; this file is only their order and what each is given.
 *
 *   chain (embedded EDR + journal, or RPC_URL) ─ ledger ─┐
 *   MQTT broker ─ ingestor (verify, journal, vault) ─────┼─ biller (prove, submit, track payment)
 *   Helia + vault ───────────────────────────────────────┘
 *   automation (rules, alarms, relay commands)   virtual meter (embedded default)   HTTP API + stream
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { processProver } from '../billing/prover/prover-process.ts'
import { provisionMeter, registerDevMeterAtFirstPeriod } from '../chain/provisioning.ts'
import type { NodeConfig } from '../config.ts'
import { loadReadingHistory } from '../history/from-vault.ts'
import type { HouseholdContext } from '../http/context.ts'
import { SseHub } from '../http/server.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { openGrantStore } from '../privacy/grants.ts'
import { checkLedgerSetup, guardProver } from '../setup/ledger-setup.ts'
import { createDeviceRegistry } from '../voice/devices.ts'
import { startApi } from './api.ts'
import { startAutomation, startBroker } from './automation.ts'
import { startBilling, trackTariffPrices, watchPayments } from './billing.ts'
import { connectChain } from './chain.ts'
import { routeEvents } from './events.ts'
import { createHomeIngestor } from './ingest.ts'
import { Lifecycle } from './lifecycle.ts'
import { DEV_AREA_ID, startMesh } from './mesh.ts'
import { startSerialMeter, startVirtualMeter } from './meter.ts'
import { simulatedStart } from './simulated-clock.ts'
import { startVault } from './vault.ts'

export { ExternalChainConfigError } from '../chain/errors.ts'
export type { HouseholdContext } from '../http/context.ts'

export interface HouseholdNode {
  readonly context: HouseholdContext
  readonly urls: { api: string; rpc: string; mqtt: string }
  stop(): Promise<void>
}

export async function startHouseholdNode(
  config: NodeConfig,
  identity: HouseholdIdentity,
  /** The node's one logger (JSON lines on stderr by default); each service logs through a child. */
  options: { log?: Logger } = {},
): Promise<HouseholdNode> {
  const root = options.log ?? createLogger()
  const log = root.child({ source: 'node' })
  const lifecycle = new Lifecycle(log)
  try {
    await mkdir(config.dataDir, { recursive: true })
    const prover = await processProver(config.circuit)
    lifecycle.started('prover', () => prover.close())
    const intervalSeconds = 86_400 / prover.slots
    const circuit = { profile: config.circuit, n: prover.n, slots: prover.slots, intervalSeconds }
    const chain = await connectChain({
      config,
      identity,
      circuit,
      lifecycle,
      log: root.child({ source: 'chain' }),
    })
    const { ledger, wallet, utility, chainId } = chain
    // The ledger's verifying key must be the one this node proves with, else billing is held.
    const trustedSetup = await checkLedgerSetup({
      ledger,
      profile: config.circuit,
      log: root.child({ source: 'setup' }),
    })
    const domain = { chainId, verifyingContract: ledger.address }

    // The meter's simulated clock decides where the first period starts.
    const meter = identity.meter.address
    const meterStateFile = join(config.dataDir, 'meter', 'state.json')
    await mkdir(join(config.dataDir, 'meter'), { recursive: true })
    const clockState = config.meter.simulated
      ? await simulatedStart(config.dataDir, config.meter.speed, meterStateFile)
      : undefined
    const { registered, firstPeriodStart } = await provisionMeter({
      dataDir: config.dataDir,
      ledger,
      utility: utility ? ledger.connect(utility) : undefined,
      meter,
      slots: prover.slots,
      intervalSeconds,
      clockStart: clockState?.start,
    })

    const mqttUrl = await startBroker(config.mqtt, lifecycle, root.child({ source: 'mqtt' }))
    const mesh = await startMesh({
      config,
      identity,
      chain,
      registered,
      circuit,
      lifecycle,
      log: root.child({ source: 'mesh' }),
    })
    const vault = await startVault({ dataDir: config.dataDir, identity, mesh, lifecycle })
    const ingestor = createHomeIngestor({
      config,
      identity,
      domain,
      mqttUrl,
      registered,
      firstPeriodStart,
      circuit,
      vault,
      log: root.child({ source: 'ingest' }),
    })
    const { bills, biller, billPeriod } = await startBilling({
      dataDir: config.dataDir,
      ledger,
      prover: guardProver(prover, trustedSetup),
      ingestor,
      vault,
      circuit,
      pairingKey: identity.meter.pairingKey,
      lifecycle,
      log: root.child({ source: 'billing' }),
    })
    const history = await loadReadingHistory(vault, intervalSeconds)
    const priceAt = await trackTariffPrices({ ledger, biller, intervalSeconds, lifecycle })
    const { automation, rules } = await startAutomation({
      dataDir: config.dataDir,
      mqttUrl,
      meter,
      mesh,
      lifecycle,
    })

    const stream = new SseHub()
    // Intervals feed the area aggregation, sealed periods the backups; mesh notices go on the stream.
    mesh?.attach(ingestor, stream)
    routeEvents({ ingestor, history, automation, biller, billPeriod, stream, log })
    if (utility && !registered.registered) {
      registerDevMeterAtFirstPeriod({
        ingestor,
        meter,
        firstPeriodStart,
        log: root.child({ source: 'provisioning' }),
        utility: ledger.connect(utility),
        household: wallet.address.toLowerCase() as `0x${string}`,
        areaId: DEV_AREA_ID,
      })
    }
    await ingestor.start()
    lifecycle.started('ingestor', ingestor)
    await startSerialMeter({
      serial: config.serial,
      mqttUrl,
      meter,
      ingestor,
      lifecycle,
      log: root.child({ source: 'serial' }),
    })
    // Periods assembled before a crash but never handed to billing: addPeriod is idempotent.
    for (const period of ingestor.periods(meter)) billPeriod(period)
    await biller.resume()
    watchPayments({ bills, biller, ledger, wallet, lifecycle, log: root.child({ source: 'billing' }) })
    const virtualMeter = await startVirtualMeter({
      config,
      identity,
      clockState,
      domain,
      mqttUrl,
      circuit,
      firstPeriodStart,
      stateFile: meterStateFile,
      lifecycle,
      log: root.child({ source: 'virtual-meter' }),
    })

    const context: HouseholdContext = {
      ...chain, // provider, chainId, rpcUrl, ledger, wallet, utility
      config,
      identity,
      mqttUrl,
      circuit,
      ingestor,
      vault,
      bills,
      biller,
      grants: openGrantStore(config.dataDir),
      history,
      automation,
      rules,
      devices: createDeviceRegistry(),
      stream,
      meter: virtualMeter,
      mesh,
      priceAt,
      trustedSetup,
      startedAt: Date.now(),
      log: root.child({ source: 'http' }),
    }
    const url = await startApi({ http: config.http, context, lifecycle, log: root.child({ source: 'http' }) })
    log.info('household node ready', { api: url, rpc: chain.rpcUrl, mqtt: mqttUrl })
    return { context, urls: { api: url, rpc: chain.rpcUrl, mqtt: mqttUrl }, stop: () => lifecycle.stop() }
  } catch (error) {
    await lifecycle.stop()
    throw error
  }
}
