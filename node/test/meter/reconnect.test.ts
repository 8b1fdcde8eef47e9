/** The meter survives its broker going away: it reconnects, re-announces itself and delivers what it held. */
import { describe, expect, it } from 'vitest'
import { createBroker } from '../../src/mqtt/broker.ts'
import { collect } from '../mqtt/collector.ts'
import { createTestUsers } from '../mqtt/users.ts'
import { INTERVAL, startRig } from './fixtures.ts'

describe('virtual meter and a restarting broker', () => {
  it('holds records while the broker is down and delivers them after it comes back', async () => {
    const users = await createTestUsers()
    const first = createBroker({ port: 0, credentials: users.store })
    await first.start()
    const port = first.port
    const rig = await startRig({ url: first.url, users }, { livePeriodSeconds: 900 })
    let second: ReturnType<typeof createBroker> | undefined
    try {
      await rig.clock.advance(INTERVAL)
      await first.stop()
      // Time goes on while the broker is away; advance() resolves only once the broker has them.
      let advanced = false
      const during = rig.clock.advance(2 * INTERVAL).then(() => {
        advanced = true
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(advanced).toBe(false)
      expect(rig.meter.state().nextSeq).toBe(6)
      second = createBroker({ port, credentials: users.store })
      await second.start()
      await during
      // From then on records flow as before (a fresh subscriber: the old one is still reconnecting).
      const late = await collect(second.url, [rig.meter.topics.sensor, rig.meter.topics.lwt], users.node)
      await late.waitFor(
        (m) => m.topic === rig.meter.topics.lwt && m.payload === 'Online',
        5000,
        'Online again',
      )
      await rig.clock.advance(INTERVAL)
      const message = await late.waitFor((m) => m.topic === rig.meter.topics.sensor, 5000, 'a record')
      await late.close()
      expect(JSON.parse(message.payload).ZK).toMatchObject({ seq: 6, kind: 1 })
      expect(rig.meter.state().running).toBe(true)
    } finally {
      await rig.close()
      await second?.stop()
      await first.stop()
      await users.remove()
    }
  })
})
