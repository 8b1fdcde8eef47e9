import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_BEACON_ITERATIONS_EXP, devBeaconHash, writeDevPtau } from '../scripts/dev-ptau.ts'
import { loadCurve } from '../scripts/snarkjs-internals.ts'

const silent: snarkjs.Logger = { debug() {}, info() {}, warn() {}, error() {} }
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-ptau-'))
})

afterAll(async () => {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  await rm(dir, { recursive: true, force: true })
})

describe('INSECURE development Powers of Tau', () => {
  it('is byte-identical to snarkjs new + beacon + prepare phase2, and passes powersoftau verify', async () => {
    const power = 7
    const mine = join(dir, 'mine.ptau')
    await writeDevPtau(mine, power)

    // The slow reference pipeline, with the same public beacon.
    const curve = await loadCurve()
    await snarkjs.powersOfTau.newAccumulator(curve, power, join(dir, 'new.ptau'), silent)
    await snarkjs.powersOfTau.beacon(
      join(dir, 'new.ptau'),
      join(dir, 'beacon.ptau'),
      'zkmeter INSECURE development beacon',
      Buffer.from(await devBeaconHash()).toString('hex'),
      DEV_BEACON_ITERATIONS_EXP,
      silent,
    )
    await snarkjs.powersOfTau.preparePhase2(join(dir, 'beacon.ptau'), join(dir, 'reference.ptau'), silent)

    const [a, b] = await Promise.all([readFile(mine), readFile(join(dir, 'reference.ptau'))])
    expect(a.length).toBe(b.length)
    expect(a.equals(b)).toBe(true)
    expect(await snarkjs.powersOfTau.verify(mine, silent)).toBe(true)
  })

  it('depends on the beacon: another phrase gives another (still valid) file', async () => {
    const other = join(dir, 'other.ptau')
    await writeDevPtau(other, 5, { beaconPhrase: 'another public phrase' })
    await writeDevPtau(join(dir, 'default5.ptau'), 5)
    const [a, b] = await Promise.all([readFile(other), readFile(join(dir, 'default5.ptau'))])
    expect(a.equals(b)).toBe(false)
    expect(await snarkjs.powersOfTau.verify(other, silent)).toBe(true)
  })

  it('a corrupted Lagrange point fails verification', async () => {
    const path = join(dir, 'default5.ptau')
    const bytes = await readFile(path)
    // Swap two G1 points near the end of the file (the betaTauG1 Lagrange section).
    const p = bytes.length - 64 * 3
    const q = bytes.length - 64 * 2
    const tmp = Buffer.from(bytes.subarray(p, p + 64))
    bytes.copy(bytes, p, q, q + 64)
    tmp.copy(bytes, q)
    const broken = join(dir, 'broken.ptau')
    await writeFile(broken, bytes)
    expect(await snarkjs.powersOfTau.verify(broken, silent)).toBe(false)
  })

  it('rejects a power outside snarkjs’ range', async () => {
    await expect(writeDevPtau(join(dir, 'x.ptau'), 0)).rejects.toThrow(RangeError)
    await expect(writeDevPtau(join(dir, 'x.ptau'), 28)).rejects.toThrow(RangeError)
  })
})
