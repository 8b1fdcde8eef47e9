import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFromCeremony, CeremonyPendingError } from '../scripts/build.ts'
import {
  CeremonyError,
  contribute,
  finalize,
  loadTranscript,
  verifyCeremony,
  verifyPtau,
} from '../scripts/ceremony.ts'
import { ensureDevPtau, setupPower } from '../scripts/pipeline.ts'
import { loadCircuit, prove, verify } from '../src/index.ts'
import { profileBuildDir } from '../src/profiles.ts'
import { readSetupInfo, readZkeyVerificationKey, verifyingKeyHash } from '../src/setup.ts'
import { PHASE2_BEACON, runTinyCeremony, type TinyCeremony } from './tiny-ceremony.ts'

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
      // The dev ptau stands in for the operator's Powers of Tau: the one `build:circuits:test` set
      // the bill up on (the profile's largest circuit's power, 2^14, read from the build's transcript),
      // so its zkey new is the build's, cached by contents. Any other (2^13, the bill's own power)
      // would be generated and set up from nothing here in a clean clone; verifyPtau accepts any
      // power at or above the circuit's, as the check against `ceremony.ptau` below shows.
      const power = await setupPower(join(profileBuildDir('test'), 'bill.r1cs'))
      const devTranscript = JSON.parse(
        await readFile(join(profileBuildDir('test'), 'transcript.json'), 'utf8'),
      )
      const ptauPower = devTranscript.phase1.power as number
      expect(ptauPower).toBeGreaterThanOrEqual(power)
      const ptau = (await ensureDevPtau(ptauPower, log)).path
      const cdir = join(dir, 'test-profile')
      const out = join(dir, 'test-build')
      await expect(
        buildFromCeremony('test', { ptau: ceremony.ptau, ceremony: join(dir, 'small'), log }),
      ).rejects.toThrow(new RegExp(`at least 2\\^${power}\\b`))
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })).rejects.toThrow(
        CeremonyPendingError,
      )
      await contribute(cdir, 'dave', log)
      await expect(buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })).rejects.toThrow(
        /no final beacon/,
      )
      await finalize(cdir, PHASE2_BEACON, 10, log)
      const manifest = await buildFromCeremony('test', { ptau, ceremony: cdir, buildDir: out, log })
      expect(manifest.trustedSetup.kind).toBe('ceremony')
      expect(readSetupInfo(out)?.contributors).toEqual(['dave', `public beacon ${PHASE2_BEACON}`])
      const circuit = loadCircuit('test', { buildDir: out })
      const readings = Array.from({ length: circuit.n }, (_, i) => (i * 13) % 700)
      const prices = Array.from({ length: circuit.slots }, (_, s) => BigInt(1_000_000 + s))
      const bill = await prove(circuit, { readings, salt: 99n, prices })
      expect(await verify(circuit, bill.proof, bill.publicSignals)).toBe(true)
    },
    HEAVY * 4,
  )
})
