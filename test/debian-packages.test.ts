/**
 * `npm ci && npm test` on a fresh Debian machine (issue 15): the pretest step
 * (tools/debian-packages.sh) checks the Debian packages the tests need. As root it installs the
 * missing ones with apt-get; otherwise it stops at once naming the exact `apt-get install` line.
 * dpkg-query, id and apt-get are stand-ins on PATH here, so the test installs nothing.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = join(ROOT, 'tools', 'debian-packages.sh')
let bin: string

beforeEach(async () => {
  bin = await mkdtemp(join(tmpdir(), 'zkm-apt-'))
  const stub = async (name: string, body: string) => {
    await writeFile(join(bin, name), `#!/usr/bin/env bash\n${body}\n`)
    await chmod(join(bin, name), 0o755)
  }
  // dpkg-query -W -f=... <pkg>: installed unless named in FAKE_MISSING.
  await stub(
    'dpkg-query',
    'for pkg; do :; done; if [[ " $FAKE_MISSING " == *" $pkg "* ]]; then exit 1; fi; printf "install ok installed"',
  )
  await stub('id', 'echo "$FAKE_UID"')
  await stub('apt-get', `echo "apt-get $*" >> "${bin}/apt.log"`)
  await stub('systemctl', `echo "systemctl $*" >> "${bin}/apt.log"`)
})

afterEach(async () => {
  await rm(bin, { recursive: true, force: true })
})

function run(env: Record<string, string>): Promise<{ code: number; stderr: string; apt: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT],
      { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } },
      async (error, _stdout, stderr) => {
        const apt = await readFile(join(bin, 'apt.log'), 'utf8').catch(() => '')
        resolve({ code: error ? Number(error.code) : 0, stderr, apt })
      },
    )
  })
}

it('as a user, stops at once with the exact apt-get line for what is missing', async () => {
  const r = await run({ FAKE_UID: '1000', FAKE_MISSING: 'socat chromium' })
  expect(r.code).toBe(1)
  expect(r.stderr).toContain('sudo apt-get install -y --no-install-recommends socat chromium\n')
  expect(r.apt).toBe('')
})

it('as root, installs exactly the missing packages (and stops the broker service it brought)', async () => {
  const r = await run({ FAKE_UID: '0', FAKE_MISSING: 'mosquitto libgtest-dev' })
  expect(r.code).toBe(0)
  expect(r.apt.trim().split('\n')).toEqual([
    'apt-get update -qq',
    'apt-get install -y -qq --no-install-recommends libgtest-dev mosquitto',
    'systemctl stop mosquitto',
  ])
})

it('with everything installed, does nothing', async () => {
  const r = await run({ FAKE_UID: '1000', FAKE_MISSING: '' })
  expect(r.code).toBe(0)
  expect(r.apt).toBe('')
})

it('npm test and .ci/run rely on this one step', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  expect(pkg.scripts.pretest).toBe('bash tools/debian-packages.sh')
  const ci = await readFile(join(ROOT, '.ci', 'run'), 'utf8')
  expect(ci).toMatch(/^bash tools\/debian-packages\.sh$/m)
  expect(ci).not.toMatch(/apt-get install/)
})
