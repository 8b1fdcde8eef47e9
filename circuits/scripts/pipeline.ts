/**
 * The build steps of a circuit profile, each cached: a step runs only when the hash of its inputs
 * (sources, parameters, tool versions, the previous step's key) differs from the stamp it left
 * last time. Stamps live next to the outputs, so deleting a build directory rebuilds it.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { copyFile, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, join, relative } from 'node:path'
import * as snarkjs from 'snarkjs'
import { BUILD_ROOT, CIRCUITS_DIR, REPO_ROOT } from '../src/profiles.ts'
import { writeDevPtau } from './dev-ptau.ts'
import { SNARKJS_ROOT, snarkjsVersion } from './snarkjs-internals.ts'

const require = createRequire(import.meta.url)

export type Log = (msg: string) => void

function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version
}

async function readStamp(path: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { key?: string }).key
  } catch {
    return undefined
  }
}

async function writeStamp(path: string, key: string): Promise<void> {
  await writeFile(path, `${JSON.stringify({ key }, null, 2)}\n`)
}

/**
 * Serialises builds of the same outputs across processes (npm test, a bench and another helper's
 * test may build the test profile at the same time): an exclusive lock file holding the owner's
 * pid; a lock whose owner is gone is taken over.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, log: Log): Promise<T> {
  let announced = false
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number(await readFile(lockPath, 'utf8').catch(() => ''))
      let alive = false
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0)
          alive = true
        } catch {
          alive = false
        }
      }
      if (!alive) {
        await rm(lockPath, { force: true })
        continue
      }
      if (!announced) log(`waiting for another build (pid ${owner}) holding ${lockPath}`)
      announced = true
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lockPath, { force: true })
  }
}

/** Runs `produce` unless every output exists and the stamp matches `key`. Returns whether it ran. */
async function cached(
  stampPath: string,
  key: string,
  outputs: string[],
  produce: () => Promise<void>,
): Promise<boolean> {
  if ((await readStamp(stampPath)) === key && outputs.every((o) => existsSync(o))) return false
  await rm(stampPath, { force: true })
  await produce()
  await writeStamp(stampPath, key)
  return true
}

function run(cmd: string, args: string[], cwd: string, log: Log): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolveRun(out)
      else {
        log(out)
        reject(new Error(`${basename(cmd)} ${args.join(' ')} exited with ${code}`))
      }
    })
  })
}

/** Every .circom file the circuits can include, hashed in a stable order. */
async function circuitSourcesHash(): Promise<string> {
  const files: string[] = []
  for (const dir of [CIRCUITS_DIR, join(CIRCUITS_DIR, 'main')]) {
    for (const f of (await readdir(dir)).sort()) if (f.endsWith('.circom')) files.push(join(dir, f))
  }
  const parts: string[] = []
  for (const f of files) parts.push(relative(REPO_ROOT, f), await readFile(f, 'utf8'))
  return sha256(...parts)
}

export interface CompileResult {
  r1cs: string
  wasm: string | undefined
  key: string
  constraints: number
}

/**
 * circom2 with --O2 (the default --O1 keeps linear constraints that O2 substitutes away). circom2
 * runs in a WASI sandbox that only sees its working directory and below, so it runs from the
 * repository root with downward include paths (`-l .` for circuits/, `-l node_modules` for circomlib).
 */
export async function compileCircuit(
  mainFile: string,
  outDir: string,
  opts: { wasm: boolean; log: Log; outName?: string },
): Promise<CompileResult> {
  const name = basename(mainFile, '.circom')
  const outName = opts.outName ?? 'bill'
  const key = sha256(
    'compile/v1',
    mainFile,
    String(opts.wasm),
    await circuitSourcesHash(),
    `circom2@${packageVersion('circom2')}`,
    `circomlib@${packageVersion('circomlib')}`,
  )
  const r1cs = join(outDir, `${outName}.r1cs`)
  const wasm = opts.wasm ? join(outDir, `${outName}.wasm`) : undefined
  await mkdir(outDir, { recursive: true })
  const ran = await cached(
    join(outDir, `.${outName}.compile.stamp`),
    key,
    wasm ? [r1cs, wasm] : [r1cs],
    async () => {
      const tmp = join(outDir, 'compile.tmp')
      await rm(tmp, { recursive: true, force: true })
      await mkdir(tmp, { recursive: true })
      const args = [
        require.resolve('circom2/cli.js'),
        mainFile,
        '--r1cs',
        ...(opts.wasm ? ['--wasm'] : []),
        '--O2',
        '-l',
        '.',
        '-l',
        'node_modules',
        '-o',
        relative(REPO_ROOT, tmp),
      ]
      opts.log(`compile ${mainFile} (circom2 --O2)`)
      const started = Date.now()
      await run(process.execPath, args, REPO_ROOT, opts.log)
      opts.log(`compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      await rename(join(tmp, `${name}.r1cs`), r1cs)
      if (wasm) await rename(join(tmp, `${name}_js`, `${name}.wasm`), wasm)
      await rm(tmp, { recursive: true, force: true })
    },
  )
  if (!ran) opts.log(`compile ${mainFile}: cached`)
  const info = await readR1csHeader(r1cs)
  return { r1cs, wasm, key, constraints: info.nConstraints }
}

export interface R1csHeader {
  nWires: number
  nOutputs: number
  nPubInputs: number
  nPrvInputs: number
  nConstraints: number
}

/**
 * The header section of an .r1cs file (iden3 r1csfile format). Read directly: snarkjs.r1cs.info
 * loads a second copy of ffjavascript (r1csfile's), whose curve then shadows snarkjs' own in
 * globalThis and leaves worker threads that keep the process alive.
 */
export async function readR1csHeader(path: string): Promise<R1csHeader> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(12)
    await fh.read(head, 0, 12, 0)
    if (head.toString('latin1', 0, 4) !== 'r1cs') throw new Error(`${path} is not an r1cs file`)
    const nSections = head.readUInt32LE(8)
    let pos = 12
    for (let i = 0; i < nSections; i++) {
      const sh = Buffer.alloc(12)
      await fh.read(sh, 0, 12, pos)
      const type = sh.readUInt32LE(0)
      const size = Number(sh.readBigUInt64LE(4))
      if (type === 1) {
        const body = Buffer.alloc(size)
        await fh.read(body, 0, size, pos + 12)
        const n8 = body.readUInt32LE(0)
        const o = 4 + n8
        return {
          nWires: body.readUInt32LE(o),
          nOutputs: body.readUInt32LE(o + 4),
          nPubInputs: body.readUInt32LE(o + 8),
          nPrvInputs: body.readUInt32LE(o + 12),
          nConstraints: body.readUInt32LE(o + 24),
        }
      }
      pos += 12 + size
    }
    throw new Error(`${path} has no r1cs header section`)
  } finally {
    await fh.close()
  }
}

/** The smallest power of two snarkjs' groth16 setup accepts for this r1cs (zkey_new.js). */
export async function setupPower(r1cs: string): Promise<number> {
  const info = await readR1csHeader(r1cs)
  const size = info.nConstraints + info.nPubInputs + info.nOutputs + 1
  return Math.ceil(Math.log2(size))
}

export const PTAU_DIR = join(BUILD_ROOT, 'ptau')

export function devPtauPath(power: number): string {
  return join(PTAU_DIR, `pot${power}_INSECURE_dev.ptau`)
}

/** The INSECURE development ptau at 2^power, shared by profiles and cached. */
export async function ensureDevPtau(power: number, log: Log): Promise<{ path: string; key: string }> {
  const path = devPtauPath(power)
  const key = sha256(
    'dev-ptau/v1',
    String(power),
    `snarkjs@${snarkjsVersion()}`,
    await readFile(join(CIRCUITS_DIR, 'scripts', 'dev-ptau.ts'), 'utf8'),
  )
  await mkdir(PTAU_DIR, { recursive: true })
  const ran = await withLock(
    `${path}.lock`,
    () =>
      cached(`${path}.stamp`, key, [path], async () => {
        log(`WARNING: generating an INSECURE development Powers of Tau (2^${power}) from a public beacon`)
        const started = Date.now()
        const tmp = `${path}.tmp`
        await writeDevPtau(tmp, power, { log })
        await rename(tmp, path)
        log(
          `dev ptau written in ${((Date.now() - started) / 1000).toFixed(1)} s: ${relative(REPO_ROOT, path)}`,
        )
      }),
    log,
  )
  if (!ran) log(`dev ptau 2^${power} (INSECURE): cached`)
  return { path, key }
}
async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/**
 * `snarkjs zkey new` (phase-2 start: no randomness, delta = 1) is a pure function of the r1cs and
 * the ptau, and the slowest step at small sizes: cache its result by the two files' contents, so
 * the dev build and a ceremony started from the same ptau (the ceremony test) compute it once.
 */
export async function initialZkey(r1cs: string, ptau: string, out: string, log: Log): Promise<void> {
  const key = sha256('zkey-new/v1', await fileHash(r1cs), await fileHash(ptau), `snarkjs@${snarkjsVersion()}`)
  const dir = join(BUILD_ROOT, 'zkey-init')
  const cachedPath = join(dir, `${key.slice(0, 32)}.zkey`)
  await mkdir(dir, { recursive: true })
  await withLock(
    `${cachedPath}.lock`,
    async () => {
      if (existsSync(cachedPath)) {
        log('groth16 setup (phase 2 start): cached')
        return
      }
      log('groth16 setup (phase 2 start)')
      const started = Date.now()
      const tmp = `${cachedPath}.tmp`
      // newZKey reports errors by returning -1, not by throwing.
      const res = await snarkjs.zKey.newZKey(r1cs, ptau, tmp, quietLogger(log))
      if (!(res instanceof Uint8Array)) throw new Error('snarkjs groth16 setup failed (see the log above)')
      await rename(tmp, cachedPath)
      log(`setup in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    },
    log,
  )
  await copyFile(cachedPath, out)
}

/** Public phrase of the development phase-2 contribution: public, hence INSECURE. */
export const DEV_ZKEY_BEACON = 'zkmeter INSECURE development phase-2 beacon v1 - never use in production'

export function beaconHex(phrase: string): string {
  return sha256(phrase)
}

const quietLogger = (log: Log): snarkjs.Logger => ({
  debug: () => {},
  info: () => {},
  warn: (m) => log(`snarkjs: ${m}`),
  error: (m) => log(`snarkjs: ${m}`),
})

export { quietLogger }

function devZkeyKey(keyParts: string[]): string {
  return sha256('dev-zkey/v1', ...keyParts, `snarkjs@${snarkjsVersion()}`, DEV_ZKEY_BEACON)
}

/** Whether `ensureDevZkey` with these key parts would find its zkey made and current. */
export async function devZkeyCurrent(outDir: string, keyParts: string[]): Promise<boolean> {
  const zkey = join(outDir, 'bill.zkey')
  return (await readStamp(join(outDir, '.zkey.stamp'))) === devZkeyKey(keyParts) && existsSync(zkey)
}

/**
 * Groth16 phase 2 for development: snarkjs' own setup from the ptau, then one deterministic beacon
 * contribution (so delta is not the setup's default, and verification shows a contribution).
 */
export async function ensureDevZkey(
  r1cs: string,
  ptau: string,
  outDir: string,
  keyParts: string[],
  log: Log,
): Promise<{ zkey: string; key: string }> {
  const zkey = join(outDir, 'bill.zkey')
  const key = devZkeyKey(keyParts)
  const ran = await cached(join(outDir, '.zkey.stamp'), key, [zkey], async () => {
    const initial = join(outDir, 'bill_INSECURE_dev_0000.zkey')
    log('groth16 setup on the INSECURE dev ptau')
    await initialZkey(r1cs, ptau, initial, log)
    const started = Date.now()
    const tmp = `${zkey}.tmp`
    await snarkjs.zKey.beacon(
      initial,
      tmp,
      'zkmeter INSECURE development beacon',
      beaconHex(DEV_ZKEY_BEACON),
      10,
      quietLogger(log),
    )
    await rename(tmp, zkey)
    await rm(initial, { force: true })
    log(`INSECURE dev contribution (public beacon) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })
  if (!ran) log('zkey (INSECURE dev): cached')
  return { zkey, key }
}

/** The Solidity verifier template snarkjs' CLI uses. */
export async function groth16Template(): Promise<string> {
  return readFile(join(SNARKJS_ROOT, 'templates', 'verifier_groth16.sol.ejs'), 'utf8')
}

/** Verification key JSON and Solidity verifier (contract `Groth16Verifier`) from a final zkey. */
export async function exportArtifacts(
  zkey: string,
  outDir: string,
  zkeyKey: string,
  opts: { insecure: boolean; log: Log },
): Promise<{ verificationKey: string; verifier: string }> {
  const verificationKey = join(outDir, 'verification_key.json')
  const verifier = join(outDir, 'Groth16Verifier.sol')
  const key = sha256('export/v1', zkeyKey, String(opts.insecure), `snarkjs@${snarkjsVersion()}`)
  const ran = await cached(join(outDir, '.export.stamp'), key, [verificationKey, verifier], async () => {
    const vk = await snarkjs.zKey.exportVerificationKey(zkey, quietLogger(opts.log))
    await writeFile(verificationKey, `${JSON.stringify(vk, null, 2)}\n`)
    let sol = await snarkjs.zKey.exportSolidityVerifier(
      zkey,
      { groth16: await groth16Template() },
      quietLogger(opts.log),
    )
    if (opts.insecure) {
      sol = sol.replace(
        /(pragma solidity[^\n]*\n)/,
        '$1\n// INSECURE: generated from a DEVELOPMENT trusted setup (public beacon entropy, see\n// docs/trusted-setup.md). Anyone can forge proofs for it. Never deploy it on a real chain.\n',
      )
    }
    await writeFile(verifier, sol)
  })
  if (!ran) opts.log('verification key + Solidity verifier: cached')
  return { verificationKey, verifier }
}

/**
 * A ptau file's header (section 1: n8, q, power, ceremonyPower) and whether it is prepared for
 * phase 2 (its Lagrange sections 12–15 are present). Read without loading the points.
 */
export async function readPtauHeader(path: string): Promise<{ power: number; prepared: boolean }> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(12)
    await fh.read(head, 0, 12, 0)
    if (head.toString('latin1', 0, 4) !== 'ptau')
      throw new Error(`${path} is not a Powers of Tau (.ptau) file`)
    const n = head.readUInt32LE(8)
    let pos = 12
    let power = -1
    const ids = new Set<number>()
    for (let i = 0; i < n; i++) {
      const sh = Buffer.alloc(12)
      await fh.read(sh, 0, 12, pos)
      const id = sh.readUInt32LE(0)
      const size = Number(sh.readBigUInt64LE(4))
      ids.add(id)
      if (id === 1) {
        const body = Buffer.alloc(Math.min(size, 64))
        await fh.read(body, 0, body.length, pos + 12)
        const n8 = body.readUInt32LE(0)
        power = body.readUInt32LE(4 + n8)
      }
      pos += 12 + size
    }
    if (power < 0) throw new Error(`${path} has no Powers of Tau header`)
    const { size } = await fh.stat()
    if (size !== pos)
      throw new Error(`${path} is truncated or has trailing bytes (${size} bytes, sections end at ${pos})`)
    return { power, prepared: [12, 13, 14, 15].every((id) => ids.has(id)) }
  } finally {
    await fh.close()
  }
}

/** Public signals of each circuit, in circuit (and Solidity verifier) order. */
export const PUBLIC_SIGNALS = {
  bill: ['commitment', 'tariffHash', 'total', 'energyWh'],
  'net-bill': ['commitment', 'exportCommitment', 'tariffHash', 'packed'],
} as const
export type CircuitName = keyof typeof PUBLIC_SIGNALS
