/**
 * The broker logins of the clients the node runs itself, made sure of at every start: the node's
 * own (ingest, automation, discovery, the serial bridge) and the virtual meter's. Their passwords
 * are derived from the household's root key (passwords.ts), so they need no storage in plaintext
 * and stay the same for an external Mosquitto configured once with `zkmeter broker-config`.
 * A real meter's login is made by the resident with `zkmeter meter add` (meter-users.ts).
 */
import { meterTopicName } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import type { CredentialStore, MqttCredentials } from './credentials.ts'
import { derivedPassword } from './passwords.ts'

/** The node's own user name on the broker. */
export const NODE_MQTT_USER = 'zkmeter-node'

export interface HouseholdLogins {
  node: MqttCredentials
  /** The virtual meter's login (simulated meter only). */
  virtualMeter?: MqttCredentials
}

export async function ensureHouseholdUsers(
  store: CredentialStore,
  identity: {
    rootKey: Uint8Array
    meter: { address: string; simulatedPrivateKey?: Uint8Array | undefined }
  },
  log: Logger,
): Promise<HouseholdLogins> {
  const node = { username: NODE_MQTT_USER, password: derivedPassword(identity.rootKey, NODE_MQTT_USER) }
  await store.ensure({ username: node.username, role: 'node' }, node.password)
  const meter = meterTopicName(identity.meter.address)
  if (identity.meter.simulatedPrivateKey) {
    const virtualMeter = { username: meter, password: derivedPassword(identity.rootKey, meter) }
    await store.ensure({ username: meter, role: 'meter' }, virtualMeter.password)
    return { node, virtualMeter }
  }
  if (!(await store.get(meter))) {
    log.warn('the meter has no broker login yet: it cannot connect until it is provisioned with one', {
      meter,
      fix: `zkmeter meter add ${meter}`,
    })
  }
  return { node }
}
