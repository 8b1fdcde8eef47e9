/**
 * The embedded broker's access control against the attacks of policy.ts, plus what only the
 * embedded broker enforces: client ids bound to their users (no session takeover).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'
import { MqttConnectRefusedError } from '../../src/mqtt/errors.ts'
import { describeBrokerPolicy, HOME_ASSISTANT_COMMANDS, POLICY_METERS } from './policy.ts'
import { startTestBroker, type TestBroker } from './users.ts'

describeBrokerPolicy('embedded aedes broker', async () => {
  const t = await startTestBroker()
  return {
    host: '127.0.0.1',
    port: t.broker.port,
    url: t.url,
    node: t.users.node,
    meterA: await t.users.meter(POLICY_METERS.A),
    meterB: await t.users.meter(POLICY_METERS.B),
    homeAssistant: await t.users.user('homeassistant', 'homeassistant', HOME_ASSISTANT_COMMANDS),
    stop: () => t.stop(),
  }
})

describe('embedded broker: client ids belong to their users', () => {
  let t: TestBroker
  beforeAll(async () => {
    t = await startTestBroker()
  })
  afterAll(() => t.stop())

  it("refuses a meter that takes the node's or another meter's client id", async () => {
    const a = await t.users.meter(POLICY_METERS.A)
    await t.users.meter(POLICY_METERS.B)
    const ha = await t.users.user('homeassistant', 'homeassistant')
    for (const [credentials, clientId] of [
      [a, 'zkmeter-node-12345678'],
      [a, POLICY_METERS.B],
      [ha, 'zkmeter-node-12345678'],
      [ha, POLICY_METERS.A],
    ] as const) {
      await expect(
        connectMqtt(t.url, { ...credentials, clientId, reconnectPeriod: 0, timeoutMs: 3000 }),
      ).rejects.toBeInstanceOf(MqttConnectRefusedError)
    }
    const own = await connectMqtt(t.url, { ...a, clientId: POLICY_METERS.A, reconnectPeriod: 0 })
    await closeMqtt(own)
  })
})
