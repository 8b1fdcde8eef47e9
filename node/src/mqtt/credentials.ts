/**
 * The broker's users: `<dataDir>/mqtt/users.json` (0600, in a 0700 directory), one entry per client
 * with its role and the `$7$` hash of its password (passwords.ts); never a password. The embedded
 * broker reads it on every CONNECT (cached by modification time), so `zkmeter meter add` takes
 * effect on a running node without a restart.
 */
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import { COMMAND_RE, MQTT_ROLES, type MqttPrincipal, type MqttRole } from './acl.ts'
import { checkUsername, hashPassword, isPasswordHash, newPassword, verifyPassword } from './passwords.ts'

export interface MqttUser extends MqttPrincipal {
  /** `$7$<iterations>$<salt>$<hash>` (Mosquitto 2's PBKDF2-SHA512 format). */
  hash: string
}

/** What a client presents: its user name and password. */
export interface MqttCredentials {
  username: string
  password: string
}

/** The file is missing fields, has an unknown role or a malformed hash: refused, never half-read. */
export class CredentialStoreError extends ZkMeterError {
  override name = 'CredentialStoreError'
  override readonly category = 'internal'
}

export class UnknownMqttUserError extends ZkMeterError {
  override name = 'UnknownMqttUserError'
  override readonly category = 'not-found'
}

export class MqttUserExistsError extends ZkMeterError {
  override name = 'MqttUserExistsError'
  override readonly category = 'conflict'
}

export interface CredentialStore {
  readonly path: string
  list(): Promise<MqttUser[]>
  get(username: string): Promise<MqttUser | undefined>
  /** The user whose password this is, or undefined (unknown user and wrong password alike). */
  authenticate(
    username: string | undefined,
    password: string | Buffer | undefined,
  ): Promise<MqttUser | undefined>
  /**
   * Creates the user with a fresh random password and returns it: the only time it exists in
   * plaintext. `replace` gives an existing user a new password (the old one stops working).
   */
  add(
    user: { username: string; role: MqttRole; commands?: readonly string[] },
    replace?: boolean,
  ): Promise<string>
  /**
   * Makes sure the user exists with exactly this password (the node's own clients, whose
   * passwords are derived from the root key): writes only when the entry is missing or differs.
   */
  ensure(user: { username: string; role: MqttRole }, password: string): Promise<void>
  remove(username: string): Promise<boolean>
}

export const credentialsPath = (dataDir: string): string => join(dataDir, 'mqtt', 'users.json')

function parseUsers(value: unknown, path: string): MqttUser[] {
  if (value === undefined) return []
  const fail = (why: string): never => {
    throw new CredentialStoreError(`${path} is not a valid MQTT user file: ${why}`, { details: { path } })
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { users?: unknown }).users)) {
    return fail('expected {"users": [...]}')
  }
  return ((value as { users: unknown[] }).users ?? []).map((entry, i) => {
    const e = entry as Partial<MqttUser>
    if (typeof e.username !== 'string') return fail(`users[${i}].username is missing`)
    try {
      checkUsername(e.username)
    } catch {
      fail(`users[${i}].username is not a valid user name`)
    }
    if (!MQTT_ROLES.includes(e.role as MqttRole))
      return fail(`users[${i}].role is not one of ${MQTT_ROLES.join(', ')}`)
    if (!isPasswordHash(e.hash)) return fail(`users[${i}].hash is not a $7$ password hash`)
    if (
      e.commands !== undefined &&
      (!Array.isArray(e.commands) || !e.commands.every((c) => COMMAND_RE.test(c)))
    )
      return fail(`users[${i}].commands must be command names`)
    return {
      username: e.username,
      role: e.role as MqttRole,
      hash: e.hash,
      ...(e.commands ? { commands: [...e.commands] } : {}),
    }
  })
}

export function checkCommands(commands: readonly string[]): readonly string[] {
  for (const c of commands) {
    if (!COMMAND_RE.test(c)) {
      throw new ZkMeterError(
        `${JSON.stringify(c.slice(0, 40))} is not a command name such as POWER6 or FanSpeed`,
      )
    }
  }
  return commands
}

export function openCredentialStore(dataDir: string): CredentialStore {
  const path = credentialsPath(dataDir)
  let cache: { mtimeMs: number; size: number; users: MqttUser[] } | undefined

  async function list(): Promise<MqttUser[]> {
    let info: { mtimeMs: number; size: number }
    try {
      info = await stat(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    if (cache && cache.mtimeMs === info.mtimeMs && cache.size === info.size) return cache.users
    const users = parseUsers(await readJsonFile(path), path)
    cache = { mtimeMs: info.mtimeMs, size: info.size, users }
    return users
  }

  async function save(users: MqttUser[]): Promise<void> {
    const dir = join(dataDir, 'mqtt')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
    await writeJsonAtomic(path, { users })
    cache = undefined
  }

  const get = async (username: string) => (await list()).find((u) => u.username === username)

  return {
    path,
    list,
    get,
    async authenticate(username, password) {
      if (typeof username !== 'string' || password === undefined) return undefined
      const user = await get(username)
      if (!user) return undefined
      return (await verifyPassword(password, user.hash)) ? user : undefined
    },
    async add(spec, replace = false) {
      checkUsername(spec.username)
      if (spec.commands) checkCommands(spec.commands)
      const users = await list()
      const existing = users.find((u) => u.username === spec.username)
      if (existing && !replace) {
        throw new MqttUserExistsError(
          `MQTT user ${spec.username} exists already; pass --reset to give it a new password`,
        )
      }
      const password = newPassword()
      const user: MqttUser = {
        username: spec.username,
        role: spec.role,
        hash: await hashPassword(password),
        ...(spec.commands ? { commands: [...spec.commands] } : {}),
      }
      await save([...users.filter((u) => u.username !== spec.username), user])
      return password
    },
    async ensure(spec, password) {
      checkUsername(spec.username)
      const users = await list()
      const existing = users.find((u) => u.username === spec.username)
      if (existing && existing.role === spec.role && (await verifyPassword(password, existing.hash))) return
      const user: MqttUser = { username: spec.username, role: spec.role, hash: await hashPassword(password) }
      await save([...users.filter((u) => u.username !== spec.username), user])
    },
    async remove(username) {
      const users = await list()
      if (!users.some((u) => u.username === username)) return false
      await save(users.filter((u) => u.username !== username))
      return true
    },
  }
}
