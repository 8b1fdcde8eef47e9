/** Shared rig for virtual meter tests: keys, a manual clock, a meter and a subscriber on a broker. */

import { type Eip712Domain, meterRecordDigest, recoverSigner } from '#protocol/eip712.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'
import { createManualClock, type ManualClock } from '../../src/meter/clock.ts'
import {
  createVirtualMeter,
  type VirtualMeter,
  type VirtualMeterOptions,
} from '../../src/meter/virtual-meter.ts'
import { type Collector, collect } from '../mqtt/collector.ts'
import { meterPassword, type TestBroker } from '../mqtt/users.ts'

export const PRIVATE_KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
export const PAIRING_KEY = Uint8Array.from({ length: 32 }, (_, i) => 200 - i)
export const DOMAIN: Eip712Domain = {
  chainId: 31337n,
  verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
}
/** 2026-11-23 00:00:00 UTC, a Monday. */
export const MIDNIGHT = Date.UTC(2026, 10, 23) / 1000
export const INTERVAL = 900
/** Test profile of the circuit: two days of 15-minute readings. */
export const TEST_N = 192

export interface ZkRecord {
  seq: number
  kind: number
  time: number
  energyWh: number
  intervalWh: number
  exportedWh: number
  intervalExportedWh: number
  powerW: number
  voltageMv: number
  currentMa: number
  powerFactor: number
  temperatureCenti: number
  light: number
  gas: number
  water: number
  hazards: number
  relays: number
  fanSpeed: number
  sig: `0x${string}`
}

export interface Rig {
  meter: VirtualMeter
  clock: ManualClock
  sub: Collector
  logs: LogEntry[]
  /** Every SENSOR record received so far, in arrival order. */
  records(): ZkRecord[]
  /** Waits for a received record matching the predicate. */
  waitForRecord(predicate: (r: ZkRecord) => boolean, what: string): Promise<ZkRecord>
  close(): Promise<void>
}

export async function startRig(
  broker: Pick<TestBroker, 'url' | 'users'>,
  overrides: Partial<VirtualMeterOptions> = {},
  start = MIDNIGHT,
): Promise<Rig> {
  const clock = createManualClock(start)
  const logs: LogEntry[] = []
  const { url, users } = broker
  const meter = createVirtualMeter({
    privateKey: PRIVATE_KEY,
    pairingKey: PAIRING_KEY,
    domain: DOMAIN,
    mqttUrl: url,
    mqttPassword: await meterPassword(users, overrides.privateKey ?? PRIVATE_KEY),
    clock,
    periodSize: TEST_N,
    periodDays: 1,
    livePeriodSeconds: 300,
    log: createLogger({ sink: (entry) => logs.push(entry) }),
    ...overrides,
  })
  const sub = await collect(url, [`+/${meter.topic}/#`], users.node)
  await meter.start()
  return {
    meter,
    clock,
    sub,
    logs,
    records: () => sub.on(meter.topics.sensor).map((m) => (JSON.parse(m.payload) as { ZK: ZkRecord }).ZK),
    async waitForRecord(predicate, what) {
      const message = await sub.waitFor(
        (m) => m.topic === meter.topics.sensor && predicate((JSON.parse(m.payload) as { ZK: ZkRecord }).ZK),
        5000,
        what,
      )
      return (JSON.parse(message.payload) as { ZK: ZkRecord }).ZK
    },
    async close() {
      await meter.stop()
      await sub.close()
    },
  }
}

export function signerOf(record: ZkRecord): string {
  const { sig, ...fields } = record
  const { v: _v, ...message } = fields as ZkRecord & { v?: number }
  return recoverSigner(meterRecordDigest(DOMAIN, message), sig)
}
