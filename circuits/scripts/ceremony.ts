/**
 * The production trusted setup: a Powers of Tau (phase 1: imported, or our own small ceremony,
 * phase1.ts) and a multi-party Groth16 phase 2, run across machines by passing one directory.
 * docs/trusted-setup.md walks through it; `zkmeter ceremony …` is the command line.
 *
 * The directory holds `transcript.json`, the circuit's `bill.r1cs` and `bill.wasm`, and the zkey
 * chain `bill_0000.zkey`, `bill_0001.zkey`, …. A contributor needs only the transcript and the last
 * zkey; a verifier needs the r1cs, the ptau and the last zkey. The transcript lists every step with
 * the sha256 of the file it produced and snarkjs' contribution hash, so anyone can recompute it.
 *
 * The net-bill circuit (issue 17) has its own phase 2 in the subdirectory `net/` of the same layout
 * (its own transcript, r1cs and zkey chain, from the same Powers of Tau, which must then be 2^14):
 * `initAll`, `contributeAll`, `verifyAll`, `finalizeAll` and `exportAll` run a step on every circuit
 * the directory holds, so each party still runs one command per step.
 *
 * Security rests on at least one contributor being honest: each contribution's secret comes from
 * crypto.randomBytes (never a fixed seed), lives only in this process and is gone when it exits.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import * as snarkjs from 'snarkjs'
import { ZkMeterError } from '#protocol/errors.ts'
import { isProfileName, PROFILES, type ProfileName, profileBuildDir } from '../src/profiles.ts'
import { contentId, readZkeyVerificationKey, type TrustedSetupInfo, verifyingKeyHash } from '../src/setup.ts'
import {
  type CircuitName,
  compileCircuit,
  exportArtifacts,
  initialZkey,
  type Log,
  PUBLIC_SIGNALS,
  quietLogger,
  readPtauHeader,
  setupPower,
  withLock,
} from './pipeline.ts'

/** A ceremony step failed, was asked out of order, or a file does not match the transcript. */
export class CeremonyError extends ZkMeterError {
  override name = 'CeremonyError'
}

export interface TranscriptStep {
  index: number
  zkey: string
  /** sha256 of the zkey file this step wrote. */
  zkeySha256: string
  name: string
  /** snarkjs' contribution hash (blake2b-512 of the contributor's public key), hex. */
  contributionHash: string
}

export interface Transcript {
  version: 1
  /** `circuit` is absent for the bill circuit (transcripts from before net bills), 'net-bill' in `net/`. */
  circuit: {
    profile: string
    circuit?: 'net-bill'
    constraints: number
    power: number
    r1csSha256: string
  }
  phase1: { ptauSha256: string; power: number; source: string }
  /** bill_0000.zkey: snarkjs' deterministic setup from the r1cs and the ptau (no secret). */
  initial: { zkey: string; zkeySha256: string }
  contributions: TranscriptStep[]
  beacon?: TranscriptStep & { value: string; iterationsExp: number }
  /** Set by finalize: the final key's hash, what the ledger records. */
  verifyingKeyHash?: `0x${string}`
}

export const TRANSCRIPT = 'transcript.json'
/** Where the net-bill circuit's ceremony lives inside a ceremony directory (and its build in a build's). */
export const NET_SUBDIR = 'net'

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

export async function loadTranscript(dir: string): Promise<Transcript> {
  const path = join(dir, TRANSCRIPT)
  if (!existsSync(path)) {
    throw new CeremonyError(`no ${TRANSCRIPT} in ${dir}: start a ceremony with \`zkmeter ceremony init\``)
  }
  return JSON.parse(await readFile(path, 'utf8')) as Transcript
}

async function saveTranscript(dir: string, t: Transcript): Promise<void> {
  const tmp = join(dir, `${TRANSCRIPT}.tmp`)
  await writeFile(tmp, `${JSON.stringify(t, null, 2)}\n`)
  await rename(tmp, join(dir, TRANSCRIPT))
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function zkeyName(index: number): string {
  return `bill_${String(index).padStart(4, '0')}.zkey`
}

function lastZkey(t: Transcript): { zkey: string; zkeySha256: string; index: number } {
  const step = t.beacon ?? t.contributions.at(-1)
  return step ?? { ...t.initial, index: 0 }
}

/** The ptau's header, or a CeremonyError saying where to get a usable file. */
async function ptauHeader(ptau: string): Promise<{ power: number; prepared: boolean }> {
  try {
    return await readPtauHeader(ptau)
  } catch (cause) {
    throw new CeremonyError(
      `cannot use ${ptau} as the Powers of Tau (${(cause as Error).message}): give a prepared .ptau file, e.g. ` +
        'a Perpetual Powers of Tau "final" file (powersOfTau28_hez_final_<k>.ptau), or the pot_final.ptau of ' +
        '`zkmeter ceremony phase1 new|contribute|beacon|prepare`',
      { cause },
    )
  }
}

/**
 * Checks a Powers of Tau before it is used: its header's power covers the circuit, its size is the
 * size of a prepared file of that power (sections 12–15 present), then snarkjs checks every point
 * relation and contribution. Returns its power and sha256.
 */
export async function verifyPtau(
  ptau: string,
  minPower: number,
  log: Log,
): Promise<{ power: number; sha256: string }> {
  const header = await ptauHeader(ptau)
  const checked = verifiedPtaus.get(resolve(ptau))
  if (header.power < minPower) {
    throw new CeremonyError(
      `${ptau} is a Powers of Tau of 2^${header.power}; this circuit needs at least 2^${minPower} ` +
        `(e.g. powersOfTau28_hez_final_${minPower}.ptau from the Perpetual Powers of Tau, or \`zkmeter ceremony phase1\`)`,
    )
  }
  if (!header.prepared) {
    throw new CeremonyError(
      `${ptau} is not prepared for phase 2 (no Lagrange sections): use a "final" prepared file or run \`zkmeter ceremony phase1 prepare\``,
    )
  }
  const sha256 = await fileSha(ptau)
  // The bill's and the net bill's ceremonies start from one file: its full check (minutes for large
  // files) runs once per process for the same bytes.
  if (checked?.sha256 === sha256) return checked
  log(`verifying ${ptau} (2^${header.power}; every point relation, minutes for large files)…`)
  const ok = await snarkjs.powersOfTau.verify(ptau, quietLogger(log))
  if (!ok) throw new CeremonyError(`${ptau} FAILED Powers of Tau verification: do not use it`)
  const result = { power: header.power, sha256 }
  verifiedPtaus.set(resolve(ptau), result)
  return result
}

/** Powers of Tau this process verified, by path, with the sha256 of the bytes verified. */
const verifiedPtaus = new Map<string, { power: number; sha256: string }>()

/** Compiles the profile, verifies the ptau and writes the ceremony's start: transcript + bill_0000.zkey. */
export async function init(
  dir: string,
  opts: { profile: ProfileName; ptau: string; phase1Source?: string; circuit?: CircuitName },
  log: Log,
): Promise<Transcript> {
  if (existsSync(join(dir, TRANSCRIPT))) throw new CeremonyError(`a ceremony already exists in ${dir}`)
  const header = await ptauHeader(resolve(opts.ptau)) // before a compile that takes minutes at production size
  const circuit = opts.circuit ?? 'bill'
  const compiled = await compileFor(opts.profile, circuit, log)
  const power = await setupPower(compiled.r1cs)
  if (header.power < power) throw ptauTooSmall(opts.ptau, header.power, power, circuit)
  return initFromR1cs(
    dir,
    { ...opts, r1cs: compiled.r1cs, wasm: compiled.wasm, constraints: compiled.constraints },
    log,
  )
}

/** Compiles a profile's bill or net-bill circuit into its build directory (net: the `net/` beside). */
async function compileFor(profile: ProfileName, circuit: CircuitName, log: Log) {
  const buildDir = profileBuildDir(profile)
  const outDir = circuit === 'bill' ? buildDir : join(buildDir, NET_SUBDIR)
  await mkdir(outDir, { recursive: true })
  const spec = PROFILES[profile]
  return withLock(
    join(buildDir, '.build.lock'),
    () => compileCircuit(circuit === 'bill' ? spec.main : spec.netMain, outDir, { wasm: true, log }),
    log,
  )
}

function ptauTooSmall(ptau: string, has: number, needs: number, circuit: CircuitName): CeremonyError {
  return new CeremonyError(
    `${ptau} is a Powers of Tau of 2^${has}; the ${circuit} circuit needs at least 2^${needs} ` +
      `(e.g. powersOfTau28_hez_final_${needs}.ptau from the Perpetual Powers of Tau, or \`zkmeter ceremony phase1\`)`,
  )
}

/**
 * Starts the phase 2 of both of a profile's circuits from one Powers of Tau: the bill's in `dir`,
 * the net bill's in `dir/net`. Both are compiled and the ptau's power checked against both before
 * either ceremony is written, so a ptau too small for the net bill (it needs 2^14) leaves nothing
 * half started.
 */
export async function initAll(
  dir: string,
  opts: { profile: ProfileName; ptau: string; phase1Source?: string },
  log: Log,
): Promise<Transcript[]> {
  const netDir = join(dir, NET_SUBDIR)
  for (const d of [dir, netDir])
    if (existsSync(join(d, TRANSCRIPT))) throw new CeremonyError(`a ceremony already exists in ${d}`)
  const header = await ptauHeader(resolve(opts.ptau))
  const circuits = [
    { circuit: 'bill' as const, dir },
    { circuit: 'net-bill' as const, dir: netDir },
  ]
  const compiled = []
  for (const c of circuits) {
    const out = await compileFor(opts.profile, c.circuit, log)
    const power = await setupPower(out.r1cs)
    if (header.power < power) throw ptauTooSmall(opts.ptau, header.power, power, c.circuit)
    compiled.push({ ...c, out })
  }
  const transcripts: Transcript[] = []
  for (const c of compiled) {
    transcripts.push(
      await initFromR1cs(
        c.dir,
        {
          ...opts,
          circuit: c.circuit,
          r1cs: c.out.r1cs,
          wasm: c.out.wasm,
          constraints: c.out.constraints,
        },
        log,
      ),
    )
  }
  return transcripts
}

/** The ceremonies a directory holds: the bill's, and the net bill's when `net/` has one. */
export function ceremonyDirs(dir: string): { circuit: CircuitName; dir: string }[] {
  const netDir = join(dir, NET_SUBDIR)
  return [
    { circuit: 'bill', dir },
    ...(existsSync(join(netDir, TRANSCRIPT)) ? [{ circuit: 'net-bill' as const, dir: netDir }] : []),
  ]
}

/** One party's contribution to every ceremony in `dir` (each with its own fresh secret). */
export async function contributeAll(
  dir: string,
  name: string,
  log: Log,
  extraEntropy?: string,
): Promise<(TranscriptStep & { circuit: CircuitName })[]> {
  const steps = []
  for (const c of ceremonyDirs(dir)) {
    steps.push({ circuit: c.circuit, ...(await contribute(c.dir, name, log, extraEntropy)) })
  }
  return steps
}

/** verifyCeremony for every ceremony in `dir`. */
export async function verifyAll(
  dir: string,
  ptau: string,
  log: Log,
): Promise<{ circuit: CircuitName; transcript: Transcript; contributors: string[] }[]> {
  const out = []
  for (const c of ceremonyDirs(dir))
    out.push({ circuit: c.circuit, ...(await verifyCeremony(c.dir, ptau, log)) })
  return out
}

/** finalize for every ceremony in `dir`, with the one beacon announced for the ceremony. */
export async function finalizeAll(
  dir: string,
  beaconValue: string,
  iterationsExp: number,
  log: Log,
): Promise<{ circuit: CircuitName; transcript: Transcript }[]> {
  const out = []
  for (const c of ceremonyDirs(dir)) {
    out.push({ circuit: c.circuit, transcript: await finalize(c.dir, beaconValue, iterationsExp, log) })
  }
  return out
}

/** exportCeremony for every ceremony in `dir`: the bill's into `outDir`, the net bill's into `outDir/net`. */
export async function exportAll(
  dir: string,
  outDir: string,
  log: Log,
): Promise<{ circuit: CircuitName; trustedSetup: TrustedSetupInfo }[]> {
  const out = []
  for (const c of ceremonyDirs(dir)) {
    const target = c.circuit === 'bill' ? outDir : join(outDir, NET_SUBDIR)
    const { trustedSetup } = await exportCeremony(c.dir, target, log)
    out.push({ circuit: c.circuit, trustedSetup })
  }
  return out
}

/** The ceremony's start for an already compiled circuit (init, and tests with small circuits). */
export async function initFromR1cs(
  dir: string,
  opts: {
    profile: string
    ptau: string
    r1cs: string
    wasm?: string
    constraints: number
    phase1Source?: string
    circuit?: CircuitName
  },
  log: Log,
): Promise<Transcript> {
  await mkdir(dir, { recursive: true })
  if (existsSync(join(dir, TRANSCRIPT))) throw new CeremonyError(`a ceremony already exists in ${dir}`)
  const power = await setupPower(opts.r1cs)
  const ptau = await verifyPtau(resolve(opts.ptau), power, log)
  await copyFile(opts.r1cs, join(dir, 'bill.r1cs'))
  if (opts.wasm) await copyFile(opts.wasm, join(dir, 'bill.wasm'))
  const zkey = join(dir, zkeyName(0))
  log(`phase 2 start: groth16 setup of ${opts.constraints} constraints on 2^${power}`)
  await initialZkey(opts.r1cs, resolve(opts.ptau), zkey, log)
  const t: Transcript = {
    version: 1,
    circuit: {
      profile: opts.profile,
      ...(opts.circuit === 'net-bill' ? { circuit: 'net-bill' as const } : {}),
      constraints: opts.constraints,
      power,
      r1csSha256: await fileSha(join(dir, 'bill.r1cs')),
    },
    phase1: { ptauSha256: ptau.sha256, power: ptau.power, source: opts.phase1Source ?? 'imported' },
    initial: { zkey: zkeyName(0), zkeySha256: await fileSha(zkey) },
    contributions: [],
  }
  await saveTranscript(dir, t)
  return t
}

/**
 * One party's contribution on top of the last zkey. The secret is 64 bytes of crypto.randomBytes
 * (plus, if given, the contributor's own text: mixed in, never a replacement); snarkjs mixes in
 * its own OS randomness as well. The previous zkey must be the file the transcript names.
 */
export async function contribute(
  dir: string,
  name: string,
  log: Log,
  extraEntropy?: string,
): Promise<TranscriptStep> {
  const t = await loadTranscript(dir)
  if (t.beacon) throw new CeremonyError('the ceremony is finalized (beacon applied): no more contributions')
  if (!name.trim()) throw new CeremonyError('a contribution needs a --name (who you are, publicly)')
  const prev = lastZkey(t)
  const prevPath = join(dir, prev.zkey)
  if (!existsSync(prevPath)) throw new CeremonyError(`${prev.zkey} is missing from ${dir}`)
  if ((await fileSha(prevPath)) !== prev.zkeySha256) {
    throw new CeremonyError(
      `${prev.zkey} is not the file the transcript names (sha256 differs): get it again`,
    )
  }
  const index = prev.index + 1
  const next = join(dir, zkeyName(index))
  const entropy = randomBytes(64).toString('hex') + (extraEntropy ?? '')
  const started = Date.now()
  const hash = await snarkjs.zKey.contribute(prevPath, `${next}.tmp`, name, entropy, quietLogger(log))
  await rename(`${next}.tmp`, next)
  const step: TranscriptStep = {
    index,
    zkey: zkeyName(index),
    zkeySha256: await fileSha(next),
    name,
    contributionHash: hex(hash),
  }
  t.contributions.push(step)
  await saveTranscript(dir, t)
  log(
    `contribution #${index} by "${name}" in ${((Date.now() - started) / 1000).toFixed(1)} s: ${step.contributionHash}`,
  )
  return step
}

/** snarkjs' verify log, parsed: every contribution's name, hash and (for a beacon) its parameters. */
interface LoggedContribution {
  name: string
  hash: string
  beacon?: string
  iterationsExp?: number
}

function contributionLogger(log: Log, into: LoggedContribution[]): snarkjs.Logger {
  return {
    ...quietLogger(log),
    info: (m: string) => {
      const c = /^contribution #(\d+) (.*):\n([\s\S]*)$/.exec(m)
      if (c) {
        into.push({ name: c[2] ?? '', hash: (c[3] ?? '').replace(/\s+/g, '') })
        return
      }
      const b = /^Beacon generator: ([0-9a-f]+)$/.exec(m)
      const last = into.at(-1)
      if (b && last) last.beacon = b[1]
      const it = /^Beacon iterations Exp: (\d+)$/.exec(m)
      if (it && last) last.iterationsExp = Number(it[1])
    },
  }
}

/**
 * Recomputes the ceremony from its files: the ptau and r1cs are the ones recorded; snarkjs
 * recomputes the initial zkey from them and checks every contribution's proof and hand-over in
 * the last zkey; the contributions it finds must be the transcript's, in order, with the same
 * hashes (and the beacon its announced value); every zkey present must hash as recorded.
 */
export async function verifyCeremony(
  dir: string,
  ptau: string,
  log: Log,
): Promise<{ transcript: Transcript; contributors: string[] }> {
  const t = await loadTranscript(dir)
  if ((await fileSha(ptau)) !== t.phase1.ptauSha256) {
    throw new CeremonyError(`${ptau} is not the Powers of Tau this ceremony started from (sha256 differs)`)
  }
  const r1cs = join(dir, 'bill.r1cs')
  if ((await fileSha(r1cs)) !== t.circuit.r1csSha256)
    throw new CeremonyError('bill.r1cs differs from the transcript')
  for (const step of [t.initial, ...t.contributions, ...(t.beacon ? [t.beacon] : [])]) {
    const path = join(dir, step.zkey)
    if (existsSync(path) && (await fileSha(path)) !== step.zkeySha256) {
      throw new CeremonyError(`${step.zkey} differs from the transcript (sha256): it was altered`)
    }
  }
  const last = lastZkey(t)
  const lastPath = join(dir, last.zkey)
  if (!existsSync(lastPath)) throw new CeremonyError(`${last.zkey} (the last zkey) is missing from ${dir}`)
  const logged: LoggedContribution[] = []
  const ok = await snarkjs.zKey.verifyFromR1cs(r1cs, ptau, lastPath, contributionLogger(log, logged))
  if (!ok) throw new CeremonyError(`the chain up to ${last.zkey} FAILED verification: do not use it`)
  const expected = [...t.contributions, ...(t.beacon ? [t.beacon] : [])]
  if (logged.length !== expected.length) {
    throw new CeremonyError(
      `the last zkey holds ${logged.length} contributions, the transcript lists ${expected.length}`,
    )
  }
  // snarkjs lists them newest first, and keeps at most 64 bytes of a name.
  logged.reverse()
  expected.forEach((step, i) => {
    const found = logged[i] as LoggedContribution
    const name = Buffer.from(step.name).subarray(0, 64).toString()
    if (found.hash !== step.contributionHash || found.name !== name) {
      throw new CeremonyError(
        `contribution #${i + 1} in the zkey ("${found.name}") is not the transcript's ("${step.name}")`,
      )
    }
  })
  if (t.beacon) {
    const b = logged.at(-1) as LoggedContribution
    if (b.beacon !== t.beacon.value.toLowerCase() || b.iterationsExp !== t.beacon.iterationsExp) {
      throw new CeremonyError('the final beacon in the zkey is not the announced value')
    }
    const vkHash = verifyingKeyHash(await readZkeyVerificationKey(lastPath))
    if (t.verifyingKeyHash !== undefined && t.verifyingKeyHash !== vkHash) {
      throw new CeremonyError('the transcript’s verifying key hash is not the final zkey’s')
    }
  }
  log(`the initial zkey and all ${expected.length} contributions verified`)
  return {
    transcript: t,
    contributors: [
      ...t.contributions.map((s) => s.name),
      ...(t.beacon ? [`public beacon ${t.beacon.value}`] : []),
    ],
  }
}

/**
 * Applies the public random beacon (a value announced before the last contribution, e.g. a future
 * block hash) and seals the transcript with the final verifying key's hash.
 */
export async function finalize(
  dir: string,
  beaconValue: string,
  iterationsExp: number,
  log: Log,
): Promise<Transcript> {
  const t = await loadTranscript(dir)
  if (t.beacon) throw new CeremonyError('the beacon has already been applied')
  const value = beaconValue.replace(/^0x/, '')
  if (!/^([0-9a-fA-F]{2}){1,64}$/.test(value))
    throw new CeremonyError('--beacon must be hex bytes (e.g. a block hash)')
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) {
    throw new CeremonyError('--iterations-exp must be an integer in [10, 63]')
  }
  if (t.contributions.length === 0) throw new CeremonyError('add at least one contribution before the beacon')
  const prev = lastZkey(t)
  const prevPath = join(dir, prev.zkey)
  if ((await fileSha(prevPath)) !== prev.zkeySha256)
    throw new CeremonyError(`${prev.zkey} differs from the transcript`)
  const index = prev.index + 1
  const next = join(dir, zkeyName(index))
  const name = 'public beacon'
  const hash = await snarkjs.zKey.beacon(
    prevPath,
    `${next}.tmp`,
    name,
    value,
    iterationsExp,
    quietLogger(log),
  )
  await rename(`${next}.tmp`, next)
  t.beacon = {
    index,
    zkey: zkeyName(index),
    zkeySha256: await fileSha(next),
    name,
    contributionHash: hex(hash),
    value: value.toLowerCase(),
    iterationsExp,
  }
  t.verifyingKeyHash = verifyingKeyHash(await readZkeyVerificationKey(next))
  await saveTranscript(dir, t)
  log(`beacon applied; verifying key ${t.verifyingKeyHash}`)
  return t
}

/**
 * Writes a build directory loadCircuit() accepts from a finalized, verified ceremony: bill.zkey,
 * bill.wasm, bill.r1cs, the transcript, verification_key.json, Groth16Verifier.sol, manifest.json
 * (trustedSetup kind 'ceremony', the transcript's content id and the contributors).
 */
export async function exportCeremony(
  dir: string,
  outDir: string,
  log: Log,
): Promise<{ trustedSetup: TrustedSetupInfo; transcript: Transcript }> {
  const t = await loadTranscript(dir)
  if (!t.beacon || !t.verifyingKeyHash)
    throw new CeremonyError('finalize the ceremony (the beacon) before exporting')
  await mkdir(outDir, { recursive: true })
  // The dev build's stamp would otherwise call this zkey its own on a later --insecure-dev-setup run.
  await rm(join(outDir, '.zkey.stamp'), { force: true })
  await copyFile(join(dir, t.beacon.zkey), join(outDir, 'bill.zkey'))
  if (existsSync(join(dir, 'bill.wasm'))) await copyFile(join(dir, 'bill.wasm'), join(outDir, 'bill.wasm'))
  await copyFile(join(dir, 'bill.r1cs'), join(outDir, 'bill.r1cs'))
  const transcriptBytes = await readFile(join(dir, TRANSCRIPT))
  await writeFile(join(outDir, TRANSCRIPT), transcriptBytes)
  await exportArtifacts(join(outDir, 'bill.zkey'), outDir, `ceremony:${t.beacon.zkeySha256}`, {
    insecure: false,
    log,
  })
  const vkHash = verifyingKeyHash(await readZkeyVerificationKey(join(outDir, 'bill.zkey')))
  if (vkHash !== t.verifyingKeyHash) throw new CeremonyError('the exported key is not the transcript’s')
  const trustedSetup: TrustedSetupInfo = {
    kind: 'ceremony',
    verifyingKeyHash: vkHash,
    transcript: { file: TRANSCRIPT, ...contentId(transcriptBytes) },
    contributors: [...t.contributions.map((c) => c.name), `public beacon ${t.beacon.value}`],
  }
  if (!isProfileName(t.circuit.profile))
    throw new CeremonyError(`${t.circuit.profile} is not a circuit profile`)
  const spec = PROFILES[t.circuit.profile]
  await writeFile(
    join(outDir, 'manifest.json'),
    `${JSON.stringify(
      {
        profile: t.circuit.profile,
        ...(t.circuit.circuit === 'net-bill' ? { circuit: 'net-bill' } : {}),
        n: spec.n,
        slots: spec.slots,
        constraints: t.circuit.constraints,
        power: t.circuit.power,
        inputHash: t.beacon.zkeySha256,
        trustedSetup,
        publicSignals: PUBLIC_SIGNALS[t.circuit.circuit ?? 'bill'],
      },
      null,
      2,
    )}\n`,
  )
  log(`exported to ${outDir} (transcript ${trustedSetup.transcript.cid})`)
  return { trustedSetup, transcript: t }
}
