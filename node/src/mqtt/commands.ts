/**
 * The broker's commands of `zkmeter` (docs/broker.md):
 *
 *   zkmeter meter add <zkm_…|0x address> [--reset]   a meter's login; the password is printed once
 *   zkmeter mqtt-user add <name> --role R [--commands POWER2,…] [--reset]
 *   zkmeter mqtt-user list | remove <name>
 *   zkmeter broker-config --out DIR                  mosquitto.conf + passwd + acl for Mosquitto 2
 *
 * They work on the data directory's credential store directly, so they need no running node, and a
 * running embedded broker sees a change at the next CONNECT.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'
import { meterTopicName } from '#protocol/topics.ts'
import { loadConfig } from '../config.ts'
import { openHousehold } from '../identity/identity.ts'
import { silentLogger } from '../log/logger.ts'
import { DEFAULT_HOME_ASSISTANT_COMMANDS, MQTT_ROLES, type MqttRole } from './acl.ts'
import { checkCommands, openCredentialStore, UnknownMqttUserError } from './credentials.ts'
import { ensureHouseholdUsers } from './household-users.ts'
import { writeMosquittoConfig } from './mosquitto-config.ts'
import { readNodeCertificate } from './tls-files.ts'

export class BrokerCommandError extends ZkMeterError {
  override name = 'BrokerCommandError'
}

export const BROKER_COMMANDS = ['meter', 'mqtt-user', 'broker-config'] as const

const USAGE = `usage:
  zkmeter meter add <zkm_<40 hex>|0x<40 hex>|name> [--reset]     a meter's broker login (printed once)
  zkmeter mqtt-user add <name> --role node|meter|homeassistant|tool [--commands POWER2,FanSpeed] [--reset]
  zkmeter mqtt-user list | zkmeter mqtt-user remove <name>
  zkmeter broker-config --out DIR     Mosquitto 2 configuration with the same logins and ACLs`

/** Takes this command's own flags out of `flags`, leaving the node's configuration to loadConfig. */
function take(flags: Map<string, string>, name: string): string | undefined {
  const value = flags.get(name)
  flags.delete(name)
  return value
}

/** A meter's user name: its topic name, from an address or as given. */
function meterUsername(name: string): string {
  return /^0x[0-9a-fA-F]{40}$/.test(name) ? meterTopicName(name) : name
}

export async function runBrokerCommand(
  command: string,
  args: readonly string[],
  flags: Map<string, string>,
  env: Record<string, string | undefined>,
): Promise<unknown> {
  const reset = take(flags, 'reset') === 'true'
  const role = take(flags, 'role')
  const commands = take(flags, 'commands')
  const out = take(flags, 'out')
  const config = loadConfig({ flags, env })
  const store = openCredentialStore(config.dataDir)
  const [action, name] = args

  if (command === 'meter') {
    if (action !== 'add' || !name) throw new BrokerCommandError(USAGE)
    const username = meterUsername(name)
    const password = await store.add({ username, role: 'meter' }, reset)
    return {
      username,
      password,
      clientId: username,
      topics: {
        publish: [`tele/${username}/+`, `stat/${username}/+`],
        subscribe: [`cmnd/${username}/#`, `zkmeter/${username}/ack`],
      },
      note: 'shown once: provision the meter with it now (docs/firmware.md); `--reset` makes a new one',
    }
  }

  if (command === 'mqtt-user') {
    if (action === 'list') {
      return (await store.list()).map((u) => ({
        username: u.username,
        role: u.role,
        ...(u.commands ? { commands: u.commands } : {}),
      }))
    }
    if (action === 'remove' && name) {
      if (!(await store.remove(name))) throw new UnknownMqttUserError(`no MQTT user ${name}`)
      return { removed: name }
    }
    if (action !== 'add' || !name || !role) throw new BrokerCommandError(USAGE)
    if (!MQTT_ROLES.includes(role as MqttRole)) {
      throw new BrokerCommandError(
        `--role must be one of ${MQTT_ROLES.join(', ')}, got ${JSON.stringify(role)}`,
      )
    }
    if (commands !== undefined && role !== 'homeassistant') {
      throw new BrokerCommandError('--commands is for --role homeassistant: the relay commands it may send')
    }
    const allowed =
      commands === undefined ? undefined : checkCommands(commands.split(',').filter((c) => c.length > 0))
    const password = await store.add(
      { username: name, role: role as MqttRole, ...(allowed ? { commands: allowed } : {}) },
      reset,
    )
    return {
      username: name,
      role,
      password,
      ...(role === 'homeassistant' ? { commands: allowed ?? DEFAULT_HOME_ASSISTANT_COMMANDS } : {}),
      note: 'shown once; `--reset` makes a new one',
    }
  }

  if (command === 'broker-config') {
    if (!out) throw new BrokerCommandError(USAGE)
    // The node's and the virtual meter's logins are derived from the root key: make sure of them.
    const passphrase = env.ZKMETER_PASSPHRASE
    const identity = await openHousehold(config.dataDir, {
      dev: config.dev,
      ...(passphrase ? { passphrase } : {}),
    })
    await ensureHouseholdUsers(store, identity, silentLogger)
    const hasCertificate = existsSync(join(config.dataDir, 'tls', 'node.crt'))
    const tls = hasCertificate
      ? { port: config.mqtt.tlsPort ?? 8883, ...(await readNodeCertificate(config.dataDir)) }
      : undefined
    const files = await writeMosquittoConfig(out, await store.list(), {
      port: config.mqtt.embeddedPort,
      ...(tls ? { tls } : {}),
    })
    return {
      ...files,
      tls: tls ? { port: tls.port } : 'none: no node certificate yet (start the node with --listen once)',
      next: [
        'the files are 0600: chown them to the user mosquitto runs as (mosquitto)',
        `mosquitto -c ${files.conf}`,
        `zkmeter start --mqtt-url mqtt://127.0.0.1:${config.mqtt.embeddedPort}`,
        'after `zkmeter meter add` or `mqtt-user add`, run broker-config again and reload mosquitto (SIGHUP)',
      ],
    }
  }
  throw new BrokerCommandError(USAGE)
}
