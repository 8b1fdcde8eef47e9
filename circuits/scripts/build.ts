/**
 * Builds a circuit profile. Outputs in circuits/build/<profile>/: bill.wasm, bill.r1cs, bill.zkey,
 * verification_key.json, Groth16Verifier.sol, transcript.json, manifest.json. Which trusted setup
 * is never a default (docs/trusted-setup.md):
 *
 *   node circuits/scripts/build.ts --profile P --insecure-dev-setup      public beacons: forgeable
 *   node circuits/scripts/build.ts --profile P --ptau FILE [--ceremony DIR]
 *       verifies the operator's Powers of Tau, starts (or, once finalized, verifies and exports)
 *       the multi-party phase-2 ceremonies in DIR (default circuits/build/ceremony/<profile>): the
 *       bill circuit's, and the net-bill circuit's in DIR/net.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { ZkMeterError } from '#protocol/errors.ts'
import {
  BUILD_ROOT,
  isProfileName,
  PROFILES,
  type ProfileName,
  profileBuildDir,
  REPO_ROOT,
} from '../src/profiles.ts'
import { contentId, readZkeyVerificationKey, type TrustedSetupInfo, verifyingKeyHash } from '../src/setup.ts'
import {
  ceremonyDirs,
  exportAll,
  init,
  initAll,
  loadTranscript,
  NET_SUBDIR,
  TRANSCRIPT,
  verifyAll,
} from './ceremony.ts'
import { DEV_BEACON_ITERATIONS_EXP, DEV_PTAU_BEACON } from './dev-ptau.ts'
import {
  type CircuitName,
  type CompileResult,
  compileCircuit,
  DEV_ZKEY_BEACON,
  devZkeyCurrent,
  ensureDevPtau,
  ensureDevZkey,
  exportArtifacts,
  type Log,
  PUBLIC_SIGNALS,
  readPtauHeader,
  setupPower,
  withLock,
} from './pipeline.ts'

/** The build was asked for without saying which trusted setup: there is no default. */
export class SetupRequiredError extends ZkMeterError {
  override name = 'SetupRequiredError'
}

/** The phase-2 ceremony is started or under way: the build finishes once it is finalized. */
export class CeremonyPendingError extends ZkMeterError {
  override name = 'CeremonyPendingError'
  override readonly category = 'conflict'
}

export interface Manifest {
  profile: ProfileName
  n: number
  slots: number
  constraints: number
  power: number
  /** Hash of everything the zkey depends on (sources, parameters, tool versions, setup). */
  inputHash: string
  trustedSetup: TrustedSetupInfo
  /** Absent for the bill circuit; 'net-bill' for the net-bill circuit's manifest (in `net/`). */
  circuit?: 'net-bill'
  publicSignals: readonly string[]
}

export async function buildProfile(
  profile: ProfileName,
  opts: { buildDir?: string; log?: Log } = {},
): Promise<Manifest> {
  const log = opts.log ?? ((m: string) => console.log(`[circuits:${profile}] ${m}`))
  const outDir = opts.buildDir ?? profileBuildDir(profile)
  await mkdir(outDir, { recursive: true })
  return withLock(join(outDir, '.build.lock'), () => buildUnlocked(profile, outDir, log), log)
}

async function buildUnlocked(profile: ProfileName, outDir: string, log: Log): Promise<Manifest> {
  const spec = PROFILES[profile]
  // The bill, and the net-bill circuit (import cost and export credit, issue 17): its own zkey and
  // verifying key, recorded in its own manifest the same way, in a `net/` directory beside the bill's.
  const jobs = [
    { circuit: 'bill', main: spec.main, outDir },
    { circuit: 'net-bill', main: spec.netMain, outDir: join(outDir, 'net') },
  ] as const
  // circom2 is a child process, single-threaded: the two compiles share the two cores.
  const compiled = await Promise.all(jobs.map((j) => compileCircuit(j.main, j.outDir, { wasm: true, log })))
  // One dev ptau for both, at the larger circuit's power: a ptau serves any circuit up to its size,
  // and generating a second, smaller one cost a clean build ~50 CPU-s (2^13 beside the net's 2^14).
  const power = Math.max(...(await Promise.all(compiled.map((c) => setupPower(c.r1cs)))))
  const ptau = await ensureDevPtau(power, log)
  const plans = jobs.map((j, i) => ({ ...j, profile, compiled: compiled[i] as CompileResult, ptau }))
  // `zkey new` runs mostly on the main thread: when both zkeys must be made, each gets its own
  // process so the two use both cores (snarkjs cannot run in worker_threads).
  const stale = (await Promise.all(plans.map((p) => devZkeyStale(p)))).filter(Boolean).length
  const manifests =
    stale < 2
      ? [await finishDev(plans[0] as DevPlan, log), await finishDev(plans[1] as DevPlan, log)]
      : await Promise.all(plans.map((p) => finishDevInChild(p, log)))
  return manifests[0] as Manifest
}

export { type CircuitName, PUBLIC_SIGNALS } from './pipeline.ts'

/** One circuit's INSECURE development setup, once it is compiled and the dev ptau exists. */
export interface DevPlan {
  profile: ProfileName
  circuit: CircuitName
  outDir: string
  compiled: CompileResult
  ptau: { path: string; key: string }
}

async function devZkeyStale(plan: DevPlan): Promise<boolean> {
  return !(await devZkeyCurrent(plan.outDir, [plan.compiled.key, plan.ptau.key]))
}

/**
 * `finishDev` in a child process (dev-setup-child.ts), its log lines passed on. Only the plan
 * crosses: the child reads the compiled circuit and the ptau from their files.
 */
async function finishDevInChild(plan: DevPlan, log: Log): Promise<Manifest> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'dev-setup-child.ts'), JSON.stringify(plan)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  let pending = ''
  child.stdout.on('data', (d: Buffer) => {
    pending += d.toString()
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) log(line)
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on('error', reject)
    child.on('close', resolveExit)
  })
  if (pending) log(pending)
  if (code !== 0) {
    throw new DevSetupError(
      `the ${plan.circuit} circuit's dev setup process exited with ${code}: ${stderr.trim()}`,
    )
  }
  return JSON.parse(await readFile(join(plan.outDir, 'manifest.json'), 'utf8')) as Manifest
}

/** A circuit's dev setup failed in its child process (its stderr is in the message). */
export class DevSetupError extends ZkMeterError {
  override name = 'DevSetupError'
}

/** One circuit on the INSECURE development setup: dev zkey, export, transcript, manifest. */
export async function finishDev(plan: DevPlan, log: Log): Promise<Manifest> {
  const { profile, circuit, outDir, compiled, ptau } = plan
  const spec = PROFILES[profile]
  log(`${circuit}: ${compiled.constraints} constraints (N = ${spec.n}, SLOTS = ${spec.slots})`)
  const power = await setupPower(compiled.r1cs)
  const ptauPower = (await readPtauHeader(ptau.path)).power
  const zkey = await ensureDevZkey(compiled.r1cs, ptau.path, outDir, [compiled.key, ptau.key], log)
  await exportArtifacts(zkey.zkey, outDir, zkey.key, { insecure: true, log })
  const vkHash = verifyingKeyHash(await readZkeyVerificationKey(zkey.zkey))
  // The dev "transcript": the two public beacons anyone can re-derive the toxic waste from.
  const transcript = `${JSON.stringify(
    {
      version: 1,
      kind: 'insecure-dev',
      warning: 'INSECURE: every secret of this setup follows from the public phrases below',
      circuit:
        circuit === 'bill'
          ? { profile, constraints: compiled.constraints, power }
          : { profile, circuit, constraints: compiled.constraints, power },
      // The ptau's own power (the profile's largest circuit's), which its beacon key depends on.
      phase1: { beacon: DEV_PTAU_BEACON, iterationsExp: DEV_BEACON_ITERATIONS_EXP, power: ptauPower },
      phase2: { beacon: DEV_ZKEY_BEACON, iterationsExp: 10 },
      verifyingKeyHash: vkHash,
    },
    null,
    2,
  )}\n`
  await writeFile(join(outDir, TRANSCRIPT), transcript)
  const manifest: Manifest = {
    profile,
    ...(circuit === 'bill' ? {} : { circuit }),
    n: spec.n,
    slots: spec.slots,
    constraints: compiled.constraints,
    power,
    inputHash: zkey.key,
    trustedSetup: {
      kind: 'insecure-dev' as const,
      verifyingKeyHash: vkHash,
      transcript: { file: TRANSCRIPT, ...contentId(new TextEncoder().encode(transcript)) },
      contributors: ['INSECURE public beacon (phase 1)', 'INSECURE public beacon (phase 2)'],
    },
    publicSignals: PUBLIC_SIGNALS[circuit],
  }
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  log(`${circuit} ready (INSECURE development setup): ${relative(REPO_ROOT, outDir)}`)
  return manifest
}

/** Default home of a profile's phase-2 ceremony. */
export function ceremonyDir(profile: ProfileName): string {
  return join(BUILD_ROOT, 'ceremony', profile)
}

/**
 * The production path: verify the operator's ptau; start the ceremonies if there are none (the
 * bill's in DIR, the net bill's in DIR/net, both from this ptau: 2^14 at least); export both into
 * the profile's build directory (the net bill's into its `net/`) once both are finalized, each
 * re-verified from its files first. A ceremony started before net bills (DIR without `net/`) gets
 * its net-bill ceremony started beside it: a production build without the net-bill key would
 * deploy a ledger with net bills disabled.
 */
export async function buildFromCeremony(
  profile: ProfileName,
  opts: { ptau: string; ceremony?: string; buildDir?: string; log?: Log },
): Promise<Manifest> {
  const log = opts.log ?? ((m: string) => console.log(`[circuits:${profile}] ${m}`))
  const dir = opts.ceremony ?? ceremonyDir(profile)
  const rel = relative(process.cwd(), dir) || '.'
  const next =
    'Now each independent party, in turn, on their own machine: ' +
    `\`zkmeter ceremony contribute --dir ${rel} --name "<who>"\` (pass the directory on; it contributes to both circuits); then ` +
    `\`zkmeter ceremony finalize --dir ${rel} --beacon <hex announced in advance, e.g. a future block hash>\`; ` +
    'then run this build again with the same --ptau.'
  if (!existsSync(join(dir, TRANSCRIPT))) {
    await initAll(dir, { profile, ptau: opts.ptau }, log)
    throw new CeremonyPendingError(`phase 2 of the bill and the net-bill circuits started in ${rel}. ${next}`)
  }
  const netDir = join(dir, NET_SUBDIR)
  if (!existsSync(join(netDir, TRANSCRIPT))) {
    await init(netDir, { profile, ptau: opts.ptau, circuit: 'net-bill' }, log)
    throw new CeremonyPendingError(
      `the ceremony in ${rel} covers the bill circuit only: phase 2 of the net-bill circuit started in ${relative(process.cwd(), netDir)}. ${next}`,
    )
  }
  for (const c of ceremonyDirs(dir)) {
    const t = await loadTranscript(c.dir)
    const where = relative(process.cwd(), c.dir) || '.'
    if (t.circuit.profile !== profile)
      throw new CeremonyPendingError(`${where} is a ceremony for the ${t.circuit.profile} profile`)
    if (!t.beacon) {
      throw new CeremonyPendingError(
        `the ${c.circuit} ceremony in ${where} has ${t.contributions.length} contribution(s) and no final beacon yet: ` +
          `more parties contribute (\`zkmeter ceremony contribute --dir ${rel} --name …\`), then \`zkmeter ceremony finalize --dir ${rel}\``,
      )
    }
  }
  await verifyAll(dir, opts.ptau, log)
  const outDir = opts.buildDir ?? profileBuildDir(profile)
  await exportAll(dir, outDir, log)
  return JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')) as Manifest
}

const USAGE = `usage: node circuits/scripts/build.ts --profile test|production (--insecure-dev-setup | --ptau FILE [--ceremony DIR])`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'test' },
      'insecure-dev-setup': { type: 'boolean', default: false },
      ptau: { type: 'string' },
      ceremony: { type: 'string' },
    },
  })
  if (!isProfileName(values.profile)) {
    console.error(`unknown profile "${values.profile}": use --profile test or --profile production`)
    process.exit(2)
  }
  const profile = values.profile
  if (values['insecure-dev-setup'] && values.ptau !== undefined) {
    console.error(`--insecure-dev-setup and --ptau exclude each other\n${USAGE}`)
    process.exit(2)
  }
  if (!values['insecure-dev-setup'] && values.ptau === undefined) {
    const err = new SetupRequiredError(
      `refusing to build the ${profile} circuit without a trusted setup you chose. Either pass ` +
        '--ptau FILE: a prepared Powers of Tau of at least 2^14 (the net-bill circuit; the bill circuit alone needs 2^13), e.g. a Perpetual Powers of Tau ' +
        'file (powersOfTau28_hez_final_14.ptau or any larger one from the Hermez/Polygon ceremony; check its published hash), or the ' +
        'pot_final.ptau of your own phase-1 ceremony (`zkmeter ceremony phase1 new|contribute|beacon|prepare`); ' +
        'the build verifies it and starts the phase-2 ceremony. Or pass --insecure-dev-setup for development ' +
        'only: its toxic waste follows from public phrases, anyone can forge proofs, and it deploys only to the ' +
        'development chain (31337). See docs/trusted-setup.md.',
    )
    console.error(`${err.name}: ${err.message}`)
    process.exit(2)
  }
  const started = Date.now()
  try {
    if (values['insecure-dev-setup']) await buildProfile(profile)
    else await buildFromCeremony(profile, { ptau: values.ptau as string, ceremony: values.ceremony })
  } catch (err) {
    if (!(err instanceof ZkMeterError)) throw err
    console.error(`${err.name}: ${err.message}`)
    process.exitCode = err instanceof CeremonyPendingError ? 3 : 1
    return
  } finally {
    // snarkjs' curve keeps worker threads alive; without this the process never exits.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
  }
  console.log(`[circuits:${profile}] done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

if (import.meta.main) await main()
