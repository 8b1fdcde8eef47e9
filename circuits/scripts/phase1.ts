/**
 * A small Powers of Tau (phase 1) ceremony, for operators who do not want to import a public one:
 * `zkmeter ceremony phase1 new | contribute | beacon | prepare`, one directory passed between the
 * parties like the phase-2 one (ceremony.ts). Each contribution's secret is crypto.randomBytes.
 * `prepare` writes the prepared file phase 2 starts from; it is slow (an IFFT over curve points:
 * ~80 s at 2^12, ~200 s at 2^13, tens of minutes at 2^16 on 2 cores).
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { CeremonyError } from './ceremony.ts'
import { type Log, quietLogger } from './pipeline.ts'
import { loadCurve } from './snarkjs-internals.ts'

export interface Phase1Step {
  file: string
  sha256: string
  name: string
  contributionHash?: string
}

export interface Phase1Transcript {
  version: 1
  power: number
  steps: Phase1Step[]
  beacon?: { value: string; iterationsExp: number }
  prepared?: { file: string; sha256: string }
}

const FILE = 'phase1.json'

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
const ptauName = (i: number) => `pot_${String(i).padStart(4, '0')}.ptau`

async function load(dir: string): Promise<Phase1Transcript> {
  if (!existsSync(join(dir, FILE)))
    throw new CeremonyError(`no ${FILE} in ${dir}: run \`zkmeter ceremony phase1 new\``)
  return JSON.parse(await readFile(join(dir, FILE), 'utf8')) as Phase1Transcript
}

async function save(dir: string, t: Phase1Transcript): Promise<void> {
  await writeFile(join(dir, `${FILE}.tmp`), `${JSON.stringify(t, null, 2)}\n`)
  await rename(join(dir, `${FILE}.tmp`), join(dir, FILE))
}

async function lastChecked(dir: string, t: Phase1Transcript): Promise<Phase1Step> {
  const last = t.steps.at(-1) as Phase1Step
  if ((await sha(join(dir, last.file))) !== last.sha256) {
    throw new CeremonyError(`${last.file} is not the file the transcript names (sha256 differs)`)
  }
  return last
}

export async function phase1New(dir: string, power: number, log: Log): Promise<void> {
  if (!Number.isInteger(power) || power < 1 || power > 28)
    throw new CeremonyError('--power must be an integer in [1, 28]')
  await mkdir(dir, { recursive: true })
  if (existsSync(join(dir, FILE))) throw new CeremonyError(`a phase-1 ceremony already exists in ${dir}`)
  const file = ptauName(0)
  await snarkjs.powersOfTau.newAccumulator(await loadCurve(), power, join(dir, file), quietLogger(log))
  await save(dir, {
    version: 1,
    power,
    steps: [{ file, sha256: await sha(join(dir, file)), name: 'new accumulator' }],
  })
}

export async function phase1Contribute(dir: string, name: string, log: Log): Promise<Phase1Step> {
  const t = await load(dir)
  if (t.beacon) throw new CeremonyError('the phase-1 beacon has been applied: no more contributions')
  if (!name.trim()) throw new CeremonyError('a contribution needs a --name')
  const last = await lastChecked(dir, t)
  const file = ptauName(t.steps.length)
  const hash = await snarkjs.powersOfTau.contribute(
    join(dir, last.file),
    join(dir, file),
    name,
    randomBytes(64).toString('hex'),
    quietLogger(log),
  )
  const step = {
    file,
    sha256: await sha(join(dir, file)),
    name,
    contributionHash: Buffer.from(hash).toString('hex'),
  }
  t.steps.push(step)
  await save(dir, t)
  return step
}

export async function phase1Beacon(
  dir: string,
  value: string,
  iterationsExp: number,
  log: Log,
): Promise<void> {
  const t = await load(dir)
  if (t.beacon) throw new CeremonyError('the phase-1 beacon has already been applied')
  if (t.steps.length < 2) throw new CeremonyError('add at least one contribution before the beacon')
  const v = value.replace(/^0x/, '').toLowerCase()
  if (!/^([0-9a-f]{2}){1,64}$/.test(v))
    throw new CeremonyError('--beacon must be hex bytes (e.g. a block hash)')
  const last = await lastChecked(dir, t)
  const file = ptauName(t.steps.length)
  const hash = await snarkjs.powersOfTau.beacon(
    join(dir, last.file),
    join(dir, file),
    `beacon ${v}`,
    v,
    iterationsExp,
    quietLogger(log),
  )
  t.steps.push({
    file,
    sha256: await sha(join(dir, file)),
    name: `beacon ${v}`,
    contributionHash: Buffer.from(hash).toString('hex'),
  })
  t.beacon = { value: v, iterationsExp }
  await save(dir, t)
}

/** Verifies the chain and writes the prepared ptau (`pot_final.ptau`) that phase 2 starts from. */
export async function phase1Prepare(dir: string, log: Log): Promise<string> {
  const t = await load(dir)
  if (!t.beacon) throw new CeremonyError('apply the phase-1 beacon before preparing')
  const last = await lastChecked(dir, t)
  if (!(await snarkjs.powersOfTau.verify(join(dir, last.file), quietLogger(log)))) {
    throw new CeremonyError(`${last.file} FAILED Powers of Tau verification`)
  }
  const out = join(dir, 'pot_final.ptau')
  await snarkjs.powersOfTau.preparePhase2(join(dir, last.file), `${out}.tmp`, quietLogger(log))
  await rename(`${out}.tmp`, out)
  t.prepared = { file: 'pot_final.ptau', sha256: await sha(out) }
  await save(dir, t)
  return out
}
