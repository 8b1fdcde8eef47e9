/**
 * The virtual meter against the ingestor over the embedded broker (with logins), on a manual clock:
 * the stack of the virtual-meter ingest tests. Registers its own beforeEach/afterEach; the returned
 * object reads the running test's ingestor and meter.
 *
 *   const stack = virtualMeterStack({ keyFill: 9, pairingFill: 77, clock, firstPeriodStart: DAY0 })
 *   it('…', async () => { await clock.advanceTo(…); stack.ingestor.periods() … })
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { afterEach, beforeEach } from 'vitest'
import { addressOfPrivateKey } from '#protocol/eip712.ts'
import { createIngestor, type Ingestor } from '../../src/ingest/ingestor.ts'
import { createFileSink } from '../../src/ingest/sink.ts'
import type { ManualClock } from '../../src/meter/clock.ts'
import { createVirtualMeter, type VirtualMeter } from '../../src/meter/index.ts'
import type { VirtualMeterOptions } from '../../src/meter/options.ts'
import { meterPassword, startTestBroker, type TestBroker } from '../mqtt/users.ts'
import { DOMAIN, INTERVAL, N, tempDir } from './helpers.ts'

export interface VirtualMeterStack {
  readonly ingestor: Ingestor
  readonly meter: VirtualMeter
}

export function virtualMeterStack(options: {
  /** Fill bytes of the meter's key seed and pairing key: each test file its own meter. */
  keyFill: number
  pairingFill: number
  clock: ManualClock
  firstPeriodStart: number
  /** More virtual-meter options (a PV array, an export counter). */
  meter?: Partial<VirtualMeterOptions>
}): VirtualMeterStack {
  const privateKey = secp256k1.utils.randomSecretKey(new Uint8Array(48).fill(options.keyFill))
  const pairingKey = new Uint8Array(32).fill(options.pairingFill)
  const address = addressOfPrivateKey(privateKey)
  let broker: TestBroker | undefined
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined
  let ingestor: Ingestor | undefined
  let meter: VirtualMeter | undefined

  beforeEach(async () => {
    broker = await startTestBroker()
    dir = await tempDir()
    ingestor = createIngestor({
      mqttUrl: broker.url,
      mqttCredentials: broker.users.node,
      clientId: `vm-test-node-${options.keyFill}`,
      dataDir: `${dir.path}/node`,
      domain: DOMAIN,
      meters: [{ address, pairingKey, firstPeriodStart: options.firstPeriodStart }],
      intervalSeconds: INTERVAL,
      periodReadings: N,
      periodDays: 1,
      vault: createFileSink(`${dir.path}/vault`),
    })
    await ingestor.start()
    meter = createVirtualMeter({
      privateKey,
      pairingKey,
      domain: DOMAIN,
      mqttUrl: broker.url,
      mqttPassword: await meterPassword(broker.users, privateKey),
      clock: options.clock,
      periodSize: N,
      slots: 86_400 / INTERVAL,
      periodDays: 1,
      firstPeriodStart: options.firstPeriodStart,
      initialEnergyWh: 1_000_000,
      ...options.meter,
    })
    await meter.start()
  })

  afterEach(async () => {
    await meter?.stop()
    await ingestor?.stop()
    await broker?.stop()
    await dir?.remove()
  })

  const running = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} runs only inside a test`)
    return value
  }
  return {
    get ingestor() {
      return running(ingestor, 'ingestor')
    },
    get meter() {
      return running(meter, 'virtual meter')
    },
  }
}
