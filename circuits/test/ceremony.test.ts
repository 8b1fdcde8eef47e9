import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFromCeremony } from '../scripts/build.ts'
import {
  CeremonyError,
  contribute,
  contributeAll,
  finalize,
  finalizeAll,
  init,
  initFromR1cs,
  loadTranscript,
  verifyCeremony,
  verifyPtau,
} from '../scripts/ceremony.ts'
import { compileCircuit, ensureDevPtau, setupPower } from '../scripts/pipeline.ts'
import { loadCircuit, prove, verify } from '../src/index.ts'
import { BUILD_ROOT, profileBuildDir } from '../src/profiles.ts'
import { readSetupInfo, readZkeyVerificationKey, verifyingKeyHash } from '../src/setup.ts'
import { PHASE2_BEACON, runTinyCeremony, TINY_MAIN, type TinyCeremony } from './tiny-ceremony.ts'

// Both phases of the production ceremony, on a 4-constraint circuit (tiny-ceremony.ts), passing
// the directory on as separate machines would.
const log = () => {}
const HEAVY = 300_000
let dir: string
let ceremony: TinyCeremony

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-ceremony-'))
  ceremony = await runTinyCeremony(dir, log)
}, HEAVY)

afterAll(async () => {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  await rm(dir, { recursive: true, force: true })
})

describe('trusted-setup ceremony', () => {
  it('lists every contribution, with random secrets, the beacon last, and the final key hash', async () => {
    const t = await loadTranscript(ceremony.phase2Dir)
    expect(t.phase1.source).toBe('zkmeter phase-1 ceremony')
    expect(t.contributions.map((c) => c.name)).toEqual(['bob', 'carol'])
    for (const c of t.contributions) expect(c.contributionHash).toMatch(/^[0-9a-f]{128}$/)
    expect(t.contributions[0]?.contributionHash).not.toBe(t.contributions[1]?.contributionHash)
    expect(t.beacon?.value).toBe(PHASE2_BEACON)
    expect(t.verifyingKeyHash).toBe(verifyingKeyHash(await readZkeyVerificationKey(ceremony.finalZkey)))
  })

  it('verifies from the files alone on another "machine" (a copy with only r1cs, transcript, last zkey)', async () => {
    const t = await loadTranscript(ceremony.phase2Dir)
    const other = join(dir, 'verifier-machine')
    await mkdir(other, { recursive: true })
    for (const f of ['transcript.json', 'bill.r1cs', t.beacon?.zkey ?? '']) {
      await copyFile(join(ceremony.phase2Dir, f), join(other, f))
    }
    const result = await verifyCeremony(other, ceremony.ptau, log)
    expect(result.contributors).toEqual(['bob', 'carol', `public beacon ${PHASE2_BEACON}`])
  })

  it('refuses steps out of order and a ptau too small for the circuit', async () => {
    await expect(contribute(ceremony.phase2Dir, 'late', log)).rejects.toThrow(/finalized/)
    await expect(finalize(ceremony.phase2Dir, PHASE2_BEACON, 10, log)).rejects.toThrow(CeremonyError)
    await expect(contribute(join(dir, 'nowhere'), 'x', log)).rejects.toThrow(/zkmeter ceremony init/)
    await expect(verifyPtau(ceremony.ptau, ceremony.power + 1, log)).rejects.toThrow(/at least 2\^/)
  })

  it(
    'detects a transcript that lies about a contributor, and a tampered zkey',
    async () => {
      const path = join(ceremony.phase2Dir, 'transcript.json')
      const original = await readFile(path, 'utf8')
      await writeFile(path, original.replace('"carol"', '"mallory"'))
      await expect(verifyCeremony(ceremony.phase2Dir, ceremony.ptau, log)).rejects.toThrow(
        /not the transcript/,
      )
      await writeFile(path, original)
      const t = JSON.parse(original)
      const victim = join(ceremony.phase2Dir, t.beacon.zkey)
      const bytes = await readFile(victim)
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0x01
      await writeFile(victim, bytes)
      await expect(verifyCeremony(ceremony.phase2Dir, ceremony.ptau, log)).rejects.toThrow(CeremonyError)
    },
    HEAVY,
  )

  it(
    'the production build path at the test profile: starts, waits for contributions, exports a build that proves',
    async () => {
      // A dev ptau stands in for the operator's Powers of Tau, at the bill circuit's own power (2^13):
      // too small for the net bill (2^14), which is what the refusals below need. `build:circuits:test`
      // now sets both circuits up on one 2^14 ptau, so this one is generated here in a clean clone
      // (about 10 CPU-s), then cached.
      const power = await setupPower(join(profileBuildDir('test'), 'bill.r1cs'))
      const netPower = await setupPower(join(profileBuildDir('test'), 'net', 'bill.r1cs'))
      const ptau = (await ensureDevPtau(power, log)).path
      const cdir = join(dir, 'test-profile')
      const out = join(dir, 'test-build')
      await expect(
        buildFromCeremony('test', { ptau: ceremony.ptau, ceremony: join(dir, 'small'), log }),
      ).rejects.toThrow(new RegExp(`bill circuit needs at least 2\\^${power}\\b`))
      // The build starts both circuits' ceremonies from one ptau: one too small for the net bill
      // (2^14) is refused before either ceremony is written.
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, log })).rejects.toThrow(
        new RegExp(`net-bill circuit needs at least 2\\^${netPower}\\b`),
      )
      expect(existsSync(join(cdir, 'transcript.json'))).toBe(false)
      // A ceremony started before net bills (the bill's alone): the build starts the net bill's
      // beside it, and refuses this ptau for it the same way.
      await init(cdir, { profile: 'test', ptau }, log)
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, log })).rejects.toThrow(
        /net-bill circuit needs at least 2\^14/,
      )
      expect(existsSync(join(cdir, 'net', 'transcript.json'))).toBe(false)
      // The net bill's ceremony, here on a stand-in: the 4-constraint fixture under the net bill's
      // label, from the same ptau. The real net circuit's (2^14) costs minutes more and runs the same
      // functions (docs/benchmarks.md, 2026-12-08: the whole file with it, 577 s at load 8–15).
      const tiny = await compileCircuit(TINY_MAIN, join(BUILD_ROOT, 'tiny-fixture'), {
        wasm: false,
        log,
        outName: 'tiny',
      })
      await initFromR1cs(
        join(cdir, 'net'),
        { profile: 'test', circuit: 'net-bill', ptau, r1cs: tiny.r1cs, constraints: tiny.constraints },
        log,
      )
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })).rejects.toThrow(
        /the bill ceremony .* no final beacon/,
      )
      // One command per party and step, for both circuits.
      expect((await contributeAll(cdir, 'dave', log)).map((c) => c.circuit)).toEqual(['bill', 'net-bill'])
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })).rejects.toThrow(
        /no final beacon/,
      )
      expect((await finalizeAll(cdir, PHASE2_BEACON, 10, log)).map((f) => f.circuit)).toEqual([
        'bill',
        'net-bill',
      ])
      const manifest = await buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })
      expect(manifest.trustedSetup.kind).toBe('ceremony')
      expect(readSetupInfo(out)?.contributors).toEqual(['dave', `public beacon ${PHASE2_BEACON}`])
      // The net-bill key: its own transcript (net/), a ceremony key, the same contributors.
      const net = JSON.parse(await readFile(join(out, 'net', 'manifest.json'), 'utf8'))
      expect(net).toMatchObject({ circuit: 'net-bill', trustedSetup: { kind: 'ceremony' } })
      expect(net.publicSignals).toEqual(['commitment', 'exportCommitment', 'tariffHash', 'packed'])
      expect(readSetupInfo(join(out, 'net'))?.contributors).toEqual([
        'dave',
        `public beacon ${PHASE2_BEACON}`,
      ])
      expect(net.trustedSetup.verifyingKeyHash).toBe(
        verifyingKeyHash(await readZkeyVerificationKey(join(out, 'net', 'bill.zkey'))),
      )
      expect(net.trustedSetup.transcript.sha256).not.toBe(manifest.trustedSetup.transcript.sha256)
      const circuit = loadCircuit('test', { buildDir: out })
      const readings = Array.from({ length: circuit.n }, (_, i) => (i * 13) % 700)
      const prices = Array.from({ length: circuit.slots }, (_, s) => BigInt(1_000_000 + s))
      const bill = await prove(circuit, { readings, salt: 99n, prices })
      expect(await verify(circuit, bill.proof, bill.publicSignals)).toBe(true)
    },
    HEAVY * 4,
  )
})
