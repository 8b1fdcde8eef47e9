/**
 * Test helper: runs Debian's mosquitto on a free loopback port with a generated config (no
 * systemd, no persistence), and stops it with its temp dir. Tests that need it skip nothing: if
 * mosquitto is not installed they fail with a message saying how to install it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Mosquitto {
  url: string
  port: number
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function mosquittoBinary(): string {
  for (const candidate of ['mosquitto', '/usr/sbin/mosquitto']) {
    const probe = spawnSync(candidate, ['-h'], { stdio: 'ignore' })
    if (!probe.error) return candidate
  }
  throw new Error('mosquitto is not installed: run `apt-get install -y mosquitto` (CI installs it)')
}

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with code ${child.exitCode}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
      socket.connect(port, '127.0.0.1')
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`mosquitto did not listen on port ${port} within ${deadlineMs} ms`)
}

export async function startMosquitto(): Promise<Mosquitto> {
  const binary = mosquittoBinary()
  const dir = await mkdtemp(join(tmpdir(), 'zkm-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'message_size_limit 65536',
      '',
    ].join('\n'),
  )
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  try {
    await waitForPort(port, child, 5000)
  } catch (error) {
    child.kill('SIGKILL')
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
