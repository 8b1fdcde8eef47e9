/**
 * A broker login for a test that drives a running node's embedded broker from outside (injecting a
 * simulated hazard, say): made in the node's credential store, as `zkmeter mqtt-user add` would,
 * and seen by the running broker at the next CONNECT. Role node: such a test harness plays the node.
 */
import type { MqttRole } from '../../node/src/mqtt/acl.ts'
import { openCredentialStore } from '../../node/src/mqtt/credentials.ts'

export async function addMqttLogin(
  dataDir: string,
  username: string,
  role: MqttRole = 'node',
): Promise<{ username: string; password: string }> {
  const password = await openCredentialStore(dataDir).add({ username, role }, true)
  return { username, password }
}
