/**
 * The meter's way in: a meter wired by USB (--serial-port), and the virtual meter (the embedded
 * default, on simulated time).
 */
import { meterTopicName } from '#protocol/topics.ts'
import type { NodeConfig } from '../config.ts'
import type { HouseholdIdentity } from '../identity/identity.ts'
import type { Ingestor } from '../ingest/ingestor.ts'
import type { Logger } from '../log/logger.ts'
import { createScaledClock } from '../meter/clock.ts'
import { createVirtualMeter, type VirtualMeter } from '../meter/index.ts'
import { createSerialMqttBridge } from '../serial/bridge.ts'
import { createSerialMeterLink } from '../serial/link.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { SimulatedStart } from './simulated-clock.ts'

/**
 * A meter wired by USB: its signed messages arrive as frames, not over MQTT. start() does not wait
 * for the device: an unplugged meter is retried with backoff. Its commands and reports cross to the
 * broker so automation and the API see an ordinary meter.
 */
export async function startSerialMeter(options: {
  serial: NodeConfig['serial']
  mqttUrl: string
  credentials: { username: string; password: string }
  meter: `0x${string}`
  ingestor: Ingestor
  lifecycle: Lifecycle
  log: Logger
}): Promise<void> {
  const { serial, lifecycle, log } = options
  if (serial.port === undefined) return
  const bridge = createSerialMqttBridge({
    mqttUrl: options.mqttUrl,
    credentials: options.credentials,
    meter: meterTopicName(options.meter),
    log,
  })
  const serialLink = createSerialMeterLink({
    path: serial.port,
    baudRate: serial.baudRate,
    ingestor: options.ingestor,
    onMessage: bridge.fromMeter,
    log,
  })
  await serialLink.start()
  lifecycle.started('serial link', serialLink)
  await bridge.start(serialLink)
  lifecycle.started('serial bridge', bridge)
}

/**
 * The virtual meter, on a clock that resumes where the last run stopped (simulated-clock.ts):
 * created here, started by `start()`. The node starts it after its API answers: the meter's start
 * waits until the node has acknowledged the backlog it replays after a restart (seconds on a busy
 * machine), and a meter is a device of its own, which the node's start need not wait for.
 */
export function createHomeVirtualMeter(options: {
  config: NodeConfig
  identity: HouseholdIdentity
  clockState: SimulatedStart | undefined
  domain: Parameters<typeof createVirtualMeter>[0]['domain']
  mqttUrl: string
  /** The virtual meter's broker password (its user name is its topic name). */
  mqttPassword: string | undefined
  circuit: { n: number; slots: number }
  firstPeriodStart: number
  stateFile: string
  lifecycle: Lifecycle
  log: Logger
}): { meter: VirtualMeter; start(): Promise<void> } | undefined {
  const { config, identity, clockState, log } = options
  if (!config.meter.simulated || !clockState || !identity.meter.simulatedPrivateKey) return undefined
  const clock = createScaledClock({
    start: clockState.start,
    speed: config.meter.speed,
    // Simulated time starts with the meter, not while the node starts its API and broker first.
    startOnFirstRead: true,
  })
  const meter = createVirtualMeter({
    privateKey: identity.meter.simulatedPrivateKey,
    pairingKey: identity.meter.pairingKey,
    domain: options.domain,
    mqttUrl: options.mqttUrl,
    ...(options.mqttPassword === undefined ? {} : { mqttPassword: options.mqttPassword }),
    clock,
    periodSize: options.circuit.n,
    slots: options.circuit.slots,
    periodDays: config.meter.periodDays,
    ...(config.meter.livePeriodSeconds === undefined
      ? {}
      : { livePeriodSeconds: config.meter.livePeriodSeconds }),
    ...(config.meter.pvPeakW === undefined ? {} : { pv: { peakW: config.meter.pvPeakW } }),
    firstPeriodStart: options.firstPeriodStart,
    stateFile: options.stateFile,
    log,
  })
  return {
    meter,
    async start() {
      await meter.start()
      const saveClock = setInterval(() => void clockState.save(clock.now()).catch(() => {}), 2000)
      options.lifecycle.started('virtual meter', async () => {
        clearInterval(saveClock)
        await clockState.save(clock.now())
        await meter.stop()
      })
    },
  }
}
