/** Password hashes in Mosquitto 2's format, interchangeable with Debian's mosquitto_passwd. */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openCredentialStore } from '../../src/mqtt/credentials.ts'
import { derivedPassword, hashPassword, newPassword, verifyPassword } from '../../src/mqtt/passwords.ts'

describe('MQTT passwords', () => {
  it('verifies a hash written by mosquitto_passwd and writes one of the same shape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zkm-passwd-'))
    try {
      const file = join(dir, 'passwd')
      const run = spawnSync('mosquitto_passwd', ['-c', '-b', file, 'alice', 'correct horse'])
      expect(run.error, 'mosquitto_passwd (apt-get install mosquitto)').toBeUndefined()
      const hash = (await readFile(file, 'utf8')).trim().split(':')[1] as string
      expect(hash).toMatch(/^\$7\$101\$/)
      expect(await verifyPassword('correct horse', hash)).toBe(true)
      expect(await verifyPassword('correct horsf', hash)).toBe(false)
      const ours = await hashPassword('correct horse')
      expect(ours).toMatch(/^\$7\$10000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/)
      expect(await verifyPassword('correct horse', ours)).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('makes random passwords and stable derived ones', () => {
    expect(newPassword()).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(newPassword()).not.toBe(newPassword())
    const root = new Uint8Array(32).fill(3)
    expect(derivedPassword(root, 'zkmeter-node')).toBe(derivedPassword(root, 'zkmeter-node'))
    expect(derivedPassword(root, 'zkmeter-node')).not.toBe(derivedPassword(root, 'zkm_a'))
  })

  it('keeps only hashes, in a 0600 file in a 0700 directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zkm-users-'))
    try {
      const store = openCredentialStore(dir)
      const password = await store.add({ username: 'zkm_a', role: 'meter' })
      const text = await readFile(store.path, 'utf8')
      expect(text).not.toContain(password)
      expect((await stat(store.path)).mode & 0o777).toBe(0o600)
      expect((await stat(join(dir, 'mqtt'))).mode & 0o777).toBe(0o700)
      expect(await store.authenticate('zkm_a', password)).toMatchObject({ username: 'zkm_a', role: 'meter' })
      expect(await store.authenticate('zkm_a', `${password}x`)).toBeUndefined()
      expect(await store.authenticate('zkm_b', password)).toBeUndefined()
      await expect(store.add({ username: 'zkm_a', role: 'meter' })).rejects.toThrow(/--reset/)
      const again = await store.add({ username: 'zkm_a', role: 'meter' }, true)
      expect(await store.authenticate('zkm_a', password)).toBeUndefined()
      expect(await store.authenticate('zkm_a', again)).toBeDefined()
      await expect(store.add({ username: 'a/#', role: 'tool' })).rejects.toThrow(/user name/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
