/**
 * The same attacks as access.test.ts against Debian's Mosquitto running the configuration
 * `zkmeter broker-config` writes (password file in `$7$` format, ACL file from acl.ts): the policy
 * holds on an external broker too.
 */

import { startMosquitto } from './mosquitto.ts'
import { describeBrokerPolicy, HOME_ASSISTANT_COMMANDS, POLICY_METERS } from './policy.ts'
import { createTestUsers } from './users.ts'

describeBrokerPolicy('Mosquitto with the generated configuration', async () => {
  const users = await createTestUsers()
  const meterA = await users.meter(POLICY_METERS.A)
  const meterB = await users.meter(POLICY_METERS.B)
  const homeAssistant = await users.user('homeassistant', 'homeassistant', HOME_ASSISTANT_COMMANDS)
  const mosquitto = await startMosquitto({ credentials: users.store })
  return {
    host: '127.0.0.1',
    port: mosquitto.port,
    url: mosquitto.url,
    node: users.node,
    meterA,
    meterB,
    homeAssistant,
    async stop() {
      await mosquitto.stop()
      await users.remove()
    },
  }
})
