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
import { openAuth } from '../auth/service.ts'
import { processProver } from '../billing/prover/prover-process.ts'
import { provisionMeter, registerDevMeterAtFirstPeriod } from '../chain/provisioning.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdContext } from '../http/context.ts'
import { SseHub } from '../http/server.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { openCredentialStore } from '../mqtt/credentials.ts'
import { ensureHouseholdUsers } from '../mqtt/household-users.ts'
import { openGrantStore } from '../privacy/grants.ts'
import { checkLedgerSetup, guardProver, netBillsUsable } from '../setup/ledger-setup.ts'
import { createDiskAlarm } from '../storage/disk-alarm.ts'
import { makePrivateTree, restrictUmask } from '../storage/private-dir.ts'
import { nodeTlsCredentials } from '../tls/index.ts'
import { createDeviceRegistry } from '../voice/devices.ts'
import { type ApiUrls, startApi } from './api.ts'
import { startAutomation, startBroker } from './automation.ts'
import { openDisplayCurrency, startBilling, trackTariffPrices, watchPayments } from './billing.ts'
import { connectChain } from './chain.ts'
import { routeEvents } from './events.ts'
import { completeHistory, openHistory } from './history.ts'
import { createHomeIngestor } from './ingest.ts'
import { Lifecycle } from './lifecycle.ts'
import { DEV_AREA_ID, startMesh } from './mesh.ts'
import { createHomeVirtualMeter, startSerialMeter } from './meter.ts'
import { simulatedStart } from './simulated-clock.ts'
import { startVault } from './vault.ts'

export { ExternalChainConfigError } from '../chain/errors.ts'
export type { HouseholdContext } from '../http/context.ts'

export interface HouseholdNode {
  readonly context: HouseholdContext
  /** `https`: with --listen, the URL to open on a phone and the CA fingerprint to compare there. */
  readonly urls: { api: string; rpc: string; mqtt: string; https?: ApiUrls['https'] }
  /** This run's admin token (also in `<dataDir>/auth/admin-token`): in-process callers use it. */
  readonly adminToken: string
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
    restrictUmask()
    const tightened = await makePrivateTree(config.dataDir)
    if (tightened > 0) log.info('made the data directory private to this user', { entries: tightened })
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
    await mkdir(join(config.dataDir, 'meter'), { recursive: true, mode: 0o700 })
    const simulatedKey = config.meter.simulated ? identity.meter.simulatedPrivateKey : undefined
    const clockState = simulatedKey
      ? await simulatedStart(config.dataDir, config.meter.speed, meterStateFile, simulatedKey)
      : undefined
    const { registered, firstPeriodStart, asset } = await provisionMeter({
      dataDir: config.dataDir,
      ledger,
      utility: utility ? ledger.connect(utility) : undefined,
      meter,
      slots: prover.slots,
      intervalSeconds,
      clockStart: clockState?.start,
      dev: {
        asset: config.chain.asset ?? 'eth',
        household: wallet.address.toLowerCase() as `0x${string}`,
        areaId: DEV_AREA_ID,
      },
    })

    // Every broker client logs in (docs/broker.md): the node's and the virtual meter's own logins.
    const credentials = openCredentialStore(config.dataDir)
    const logins = await ensureHouseholdUsers(credentials, identity, root.child({ source: 'mqtt' }))
    const mqttUrl = await startBroker(config.mqtt, lifecycle, root.child({ source: 'mqtt' }), {
      credentials,
      dataDir: config.dataDir,
      listen: config.http.listen,
    })
    const mesh = await startMesh({
      config,
      identity,
      chain,
      registered,
      circuit,
      lifecycle,
      log: root.child({ source: 'mesh' }),
    })
    const { vault, reopenStores } = await startVault({ dataDir: config.dataDir, identity, mesh, lifecycle })
    const ingestor = createHomeIngestor({
      config,
      identity,
      domain,
      mqttUrl,
      mqttCredentials: logins.node,
      registered,
      firstPeriodStart,
      circuit,
      vault,
      reopenVault: reopenStores,
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
      minPeriodDays: config.billing.minPeriodDays,
      assetId: asset.assetId,
      netBills: await netBillsUsable({
        ledger,
        profile: config.circuit,
        log: root.child({ source: 'setup' }),
      }),
      lifecycle,
      log: root.child({ source: 'billing' }),
    })
    // Filled from the vault only once the ingestor's catch-up has flushed its journal (app/history.ts).
    const history = openHistory({ ingestor, vault, intervalSeconds })
    const priceAt = await trackTariffPrices({
      ledger,
      biller,
      intervalSeconds,
      assetId: asset.assetId,
      lifecycle,
    })
    const { automation, rules } = await startAutomation({
      dataDir: config.dataDir,
      mqttUrl,
      credentials: logins.node,
      meter,
      mesh,
      lifecycle,
      log,
    })

    const stream = new SseHub()
    // Intervals feed the area aggregation, sealed periods the backups; mesh notices go on the stream.
    mesh?.attach(ingestor, stream)
    routeEvents({ ingestor, history, automation, biller, billPeriod, stream, asset, log })
    // A full disk stops ingestion (the meter keeps its records): the resident sees it as an alarm.
    const diskAlarm = createDiskAlarm()
    ingestor.on('storage', (status) => diskAlarm.update(status))
    diskAlarm.events.on('alarm', (alarm) => stream.publish('alarm', alarm))
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
    // In the background: the history's reads wait for it, the API does not (app/history.ts).
    completeHistory(history, {
      ingestor,
      vault,
      intervalSeconds,
      onError: (error) => log.error('could not read the history back from the vault', { error }),
    })
    await startSerialMeter({
      serial: config.serial,
      mqttUrl,
      credentials: logins.node,
      meter,
      ingestor,
      lifecycle,
      log: root.child({ source: 'serial' }),
    })
    // Periods assembled before a crash but never handed to billing: addPeriod is idempotent.
    for (const period of ingestor.periods(meter)) billPeriod(period)
    await biller.resume()
    watchPayments({ bills, biller, ledger, lifecycle, log: root.child({ source: 'billing' }) })
    const virtualMeter = createHomeVirtualMeter({
      config,
      identity,
      clockState,
      domain,
      mqttUrl,
      mqttPassword: logins.virtualMeter?.password,
      circuit,
      firstPeriodStart,
      stateFile: meterStateFile,
      lifecycle,
      log: root.child({ source: 'virtual-meter' }),
    })

    // Who may call the API (pairing, sessions, tokens). With --listen the pairing QR carries the
    // household CA's fingerprint, for the phone to compare with the certificate it is shown.
    const fingerprint =
      config.http.listen === undefined
        ? undefined
        : (await nodeTlsCredentials(config.dataDir, config.http.listen)).certificates.fingerprint256
    // The phone's URL is known once the HTTPS listener is up (below); codes issued then carry it.
    let phoneUrl: string | undefined
    const auth = await openAuth({
      dataDir: config.dataDir,
      log: root.child({ source: 'auth' }),
      ...(fingerprint ? { fingerprint } : {}),
      phoneUrl: () => phoneUrl,
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
      displayCurrency: await openDisplayCurrency(config.dataDir, log),
      asset,
      grants: openGrantStore(config.dataDir),
      history,
      automation,
      rules,
      diskAlarm,
      devices: createDeviceRegistry(),
      stream,
      meter: virtualMeter?.meter,
      mesh,
      priceAt,
      trustedSetup,
      startedAt: Date.now(),
      log: root.child({ source: 'http' }),
      auth,
    }
    const api = await startApi({ http: config.http, context, lifecycle, log: root.child({ source: 'http' }) })
    phoneUrl = api.https?.url
    // The API answers first: the meter's start waits for the node to take in its replayed backlog.
    await virtualMeter?.start()
    log.info('household node ready', { api: api.url, rpc: chain.rpcUrl, mqtt: mqttUrl, https: api.https })
    const urls = {
      api: api.url,
      rpc: chain.rpcUrl,
      mqtt: mqttUrl,
      ...(api.https ? { https: api.https } : {}),
    }
    return { context, urls, adminToken: auth.adminToken, stop: () => lifecycle.stop() }
  } catch (error) {
    await lifecycle.stop()
    throw error
  }
}
