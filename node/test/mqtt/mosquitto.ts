/**
 * Test helper: runs Debian's mosquitto on a reserved loopback port (test/support/ports.ts) with a
 * generated config (no systemd, no persistence), and stops it with its temp dir. Tests that need it
 * skip nothing: if mosquitto is not installed they fail with a message saying how to install it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOnFreePort } from '../../../test/support/ports.ts'
import { waitFor } from '../../../test/support/wait.ts'
import type { CredentialStore } from '../../src/mqtt/credentials.ts'
import { writeMosquittoConfig } from '../../src/mqtt/mosquitto-config.ts'

export interface Mosquitto {
  url: string
  port: number
  stop(): Promise<void>
}

function mosquittoBinary(): string {
  for (const candidate of ['mosquitto', '/usr/sbin/mosquitto']) {
    const probe = spawnSync(candidate, ['-h'], { stdio: 'ignore' })
    if (!probe.error) return candidate
  }
  throw new Error('mosquitto is not installed: run `apt-get install -y mosquitto` (CI installs it)')
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.connect(port, '127.0.0.1')
  })
}

/**
 * mosquitto must be told its port in its config, so it is started on a reserved port, and started
 * again on a fresh one if it still finds the port taken ("Address already in use").
 */
/**
 * Mosquitto configured by `zkmeter broker-config` from this credential store (its users must exist
 * before the start: mosquitto reads the password file once), so tests against it log in and are
 * held to the same ACLs as on the embedded broker.
 */
export async function startMosquitto(options: { credentials: CredentialStore }): Promise<Mosquitto> {
  const binary = mosquittoBinary()
  const users = await options.credentials.list()
  return startOnFreePort((port) => startMosquittoOn(binary, port, users))
}

async function startMosquittoOn(
  binary: string,
  port: number,
  users: Awaited<ReturnType<CredentialStore['list']>>,
): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'zkm-mosquitto-'))
  const { conf } = await writeMosquittoConfig(dir, users, {
    port,
    persistence: false,
    // Started as root (CI), mosquitto would drop to its own user, who cannot read our temp dir.
    ...(process.getuid?.() === 0 ? { runAs: 'root' } : {}),
  })
  await writeFile(conf, `${await readFile(conf, 'utf8')}log_dest stderr\nlog_type error\n`)
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  // 'close' comes after the child's stderr is read to the end: the failure message quotes all of it.
  const closed = new Promise((resolve) => child.once('close', resolve))
  try {
    await waitFor(
      `mosquitto to listen on port ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`)
        return accepts(port)
      },
      5000,
    )
  } catch (error) {
    child.kill('SIGKILL')
    await closed
    await rm(dir, { recursive: true, force: true })
    throw new Error(`${(error as Error).message}\n${stderr}`)
  }
  let stopped: Promise<void> | undefined
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGTERM')
          await exited
        }
        await rm(dir, { recursive: true, force: true })
      })()
      return stopped
    },
  }
}
