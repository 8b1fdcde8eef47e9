// Runs as npm's postinstall, on the pinned Node 24 (npm puts node_modules/.bin first on PATH).
//
// Why: npm decides which optional packages to install by checking their `engines` against the
// Node that runs npm itself. On a machine whose system Node is 20, npm silently skips optional
// native packages that need Node >= 22 (Hardhat EDR's platform binary, for one), although the
// project runs on Node 24. This finds optional packages in the lockfile that fit this platform
// but are missing, and installs exactly those versions with npm running on this Node.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { arch, platform } from 'node:os'

if (process.env.ZKMETER_NATIVE_OPTIONALS === 'running') process.exit(0)

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const libc = process.report?.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl'
const fits = (list, value) => !Array.isArray(list) || list.includes(value)

const missing = []
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (!path.startsWith('node_modules/') || !entry.optional || !entry.version) continue
  // Only platform binaries: optional packages without os/cpu/libc are dependencies of some
  // other optional package (a wasm fallback, say) and rightly stay out when that one does.
  if (!entry.os && !entry.cpu && !entry.libc) continue
  if (!fits(entry.os, platform()) || !fits(entry.cpu, arch()) || !fits(entry.libc, libc)) continue
  if (existsSync(path)) continue
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
  missing.push(`${name}@${entry.version}`)
}
if (missing.length === 0) process.exit(0)

const npmCli = process.env.npm_execpath
if (!npmCli) {
  console.error(
    `zkmeter: optional native packages missing (${missing.join(', ')}); run npm install with Node >= 22`,
  )
  process.exit(1)
}
console.log(
  `zkmeter: installing optional native packages npm skipped on an older Node: ${missing.join(', ')}`,
)
const result = spawnSync(
  process.execPath,
  [npmCli, 'install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', ...missing],
  { stdio: 'inherit', env: { ...process.env, ZKMETER_NATIVE_OPTIONALS: 'running' } },
)
process.exit(result.status ?? 1)
