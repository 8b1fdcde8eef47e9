/** The household `zkmeter` CLI as a user runs it: help, a clear error when no node answers, bad options. */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/** A loopback port nobody listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

let dir: string

beforeAll(async () => {
  // An empty data directory, so no config.json from a developer's ./data leaks into the test.
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-cli-'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('zkmeter (household CLI)', () => {
  it('status with no node running exits 1 and says where it looked', async () => {
    const port = await freePort()
    const r = await run(['status', '--data-dir', dir, '--port', String(port)])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`no household node answers at http://127.0.0.1:${port}`)
  }, 60_000)

  it('--help prints the usage, including the utility commands', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('usage: zkmeter <init|start|status|bills|pay|grant|export|utility>')
  }, 60_000)

  it('an unknown option exits 1 and names it', async () => {
    const r = await run(['status', '--data-dir', dir, '--colour', 'red'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ConfigError: unknown option --colour')
  }, 60_000)
})
