/**
 * A whole ceremony, both phases, on a 4-constraint circuit with the bill's public-signal shape
 * (fixtures/tiny.circom): a phase-1 ceremony (one random contribution, a public beacon, prepare)
 * and a phase-2 ceremony (two random contributions, a public beacon), through the same functions
 * `zkmeter ceremony` runs. Seconds instead of the minutes the bill circuit's 2^13 would take.
 */
import { join } from 'node:path'
import { contribute, finalize, initFromR1cs, verifyCeremony } from '../scripts/ceremony.ts'
import { phase1Beacon, phase1Contribute, phase1New, phase1Prepare } from '../scripts/phase1.ts'
import { compileCircuit, type Log, setupPower } from '../scripts/pipeline.ts'
import { BUILD_ROOT } from '../src/profiles.ts'

export const TINY_MAIN = 'circuits/test/fixtures/tiny.circom'
/** Public beacons "announced in advance" (in a real ceremony: future block hashes). */
export const PHASE1_BEACON = '6a1f0c3e'.repeat(8)
export const PHASE2_BEACON = '0b5e7d21'.repeat(8)

export interface TinyCeremony {
  ptau: string
  power: number
  phase2Dir: string
  finalZkey: string
}

export async function runTinyCeremony(dir: string, log: Log): Promise<TinyCeremony> {
  // circom2 only sees paths below the repository root: compile into circuits/build/.
  const compiled = await compileCircuit(TINY_MAIN, join(BUILD_ROOT, 'tiny-fixture'), {
    wasm: false,
    log,
    outName: 'tiny',
  })
  const power = await setupPower(compiled.r1cs)
  const phase1Dir = join(dir, 'phase1')
  await phase1New(phase1Dir, power, log)
  await phase1Contribute(phase1Dir, 'alice (phase 1)', log)
  await phase1Beacon(phase1Dir, PHASE1_BEACON, 10, log)
  const ptau = await phase1Prepare(phase1Dir, log)
  const phase2Dir = join(dir, 'phase2')
  await initFromR1cs(
    phase2Dir,
    {
      profile: 'tiny',
      ptau,
      r1cs: compiled.r1cs,
      constraints: compiled.constraints,
      phase1Source: 'zkmeter phase-1 ceremony',
    },
    log,
  )
  await contribute(phase2Dir, 'bob', log)
  await contribute(phase2Dir, 'carol', log)
  const t = await finalize(phase2Dir, PHASE2_BEACON, 10, log)
  await verifyCeremony(phase2Dir, ptau, log)
  return { ptau, power, phase2Dir, finalZkey: join(phase2Dir, t.beacon?.zkey ?? '') }
}
