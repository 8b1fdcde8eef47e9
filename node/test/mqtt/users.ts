/**
 * Test helper: a real credential store in a temp directory (the one the node keeps in its data
 * directory), with the node's user made up front and more users on demand, and a broker on it.
 * Every test client logs in with credentials from here: no test talks to an open broker.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addressOfPrivateKey } from '#protocol/eip712.ts'
import { meterTopicName } from '#protocol/topics.ts'
import type { MqttRole } from '../../src/mqtt/acl.ts'
import { type Broker, type BrokerOptions, createBroker } from '../../src/mqtt/broker.ts'
import {
  type CredentialStore,
  type MqttCredentials,
  openCredentialStore,
} from '../../src/mqtt/credentials.ts'

export interface TestUsers {
  dataDir: string
  store: CredentialStore
  /** The node's own login (role node: reads and writes everything). */
  node: MqttCredentials
  /** A user of this role, created on first use with a random password. */
  user(username: string, role: MqttRole, commands?: readonly string[]): Promise<MqttCredentials>
  /** A meter's login: its user name is its topic name. */
  meter(topicName: string): Promise<MqttCredentials>
  remove(): Promise<void>
}

export async function createTestUsers(): Promise<TestUsers> {
  const dataDir = await mkdtemp(join(tmpdir(), 'zkm-mqtt-users-'))
  const store = openCredentialStore(dataDir)
  const made = new Map<string, MqttCredentials>()
  const user = async (username: string, role: MqttRole, commands?: readonly string[]) => {
    const known = made.get(username)
    if (known) return known
    const password = await store.add({ username, role, ...(commands ? { commands } : {}) })
    const credentials = { username, password }
    made.set(username, credentials)
    return credentials
  }
  const node = await user('node', 'node')
  return {
    dataDir,
    store,
    node,
    user,
    meter: (topicName) => user(topicName, 'meter'),
    remove: () => rm(dataDir, { recursive: true, force: true }),
  }
}

export interface TestBroker {
  broker: Broker
  url: string
  users: TestUsers
  stop(): Promise<void>
}

/** An embedded broker on an OS-given loopback port, with its own credential store. */
export async function startTestBroker(
  options: Partial<BrokerOptions> & { users?: TestUsers } = {},
): Promise<TestBroker> {
  const users = options.users ?? (await createTestUsers())
  const broker = createBroker({ port: 0, ...options, credentials: options.credentials ?? users.store })
  await broker.start()
  return {
    broker,
    url: broker.url,
    users,
    async stop() {
      await broker.stop()
      if (!options.users) await users.remove()
    },
  }
}

/** The broker password of the meter with this signing key (its user name is its topic name). */
export async function meterPassword(users: TestUsers, privateKey: Uint8Array): Promise<string> {
  return (await users.meter(meterTopicName(addressOfPrivateKey(privateKey)))).password
}
