/**
 * npm run bench:ceremony [-- --profile test|production --ptau FILE] — phase-2 ceremony costs for the
 * bill circuit: one contribution, the check of that contribution (zkey verify from the initial
 * zkey), the full recomputation (`zkmeter ceremony verify`: zkey new from the r1cs and the ptau,
 * then every contribution), the final beacon. Wall time and CPU seconds (all threads) per step,
 * machine load at start and end. Without --ptau it uses the profile's development ptau (the costs
 * depend on the circuit's size, not on where the ptau came from); production needs 2^16.
 * Last line: the JSON summary.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as snarkjs from 'snarkjs'
import {
  contribute,
  finalize,
  initFromR1cs,
  loadTranscript,
  verifyCeremony,
} from '../circuits/scripts/ceremony.ts'
import { compileCircuit, ensureDevPtau, quietLogger, setupPower } from '../circuits/scripts/pipeline.ts'
import { isProfileName, PROFILES, profileBuildDir } from '../circuits/src/profiles.ts'

const { values } = parseArgs({
  options: { profile: { type: 'string', default: 'test' }, ptau: { type: 'string' } },
})
if (!isProfileName(values.profile)) throw new Error('--profile test|production')
const profile = values.profile
const log = (m: string) => console.log(`[bench:ceremony] ${m}`)
const round = (x: number) => Number(x.toFixed(2))

async function timed<T>(
  label: string,
  fn: () => Promise<T>,
): Promise<{ value: T; wall_s: number; cpu_s: number }> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const value = await fn()
  const wall_s = round((performance.now() - t0) / 1000)
  const cu = process.cpuUsage(c0)
  const cpu_s = round((cu.user + cu.system) / 1e6)
  log(`${label}: ${wall_s} s wall, ${cpu_s} s CPU`)
  return { value, wall_s, cpu_s }
}

const load_start = loadavg()[0] as number
const compiled = await compileCircuit(PROFILES[profile].main, profileBuildDir(profile), { wasm: true, log })
const power = await setupPower(compiled.r1cs)
const ptau = values.ptau ?? (await ensureDevPtau(power, log)).path
const dir = await mkdtemp(join(tmpdir(), 'zkmeter-bench-ceremony-'))
try {
  const init = await timed('init (ptau check + zkey new, cached by contents)', () =>
    initFromR1cs(
      dir,
      { profile, ptau, r1cs: compiled.r1cs, wasm: compiled.wasm, constraints: compiled.constraints },
      log,
    ),
  )
  const contribution = await timed('contribute', () => contribute(dir, 'bench', log))
  const t = await loadTranscript(dir)
  const check = await timed('verify one contribution (from the initial zkey)', async () => {
    const ok = await snarkjs.zKey.verifyFromInit(
      join(dir, t.initial.zkey),
      ptau,
      join(dir, t.contributions[0]?.zkey ?? ''),
      quietLogger(log),
    )
    if (!ok) throw new Error('the contribution did not verify')
  })
  const beacon = await timed('finalize (beacon 2^10)', () => finalize(dir, 'ab'.repeat(32), 10, log))
  const full = await timed('verify the whole ceremony from r1cs + ptau', () => verifyCeremony(dir, ptau, log))
  console.log(
    JSON.stringify({
      bench: 'ceremony',
      date: new Date().toISOString(),
      profile,
      constraints: compiled.constraints,
      power,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model,
      load_start: round(load_start),
      load_end: round(loadavg()[0] as number),
      init_s: init.wall_s,
      contribute_s: contribution.wall_s,
      contribute_cpu_s: contribution.cpu_s,
      verify_contribution_s: check.wall_s,
      verify_contribution_cpu_s: check.cpu_s,
      beacon_s: beacon.wall_s,
      verify_all_s: full.wall_s,
      verify_all_cpu_s: full.cpu_s,
    }),
  )
} finally {
  await rm(dir, { recursive: true, force: true })
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
}
