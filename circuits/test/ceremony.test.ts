import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  beacon,
  CeremonyError,
  contribute,
  exportCeremony,
  importPtau,
  start,
  verifyAll,
  verifyContribution,
} from '../scripts/ceremony.ts'
import { ensureDevPtau, setupPower } from '../scripts/pipeline.ts'
import { loadCircuit, prove, tariffHash, verify } from '../src/index.ts'
import { profileBuildDir } from '../src/profiles.ts'

// The production path (docs/trusted-setup.md) run end to end at the test profile, with the dev
// ptau standing in for the public Powers of Tau file.
const log = () => {}
// Setup-sized steps: a groth16 setup or a full zkey verification each (tens of seconds at 2^13).
const HEAVY = 300_000
let dir: string
let ptau: string
let power: number

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-ceremony-'))
  try {
    power = await setupPower(join(profileBuildDir('test'), 'bill.r1cs'))
  } catch (err) {
    throw new Error(
      `the test circuit is not built: run \`npm run build:circuits:test\` first (${String(err)})`,
    )
  }
  ptau = (await ensureDevPtau(power, log)).path
})

afterAll(async () => {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  await rm(dir, { recursive: true, force: true })
})

describe('phase-2 ceremony', () => {
  it('refuses steps out of order', async () => {
    await expect(start(dir, 'test', log)).rejects.toThrow(CeremonyError)
    await expect(contribute(dir, 'alice', 'x', log)).rejects.toThrow(CeremonyError)
  })

  it(
    'imports (verifies) a Powers of Tau',
    async () => {
      await importPtau(dir, ptau, log)
    },
    HEAVY,
  )

  it(
    'starts phase 2 from it',
    async () => {
      await start(dir, 'test', log)
      const state = JSON.parse(await readFile(join(dir, 'ceremony.json'), 'utf8'))
      expect(state.power).toBe(power)
      expect(state.chain).toHaveLength(1)
    },
    HEAVY,
  )

  it(
    'adds verified contributions from two parties, then the beacon',
    async () => {
      const a = await contribute(dir, 'alice', 'alice typed this at random', log)
      const b = await contribute(dir, 'bob', undefined, log) // OS randomness only
      expect(a).toMatch(/^[0-9a-f]{128}$/)
      expect(b).not.toBe(a)
      await expect(beacon(dir, 'zz', 10, log)).rejects.toThrow(CeremonyError)
      await beacon(dir, '0f'.repeat(32), 10, log)
      await expect(contribute(dir, 'late', 'x', log)).rejects.toThrow(/finalized/)
    },
    HEAVY,
  )

  it(
    'verifies every contribution of the chain',
    async () => {
      await verifyAll(dir, log)
    },
    HEAVY,
  )

  it(
    'exports a build that proves and verifies, and rejects the dev setup’s proofs',
    async () => {
      const out = join(dir, 'build')
      await exportCeremony(dir, out, log)
      const circuit = loadCircuit('test', { buildDir: out })
      const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
      expect(manifest.trustedSetup).toBe('ceremony')
      expect(await readFile(join(out, 'Groth16Verifier.sol'), 'utf8')).not.toMatch(/INSECURE/)

      const readings = Array.from({ length: circuit.n }, (_, i) => (i * 13) % 700)
      const prices = Array.from({ length: circuit.slots }, (_, s) => BigInt(1_000_000 + s))
      const bill = await prove(circuit, { readings, salt: 99n, prices })
      expect(bill.publicSignals.tariffHash).toBe(tariffHash(prices))
      expect(await verify(circuit, bill.proof, bill.publicSignals)).toBe(true)

      // Different setups, different keys: a proof under the dev zkey is not valid here.
      const dev = loadCircuit('test')
      const devBill = await prove(dev, { readings, salt: 99n, prices })
      expect(await verify(circuit, devBill.proof, devBill.publicSignals)).toBe(false)
    },
    HEAVY,
  )

  it(
    'detects a tampered zkey in the chain',
    async () => {
      const state = JSON.parse(await readFile(join(dir, 'ceremony.json'), 'utf8'))
      const victim = join(dir, state.chain[1].zkey)
      const bytes = await readFile(victim)
      // Flip a byte inside the last section (the L/H points).
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0x01
      await writeFile(victim, bytes)
      await expect(verifyContribution(dir, 1, log)).rejects.toThrow(CeremonyError)
    },
    HEAVY,
  )
})
