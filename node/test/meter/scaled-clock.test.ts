/** The meter on accelerated real time, as `npm start` runs it: records flow, stop() leaves nothing running. */
import { describe, expect, it } from 'vitest'
import { createScaledClock } from '../../src/meter/clock.ts'
import { createVirtualMeter } from '../../src/meter/virtual-meter.ts'
import { collect } from '../mqtt/collector.ts'
import { meterPassword, startTestBroker } from '../mqtt/users.ts'
import {
  DOMAIN,
  INTERVAL,
  MIDNIGHT,
  PAIRING_KEY,
  PRIVATE_KEY,
  signerOf,
  TEST_N,
  type ZkRecord,
} from './fixtures.ts'

describe('virtual meter on a scaled clock', () => {
  it('publishes interval records in accelerated time and stops cleanly', async () => {
    const broker = await startTestBroker()
    // The login first: the scaled clock runs from its creation, and a password hash takes a while.
    const mqttPassword = await meterPassword(broker.users, PRIVATE_KEY)
    // 9000× : one 15-minute interval every 100 ms of real time.
    const clock = createScaledClock({ start: MIDNIGHT, speed: 9000, tickMs: 25 })
    const meter = createVirtualMeter({
      privateKey: PRIVATE_KEY,
      pairingKey: PAIRING_KEY,
      domain: DOMAIN,
      mqttUrl: broker.url,
      mqttPassword,
      clock,
      periodSize: TEST_N,
      periodDays: 1,
    })
    const sub = await collect(broker.url, [meter.topics.sensor], broker.users.node)
    try {
      await meter.start()
      const messages = await sub.waitForCount(meter.topics.sensor, 60, 10_000)
      await meter.stop()
      const records = messages.map((m) => (JSON.parse(m.payload) as { ZK: ZkRecord }).ZK)
      expect(records.every((r) => signerOf(r) === meter.address)).toBe(true)
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i))
      const intervals = records.filter((r) => r.kind === 1)
      expect(intervals.length).toBeGreaterThan(2)
      expect(intervals.every((r) => r.time % INTERVAL === 0)).toBe(true)
      // Simulated time ran far ahead of real time.
      expect(meter.state().time - MIDNIGHT).toBeGreaterThan(3 * INTERVAL)
      const after = sub.messages.length
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(sub.messages.length).toBe(after)
    } finally {
      await meter.stop()
      await sub.close()
      await broker.stop()
    }
  })
})
