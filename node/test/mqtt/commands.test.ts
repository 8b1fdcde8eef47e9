/**
 * The broker's `zkmeter` commands on a real data directory: a meter's login printed once and
 * usable at once on a running broker, and broker-config's files carrying the node's derived login.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meterTopicName } from '#protocol/topics.ts'
import { initHousehold } from '../../src/identity/identity.ts'
import { type Broker, createBroker } from '../../src/mqtt/broker.ts'
import { closeMqtt, connectMqtt } from '../../src/mqtt/client.ts'
import { runBrokerCommand } from '../../src/mqtt/commands.ts'
import { openCredentialStore } from '../../src/mqtt/credentials.ts'
import { NODE_MQTT_USER } from '../../src/mqtt/household-users.ts'
import { derivedPassword, verifyPassword } from '../../src/mqtt/passwords.ts'

let dataDir: string
let broker: Broker
const run = (command: string, args: string[], flags: Record<string, string> = {}) =>
  runBrokerCommand(command, args, new Map(Object.entries({ 'data-dir': dataDir, ...flags })), {})

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-broker-cli-'))
  broker = createBroker({ port: 0, credentials: openCredentialStore(dataDir) })
  await broker.start()
})
afterAll(async () => {
  await broker.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('zkmeter meter add / mqtt-user / broker-config', () => {
  it('prints a meter login once that the running broker accepts at once', async () => {
    const address = `0x${'12'.repeat(20)}`
    const out = (await run('meter', ['add', address])) as { username: string; password: string }
    expect(out.username).toBe(meterTopicName(address))
    const client = await connectMqtt(broker.url, { ...out, clientId: out.username, reconnectPeriod: 0 })
    await closeMqtt(client)
    await expect(run('meter', ['add', address])).rejects.toThrow(/--reset/)
    const again = (await run('meter', ['add', address], { reset: 'true' })) as { password: string }
    expect(again.password).not.toBe(out.password)
  })

  it('adds Home Assistant with the commands given, refuses a bad role', async () => {
    const out = (await run('mqtt-user', ['add', 'homeassistant'], {
      role: 'homeassistant',
      commands: 'POWER2,FanSpeed',
    })) as {
      commands: string[]
    }
    expect(out.commands).toEqual(['POWER2', 'FanSpeed'])
    await expect(run('mqtt-user', ['add', 'x'], { role: 'admin' })).rejects.toThrow(/--role/)
    expect(await run('mqtt-user', ['list'])).toContainEqual({
      username: 'homeassistant',
      role: 'homeassistant',
      commands: ['POWER2', 'FanSpeed'],
    })
  })

  it("writes Mosquitto's files with the node's derived login and every user's rules", async () => {
    const identity = await initHousehold(dataDir, { dev: true })
    const out = join(dataDir, 'mosquitto')
    await run('broker-config', [], { out })
    const passwd = await readFile(join(out, 'passwd'), 'utf8')
    const nodeHash =
      passwd
        .split('\n')
        .find((l) => l.startsWith(`${NODE_MQTT_USER}:`))
        ?.split(':')[1] ?? ''
    expect(await verifyPassword(derivedPassword(identity.rootKey, NODE_MQTT_USER), nodeHash)).toBe(true)
    const acl = await readFile(join(out, 'acl'), 'utf8')
    expect(acl).toContain(
      `user ${meterTopicName(identity.meter.address)}\ntopic write tele/${meterTopicName(identity.meter.address)}/+`,
    )
    expect(acl).toContain('user homeassistant\ntopic read homeassistant/#')
    expect(acl).toContain('topic write cmnd/+/POWER2\ntopic write cmnd/+/FanSpeed')
    expect(await readFile(join(out, 'mosquitto.conf'), 'utf8')).toContain('allow_anonymous false')
  })
})
