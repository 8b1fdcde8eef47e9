/**
 * The household node: every service of one home wired together, started in dependency order and
 * stopped in reverse (a failed start unwinds what already started).
 *
 *   chain (embedded EDR + journal, or RPC_URL) ─ ledger ─┐
 *   MQTT broker ─ ingestor (verify, journal, vault) ─────┼─ biller (prove, submit, track payment)
 *   Helia + vault ───────────────────────────────────────┘
 *   automation (rules, alarms, relay commands)   virtual meter (embedded default)   HTTP API + stream
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type AbstractProvider, Wallet } from 'ethers'
import { ZkMeterError } from '#protocol/errors.ts'
import { meterTopicName } from '#protocol/records.ts'
import { jsonRpcProvider } from '../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { connectLedger, type LedgerClient } from '../../../contracts/ts/ledger.ts'
import { openRuleStore } from '../automation/rule-store.ts'
import { createAutomation } from '../automation/service.ts'
import { createBiller } from '../billing/biller.ts'
import { isTransientChainError, ledgerBillingChain } from '../billing/ledger-chain.ts'
import { periodInputs } from '../billing/period-inputs.ts'
import { processProver } from '../billing/prover/prover-process.ts'
import { openBillStore } from '../billing/store.ts'
import {
  ensureDevTariff,
  ensureLedger,
  registerDevMeter,
  type SpawnedChain,
  spawnEmbeddedChain,
} from '../chain/embedded-chain.ts'
import type { NodeConfig } from '../config.ts'
import { createReadingHistory } from '../history/readings.ts'
import { discoveryConfigs, publishDiscovery } from '../homeassistant/discovery.ts'
import { DEV_AREA_ID, type HouseholdMesh, startHouseholdMesh } from '../household/mesh.ts'
import type { HouseholdContext, Log } from '../http/context.ts'
import { registerRoutes } from '../http/routes.ts'
import { createHttpApi, type HttpApi, SseHub } from '../http/server.ts'
import { serveStatic } from '../http/static.ts'
import { alarmView, billView } from '../http/views.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import { createIngestor, type PeriodResult, type RecordEvent } from '../ingest/ingestor.ts'
import { createHeliaNode, type HeliaNode } from '../ipfs/helia.ts'
import { signerFromPrivateKey } from '../mesh/signing.ts'
import { createScaledClock } from '../meter/clock.ts'
import { createVirtualMeter, readMeterCheckpoint, type VirtualMeter } from '../meter/index.ts'
import { type Broker, createBroker } from '../mqtt/broker.ts'
import { closeMqtt, connectMqtt } from '../mqtt/client.ts'
import { openGrantStore } from '../privacy/grants.ts'
import { createSerialMqttBridge } from '../serial/bridge.ts'
import { createSerialMeterLink } from '../serial/link.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import { createVault } from '../vault/index.ts'
import { createDeviceRegistry } from '../voice/devices.ts'
import { categorizeDependencyFailure } from './error-categories.ts'

export class ExternalChainConfigError extends ZkMeterError {
  override name = 'ExternalChainConfigError'
}

export type { HouseholdContext, Log } from '../http/context.ts'

export interface HouseholdNode {
  readonly context: HouseholdContext
  readonly urls: { api: string; rpc: string; mqtt: string }
  stop(): Promise<void>
}

const defaultLog: Log = (entry) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`)

/**
 * Simulated time must never run backwards across restarts (the meter refuses to, and its own
 * checkpoint may be ahead of our last save), nor replay days of downtime at 1440×: it resumes
 * where it stopped plus at most one simulated hour.
 */
async function simulatedStart(
  dataDir: string,
  speed: number,
  meterStateFile: string,
): Promise<{ start: number; save(now: number): Promise<void> }> {
  const file = join(dataDir, 'meter', 'clock.json')
  const saved = (await readJsonFile(file)) as { simTime?: number; savedAt?: number } | undefined
  let checkpoint: { time: number } | undefined
  try {
    checkpoint = readMeterCheckpoint(meterStateFile)
  } catch {
    checkpoint = undefined // a damaged checkpoint is the meter's to report at start
  }
  let start: number
  if (saved?.simTime && saved.savedAt) {
    const downtime = Math.max(0, (Date.now() - saved.savedAt) / 1000)
    start = Math.ceil(Math.max(saved.simTime, checkpoint?.time ?? 0) + Math.min(downtime * speed, 3600))
  } else {
    const now = Math.floor(Date.now() / 1000)
    start = now - (now % 86_400)
  }
  return { start, save: (simTime) => writeJsonAtomic(file, { simTime, savedAt: Date.now() }) }
}

export async function startHouseholdNode(
  config: NodeConfig,
  identity: HouseholdIdentity,
  options: { log?: Log } = {},
): Promise<HouseholdNode> {
  const log = options.log ?? defaultLog
  const stops: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop()
      } catch (error) {
        log({ level: 'warn', msg: 'error while stopping', error: String(error) })
      }
    }
  }
  try {
    await mkdir(config.dataDir, { recursive: true })
    const prover = await processProver(config.circuit)
    stops.push(() => prover.close())
    const intervalSeconds = 86_400 / prover.slots
    const circuit = { profile: config.circuit, n: prover.n, slots: prover.slots, intervalSeconds }

    // Chain and ledger.
    let provider: AbstractProvider
    let chainId: bigint
    let rpcUrl: string
    let ledger: LedgerClient
    let utility: Wallet | undefined
    let embedded: SpawnedChain | undefined
    if (config.chain.rpcUrl === undefined) {
      // The dev chain is a stand-in for an external Ethereum node: it runs in its own process
      // (Hardhat is not the household node's memory) and is reached over JSON-RPC like a real one.
      embedded = await spawnEmbeddedChain({
        dataDir: config.dataDir,
        host: '127.0.0.1',
        port: config.chain.embeddedPort,
      })
      stops.push(() => (embedded as SpawnedChain).close())
      // Without its chain the node can neither bill nor provision: say so and stop, rather than
      // run on with every transaction failing.
      void embedded.unexpectedExit.then((error) => {
        log({ level: 'error', msg: 'stopping: the embedded dev chain is gone', error: error.message })
        process.exitCode = 1
        void stopAll()
      })
      provider = embedded.provider
      chainId = embedded.chainId
      rpcUrl = embedded.rpcUrl
      const deployed = await ensureLedger({
        dataDir: config.dataDir,
        provider,
        chainId,
        profile: config.circuit,
        limits: { slots: prover.slots, maxIntervals: prover.n },
      })
      ledger = deployed.ledger
      utility = deployed.utility
      log({
        level: 'info',
        msg: deployed.deployedNow ? 'ledger deployed' : 'ledger found',
        ledger: ledger.address,
      })
    } else {
      if (config.chain.ledger === undefined) {
        throw new ExternalChainConfigError(
          'with RPC_URL set, also give the ledger address (ZKMETER_LEDGER or --ledger): the utility deploys it with `npm run deploy:contracts`',
        )
      }
      const external = await jsonRpcProvider(config.chain.rpcUrl)
      stops.push(async () => external.destroy())
      provider = external
      chainId = (await external.getNetwork()).chainId
      rpcUrl = config.chain.rpcUrl
      ledger = connectLedger(
        config.chain.ledger,
        new Wallet(`0x${'1'.repeat(64)}`),
        (await compileLedger(config.circuit)).ledger.abi,
      )
    }
    const wallet = new Wallet(Buffer.from(identity.walletKey).toString('hex'), provider)
    ledger = ledger.connect(wallet)

    // The meter's simulated clock decides where the first period starts.
    const meterAddress = identity.meter.address
    const meterStateFile = join(config.dataDir, 'meter', 'state.json')
    await mkdir(join(config.dataDir, 'meter'), { recursive: true })
    const clockState = config.meter.simulated
      ? await simulatedStart(config.dataDir, config.meter.speed, meterStateFile)
      : undefined
    if (utility) await ensureDevTariff(ledger.connect(utility), prover.slots)
    const registered = await ledger.meter(meterAddress)
    if (!registered.registered && !utility) {
      throw new ExternalChainConfigError(
        `meter ${meterAddress} is not registered on the ledger ${ledger.address}: ask the utility to register it`,
      )
    }
    // Registration point: a boundary two intervals after the clock's start (the meter is running
    // by then), fixed once so that a restart before it keeps the same one.
    const provisioningFile = join(config.dataDir, 'meter', 'provisioning.json')
    const provisioning = (await readJsonFile(provisioningFile)) as { firstPeriodStart?: number } | undefined
    let firstPeriodStart = Number(registered.nextStart)
    if (!registered.registered) {
      firstPeriodStart =
        provisioning?.firstPeriodStart ??
        Math.ceil((clockState?.start ?? Math.floor(Date.now() / 1000)) / intervalSeconds) * intervalSeconds +
          intervalSeconds
      await writeJsonAtomic(provisioningFile, { firstPeriodStart })
    }

    // MQTT.
    let mqttUrl: string
    if (config.mqtt.url === undefined) {
      const broker: Broker = createBroker({ host: '127.0.0.1', port: config.mqtt.embeddedPort })
      await broker.start()
      stops.push(() => broker.stop())
      mqttUrl = broker.url
    } else {
      mqttUrl = config.mqtt.url
    }

    // ── Neighbourhood mesh (household/mesh.ts, docs/mesh.md) ─────────────────────────────────
    // Started before Helia, which runs on the mesh's libp2p host (one identity), and stopped after it.
    let mesh: HouseholdMesh | undefined
    if (config.mesh.enabled) {
      const started = await startHouseholdMesh({
        dataDir: config.dataDir,
        config: config.mesh,
        // Unregistered only on the dev chain, which registers the meter in DEV_AREA_ID below.
        area: registered.registered ? registered.areaId : DEV_AREA_ID,
        domain: { chainId, verifyingContract: ledger.address },
        ledger,
        meterAddress,
        meterSigner:
          config.meter.simulated && identity.meter.simulatedPrivateKey
            ? signerFromPrivateKey(identity.meter.simulatedPrivateKey)
            : undefined,
        householdSigner: signerFromPrivateKey(identity.walletKey),
        registered: registered.registered,
        rootKey: identity.rootKey,
        observer: config.mesh.observer ?? utility !== undefined,
        simulatedMeter: config.meter.simulated,
        intervalSeconds,
        slots: prover.slots,
        log,
      })
      stops.push(() => started.stop())
      mesh = started
    }

    // Vault.
    const heliaNode: HeliaNode = await createHeliaNode({
      dir: join(config.dataDir, 'ipfs'),
      ...(mesh ? { libp2p: mesh.libp2p } : {}),
    })
    stops.push(() => heliaNode.stop())
    const vault = createVault({ helia: heliaNode.helia, rootKey: identity.rootKey })
    if (mesh) {
      const started = mesh
      await started.startBackups(heliaNode.helia, vault)
      stops.push(() => started.stopBackups())
    }
    // ── end of the mesh block ─────────────────────────────────────────────────────────────────

    // Ingestion.
    const ingestor = createIngestor({
      mqttUrl,
      clientId: `zkmeter-node-${meterAddress.slice(2, 10)}`,
      dataDir: join(config.dataDir, 'ingest'),
      domain: { chainId, verifyingContract: ledger.address },
      meters: [
        {
          address: meterAddress,
          pairingKey: identity.meter.pairingKey,
          firstPeriodStart: Number(
            registered.nextStart === 0n ? BigInt(firstPeriodStart) : registered.nextStart,
          ),
        },
      ],
      intervalSeconds,
      periodReadings: prover.n,
      periodDays: config.meter.periodDays,
      vault,
      log,
    })

    // Billing.
    const bills = await openBillStore(config.dataDir)
    const biller = createBiller({
      store: bills,
      chain: ledgerBillingChain(ledger),
      prover,
      inputs: periodInputs({
        ingestor,
        vault,
        intervalSeconds,
        n: prover.n,
        pairingKey: identity.meter.pairingKey,
      }),
      isTransient: isTransientChainError,
      log,
    })
    stops.push(async () => {
      // Stop taking steps, kill a proof in flight, and let the interrupted step record itself.
      biller.stop()
      await prover.close()
      await biller.idle()
    })

    // History for charts, rebuilt from the vault (the durable, encrypted copy).
    const history = createReadingHistory({ intervalSeconds })
    for (const period of await vault.listPeriods()) {
      const records =
        period.status === 'sealed' && period.manifestCid
          ? await vault.readPeriod(period.manifestCid)
          : await vault.readOpenPeriod(period.meter, period.periodStart)
      for (const record of records) history.add(record as never)
    }

    // Prices of the tariff in force, for "cost today" and chart costs.
    let prices: bigint[] = []
    let tariffCount: bigint | undefined
    const refreshPrices = async () => {
      const count = await ledger.tariffCount()
      if (count > 0n) prices = (await ledger.tariff(count)).prices
      // A new tariff may be the one a bill is retrying for: let it try now, not at its next backoff.
      if (tariffCount !== undefined && count !== tariffCount) biller.wake()
      tariffCount = count
    }
    await refreshPrices()
    const priceTimer = setInterval(() => void refreshPrices().catch(() => {}), 30_000)
    stops.push(async () => clearInterval(priceTimer))
    const priceAt = (time: number) =>
      prices.length === 0 ? 0n : (prices[Math.floor((time % 86_400) / intervalSeconds) % prices.length] ?? 0n)

    // Automation over its own MQTT connection.
    const automationClient = await connectMqtt(mqttUrl, {
      clientId: `zkmeter-automation-${meterAddress.slice(2, 10)}`,
    })
    stops.push(() => closeMqtt(automationClient))
    const rules = await openRuleStore(join(config.dataDir, 'rules.json'))
    const automation = createAutomation({
      client: automationClient,
      meter: meterTopicName(meterAddress),
      rules: rules.current(),
      // A raised hazard alarm is signed and sent to the neighbours (household/mesh.ts).
      ...(mesh ? { alarms: { broadcast: mesh.broadcastAlarm } } : {}),
    })
    await automation.start()
    stops.push(() => automation.stop())
    await publishDiscovery(automationClient, discoveryConfigs({ meter: meterTopicName(meterAddress) }))

    const stream = new SseHub()
    const devices = createDeviceRegistry()
    // Intervals feed the area aggregation, sealed periods the backups; mesh notices go on the stream.
    mesh?.attach(ingestor, stream)

    ingestor.on('record', (event) => {
      history.add(event.record)
      try {
        automation.onReading(event.record as unknown as Record<string, unknown>)
      } catch (error) {
        log({ level: 'warn', msg: 'automation refused a reading', error: String(error) })
      }
      stream.publish('reading', history.latest())
    })
    ingestor.on('anomaly', (anomaly) => stream.publish('anomaly', anomaly))
    const billPeriod = (period: PeriodResult) => {
      if (!period.manifestCid || !period.cidDigest) {
        log({
          level: 'error',
          msg: 'period verified but not sealed in the vault: cannot bill it yet',
          period: period.period.periodStart,
        })
        return
      }
      void biller
        .addPeriod({
          meter: period.meter,
          periodStart: period.period.periodStart,
          periodEnd: period.period.periodEnd,
          startCounter: period.period.startCounter,
          endCounter: period.period.endCounter,
          commitment: period.period.commitment,
          meterSignature: period.signature,
          manifestCid: period.manifestCid,
          cidDigest: period.cidDigest,
        })
        .catch((error) => log({ level: 'error', msg: 'could not record a bill', error: String(error) }))
    }
    ingestor.on('period', billPeriod)
    biller.on('bill', (bill) => stream.publish('bill', billView(bill)))
    for (const event of [
      'raised',
      'reactivated',
      'reacted',
      'escalated',
      'cleared',
      'acknowledged',
      'closed',
    ] as const) {
      automation.alarms.events.on(event, (alarm) => stream.publish('alarm', alarmView(alarm)))
    }
    automation.commander.events.on('relay', (channel, on) => stream.publish('relay', { channel, on }))
    automation.commander.events.on('fanSpeed', (fanSpeed) => stream.publish('relay', { fanSpeed }))

    if (utility && !registered.registered) {
      const devUtility = ledger.connect(utility)
      const onBoundary = (event: RecordEvent) => {
        if (event.record.kind !== 1 || event.record.time !== firstPeriodStart) return
        ingestor.off('record', onBoundary as never)
        registerDevMeter({
          ledger: devUtility,
          meter: meterAddress,
          household: wallet.address.toLowerCase() as `0x${string}`,
          areaId: DEV_AREA_ID,
          startTime: firstPeriodStart,
          startCounter: event.record.energyWh,
        }).then(
          () =>
            log({
              level: 'info',
              msg: 'meter registered on the ledger',
              startTime: firstPeriodStart,
              startCounter: event.record.energyWh,
            }),
          (error: unknown) =>
            log({ level: 'error', msg: 'could not register the meter', error: String(error) }),
        )
      }
      ingestor.on('record', onBoundary)
    }
    await ingestor.start()
    stops.push(() => ingestor.stop())
    // A meter wired by USB (--serial-port): its signed messages arrive as frames, not over MQTT.
    // start() does not wait for the device: an unplugged meter is retried with backoff.
    // Its commands and reports cross to the broker so automation and the API see an ordinary meter.
    if (config.serial.port !== undefined) {
      const bridge = createSerialMqttBridge({ mqttUrl, meter: meterTopicName(meterAddress), log })
      const serialLink = createSerialMeterLink({
        path: config.serial.port,
        baudRate: config.serial.baudRate,
        ingestor,
        onMessage: bridge.fromMeter,
        log,
      })
      await serialLink.start()
      stops.push(() => serialLink.stop())
      await bridge.start(serialLink)
      stops.push(() => bridge.stop())
    }
    // Periods assembled before a crash but never handed to billing: addPeriod is idempotent.
    for (const period of ingestor.periods(meterAddress)) billPeriod(period)
    await biller.resume()

    // Paid bills: the ledger's BillPaid is the truth, whoever paid (browser wallet or dev wallet).
    const paidWatch = setInterval(() => {
      void (async () => {
        for (const bill of bills.list()) {
          if (bill.status !== 'verified' || !bill.chainBillId) continue
          const status = await ledger.billStatus(bill.chainBillId)
          if (status.paid) {
            const record = await ledger.bill(bill.chainBillId).catch(() => undefined)
            await biller.markPaid(
              bill.chainBillId,
              (record?.transactionHash ?? '0x') as `0x${string}`,
              wallet.address as `0x${string}`,
            )
          }
        }
      })().catch((error) => log({ level: 'warn', msg: 'payment watch failed', error: String(error) }))
    }, 1000)
    stops.push(async () => clearInterval(paidWatch))

    // The virtual meter (embedded default).
    let meter: VirtualMeter | undefined
    if (config.meter.simulated && clockState && identity.meter.simulatedPrivateKey) {
      const clock = createScaledClock({ start: clockState.start, speed: config.meter.speed })
      meter = createVirtualMeter({
        privateKey: identity.meter.simulatedPrivateKey,
        pairingKey: identity.meter.pairingKey,
        domain: { chainId, verifyingContract: ledger.address },
        mqttUrl,
        clock,
        periodSize: prover.n,
        slots: prover.slots,
        periodDays: config.meter.periodDays,
        firstPeriodStart,
        stateFile: meterStateFile,
        log: (message) => log({ level: 'info', source: 'virtual-meter', msg: message }),
      })
      await meter.start()
      const saveClock = setInterval(() => void clockState.save(clock.now()).catch(() => {}), 2000)
      stops.push(async () => {
        clearInterval(saveClock)
        await clockState.save(clock.now())
        await meter?.stop()
      })
    }

    const context: HouseholdContext = {
      config,
      identity,
      ledger,
      wallet,
      utility,
      provider,
      chainId,
      rpcUrl,
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
      devices,
      stream,
      meter,
      mesh,
      priceAt,
      startedAt: Date.now(),
      log,
    }

    const api: HttpApi = createHttpApi({
      host: config.http.host,
      port: config.http.port,
      fallback: serveStatic(),
      log,
      categorize: categorizeDependencyFailure,
    })
    registerRoutes(api, context)
    const { url } = await api.start()
    stops.push(() => api.stop())
    log({ level: 'info', msg: 'household node ready', api: url, rpc: rpcUrl, mqtt: mqttUrl })

    return {
      context,
      urls: { api: url, rpc: rpcUrl, mqtt: mqttUrl },
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
