/**
 * The same meter against an external broker, Debian's mosquitto (what `--mqtt-url` selects): the
 * meter must not depend on anything aedes-specific.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commit, deriveSalt } from '#protocol/commitment.ts'
import { billingPeriodDigest, hexToBytes, recoverSigner } from '#protocol/eip712.ts'
import { type Mosquitto, startMosquitto } from '../mqtt/mosquitto.ts'
import { createTestUsers, meterPassword, type TestUsers } from '../mqtt/users.ts'
import { DOMAIN, INTERVAL, PAIRING_KEY, PRIVATE_KEY, signerOf, startRig, TEST_N } from './fixtures.ts'

let mosquitto: Mosquitto
let users: TestUsers

beforeAll(async () => {
  // Mosquitto reads its password file once: the meter's login exists before it starts.
  users = await createTestUsers()
  await meterPassword(users, PRIVATE_KEY)
  mosquitto = await startMosquitto({ credentials: users.store })
})
afterAll(async () => {
  await mosquitto?.stop()
  await users?.remove()
})

describe('virtual meter over mosquitto', () => {
  it('publishes verifiable records and a period close, and obeys commands', async () => {
    const rig = await startRig({ url: mosquitto.url, users }, { livePeriodSeconds: 900 })
    try {
      const { meter, sub, clock } = rig
      await sub.waitFor((m) => m.topic === meter.topics.lwt && m.payload === 'Online', 3000, 'Online')
      await sub.client.publishAsync(meter.topics.command('POWER3'), 'ON', { qos: 1 })
      await sub.waitFor((m) => m.topic === meter.topics.power(3) && m.payload === 'ON', 3000, 'POWER3 ON')
      await clock.advance(86_400)
      const periodMessage = await sub.waitFor((m) => m.topic === meter.topics.period, 5000, 'PERIOD')
      await sub.waitForCount(meter.topics.sensor, 192)
      const records = rig.records()
      expect(records.every((r) => signerOf(r) === meter.address)).toBe(true)
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i))
      const intervals = records.filter((r) => r.kind === 1)
      expect(intervals.every((r) => (r.relays & 0b100) !== 0)).toBe(true)
      const period = JSON.parse(periodMessage.payload)
      const readings = new Array<number>(TEST_N).fill(0)
      for (const r of intervals) readings[(r.time - INTERVAL - period.periodStart) / INTERVAL] = r.intervalWh
      const salt = deriveSalt(PAIRING_KEY, hexToBytes(meter.address, 20), period.periodStart)
      expect(BigInt(period.commitment)).toBe(commit(readings, salt, TEST_N))
      expect(period.endCounter - period.startCounter).toBe(readings.reduce((a, b) => a + b, 0))
      const { sig, v: _v, ...fields } = period
      expect(
        recoverSigner(billingPeriodDigest(DOMAIN, { ...fields, commitment: BigInt(fields.commitment) }), sig),
      ).toBe(meter.address)
      // Daily energy of the simulated home is in a believable range.
      expect(period.endCounter - period.startCounter).toBeGreaterThan(5000)
      expect(period.endCounter - period.startCounter).toBeLessThan(25_000)
      await meter.stop()
      await sub.waitFor((m) => m.topic === meter.topics.lwt && m.payload === 'Offline', 3000, 'Offline')
    } finally {
      await rig.close()
    }
  })
})
