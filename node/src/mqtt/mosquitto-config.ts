/**
 * `zkmeter broker-config`: the same access policy for an external Mosquitto 2 (docs/broker.md).
 * Writes mosquitto.conf, a password file (the `$7$` hashes of the credential store, as
 * mosquitto_passwd writes them: no password is needed or known here) and an ACL file with each
 * user's rules from acl.ts spelled out, so both brokers enforce one policy.
 */
import { chmod, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '../storage/json-file.ts'
import { rulesFor } from './acl.ts'
import { DEFAULT_MAX_PAYLOAD_BYTES } from './broker.ts'
import type { MqttUser } from './credentials.ts'

export interface MosquittoConfigOptions {
  /** Plain listener; loopback only, like the embedded broker's. */
  port?: number
  host?: string
  /** A TLS listener for meters on the LAN, with the node's certificate and key (PEM). */
  tls?: { port: number; key: string; cert: string }
  /** Keep retained messages (acks, closes, discovery) across restarts. Default true. */
  persistence?: boolean
  maxPayloadBytes?: number
  /**
   * The user mosquitto runs as when started as root (its `user` option): it reads the password
   * and ACL files after dropping to this user, so they must be readable by it. Default: mosquitto's
   * own default (`mosquitto`); the files are 0600, so chown them to that user.
   */
  runAs?: string
}

export interface MosquittoConfigFiles {
  conf: string
  passwordFile: string
  aclFile: string
}

export function mosquittoPasswordFile(users: readonly MqttUser[]): string {
  return users.map((u) => `${u.username}:${u.hash}\n`).join('')
}

export function mosquittoAclFile(users: readonly MqttUser[]): string {
  const lines = [
    '# zkmeter broker policy (node/src/mqtt/acl.ts); anonymous clients are refused by mosquitto.conf',
  ]
  for (const user of users) {
    lines.push('', `# ${user.role}`, `user ${user.username}`)
    for (const rule of rulesFor(user)) lines.push(`topic ${rule.access} ${rule.filter}`)
  }
  return `${lines.join('\n')}\n`
}

export function mosquittoConf(dir: string, options: MosquittoConfigOptions): string {
  const abs = resolve(dir)
  const lines = [
    "# zkmeter: an external Mosquitto 2 with the node's access policy (written by `zkmeter broker-config`)",
    ...(options.runAs === undefined ? [] : [`user ${options.runAs}`]),
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${join(abs, 'passwd')}`,
    `acl_file ${join(abs, 'acl')}`,
    // The embedded broker's bound: payload plus room for the header and topic.
    `max_packet_size ${(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES) + 1024}`,
    options.persistence === false ? 'persistence false' : `persistence true\npersistence_location ${abs}/`,
    '',
    '# plain MQTT for the node itself, on loopback only',
    `listener ${options.port ?? 1883} ${options.host ?? '127.0.0.1'}`,
  ]
  if (options.tls) {
    lines.push(
      '',
      "# MQTT over TLS for meters on the home network, with the node's certificate",
      `listener ${options.tls.port}`,
      `certfile ${join(abs, 'node.crt')}`,
      `keyfile ${join(abs, 'node.key')}`,
      'tls_version tlsv1.2',
    )
  }
  return `${lines.join('\n')}\n`
}

/** Writes the three files (and the TLS pair) into `dir`, 0600 in a 0700 directory. */
export async function writeMosquittoConfig(
  dir: string,
  users: readonly MqttUser[],
  options: MosquittoConfigOptions = {},
): Promise<MosquittoConfigFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const files = {
    conf: join(dir, 'mosquitto.conf'),
    passwordFile: join(dir, 'passwd'),
    aclFile: join(dir, 'acl'),
  }
  await writeFileAtomic(files.passwordFile, mosquittoPasswordFile(users))
  await writeFileAtomic(files.aclFile, mosquittoAclFile(users))
  if (options.tls) {
    await writeFileAtomic(join(dir, 'node.key'), options.tls.key)
    await writeFileAtomic(join(dir, 'node.crt'), options.tls.cert)
  }
  await writeFileAtomic(files.conf, mosquittoConf(dir, options))
  return files
}
