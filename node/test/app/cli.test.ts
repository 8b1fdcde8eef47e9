/**
 * The household `zkmeter` CLI as a user runs it: help, a clear error when no node answers, bad
 * options, and `npm start`'s form — the esbuild bundle — serving the UI and the API from its paths.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import { fetchAsAdmin } from '../../../test/support/node-auth.ts'
import { reservePort as freePort } from '../../../test/support/ports.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { BUNDLE, buildNode, NODE_RUN_FLAGS } from '../../../tools/build-node.mjs'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: scaledBudget(60_000) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
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
  it(
    'status with no node running exits 1 and says where it looked',
    async () => {
      const port = await freePort()
      const r = await run(['status', '--data-dir', dir, '--port', String(port)])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`no household node answers at http://127.0.0.1:${port}`)
    },
    scaledBudget(60_000),
  )

  it(
    '--help prints the usage, including the utility commands',
    async () => {
      const r = await run(['--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(
        'usage: zkmeter <init|start|status|bills|pay|retry|grant|export|cert|pair|tokens|utility|ceremony|verify-setup>',
      )
    },
    scaledBudget(60_000),
  )

  it(
    'an unknown option exits 1 and names it',
    async () => {
      const r = await run(['status', '--data-dir', dir, '--colour', 'red'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('ConfigError: unknown option --colour')
    },
    scaledBudget(60_000),
  )
})

describe('zkmeter start as npm start runs it (the bundle)', () => {
  it(
    'serves the UI and the API, then stops with its dev chain on SIGTERM',
    async () => {
      await buildNode()
      const dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-bundle-'))
      const port = await freePort()
      const node = spawn(
        process.execPath,
        [...NODE_RUN_FLAGS, BUNDLE, 'start', '--data-dir', dataDir, '--port', String(port)].concat([
          '--chain-port',
          '0',
          '--mqtt-port',
          '0',
        ]),
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let output = ''
      let printed = ''
      let logged = ''
      node.stdout.on('data', (d) => {
        output = (output + String(d)).slice(-4000)
        printed += String(d)
      })
      node.stderr.on('data', (d) => {
        output = (output + String(d)).slice(-4000)
        logged += String(d)
      })
      const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()))
      try {
        const api = `http://127.0.0.1:${port}`
        const deadline = Date.now() + 60_000
        for (;;) {
          if (node.exitCode !== null)
            throw new Error(`the bundled node exited (${node.exitCode}):\n${output}`)
          const ok = await fetchAsAdmin(dataDir, `${api}/api/status`).then(
            (r) => r.ok,
            () => false,
          )
          if (ok) break
          if (Date.now() > deadline)
            throw new Error(`the bundled node did not answer within 60 s:\n${output}`)
          await new Promise((r) => setTimeout(r, 200))
        }
        // Paths resolved from import.meta.url inside the bundle: the UI, the ledger ABI (status reads
        // the ledger), the circuit build (the prover's size).
        const index = await fetch(`${api}/`)
        expect(index.status).toBe(200)
        expect(await index.text()).toContain('<html')
        const status = (await (await fetchAsAdmin(dataDir, `${api}/api/status`)).json()) as {
          chain: { ledger: string }
        }
        expect(status.chain.ledger).toMatch(/^0x[0-9a-fA-F]{40}$/)
        await pairingAndTokens({ api, dataDir, port, printed: () => printed, logged: () => logged })
        const children = (await readFile(`/proc/${node.pid}/task/${node.pid}/children`, 'utf8'))
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number)
        expect(children.length).toBeGreaterThan(0)
        node.kill('SIGTERM')
        await exited
        expect(node.exitCode).toBe(0)
        await new Promise((r) => setTimeout(r, 500))
        for (const pid of children)
          expect(() => process.kill(pid, 0), `child ${pid} outlived the node`).toThrow()
      } finally {
        if (node.exitCode === null) node.kill('SIGKILL')
        await rm(dataDir, { recursive: true, force: true })
      }
    },
    scaledBudget(120_000),
  )
})

/**
 * On the running node: the pairing code `npm start` printed (link and QR, never in the log), and
 * the resident's CLI commands that reach the node with its admin token: status, pair, tokens.
 */
async function pairingAndTokens(o: {
  api: string
  dataDir: string
  port: number
  printed: () => string
  logged: () => string
}) {
  const flags = ['--data-dir', o.dataDir, '--port', String(o.port)]
  const link = await waitFor(
    'the pairing link npm start prints',
    async () => /(http:\/\/\S+\/#pair=([0-9A-Z]{5}-[0-9A-Z]{5}))/.exec(o.printed()) ?? undefined,
    10_000,
  )
  const code = link[2] as string
  expect(o.printed()).toMatch(/[▀▄█]/) // the QR code
  expect(o.logged()).not.toContain(code)
  const paired = await fetch(`${o.api}/api/pair`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  })
  expect(paired.status).toBe(200)

  const status = await run(['status', ...flags])
  expect(status.code, status.stderr).toBe(0)
  expect(JSON.parse(status.stdout)).toMatchObject({ ready: true })

  const pair = await run(['pair', '--role', 'read-only', '--qr', 'false', ...flags])
  expect(pair.code, pair.stderr).toBe(0)
  expect(pair.stdout).toMatch(/pairing code {2}[0-9A-Z]{5}-[0-9A-Z]{5}/)

  const created = await run(['tokens', 'create', '--name', 'home assistant', '--role', 'read-only', ...flags])
  expect(created.code, created.stderr).toBe(0)
  const token = created.stdout.split('\n')[0] as string
  const id = (/token ([0-9a-f]{12})/.exec(created.stdout) as RegExpExecArray)[1] as string
  const bearer = { authorization: `Bearer ${token}` }
  expect((await fetch(`${o.api}/api/bills`, { headers: bearer })).status).toBe(200)
  const relay = await fetch(`${o.api}/api/relays/1`, {
    method: 'POST',
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify({ on: true }),
  })
  expect(relay.status).toBe(403)
  const listed = await run(['tokens', 'list', ...flags])
  expect(listed.stdout).toContain(id)
  expect(listed.stdout).not.toContain(token)
  const revoked = await run(['tokens', 'revoke', id, ...flags])
  expect(revoked.stdout).toContain(`token ${id} revoked`)
  expect((await fetch(`${o.api}/api/bills`, { headers: bearer })).status).toBe(401)
}
