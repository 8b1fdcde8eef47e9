import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  commitToSlotSums,
  FIELD_ORDER,
  layoutWord,
  MAX_READING,
  packSlotSums,
  poseidonChain,
  readingsDigest,
  slotSums,
} from '#protocol/commitment.ts'
import {
  type BillProof,
  billTotals,
  type Circuit,
  CircuitNotBuiltError,
  commit,
  holdCurve,
  InvalidCircuitInputError,
  InvalidProofError,
  InvalidReadingError,
  InvalidSaltError,
  loadCircuit,
  prove,
  publicSignalsArray,
  tariffHash,
  toSolidityProof,
  verify,
} from '../src/index.ts'
import { buildScriptFor, profileBuildDir } from '../src/profiles.ts'
import { getWire, setWire, silent } from './witness-file.ts'

// A deterministic two-day load profile: a base load, evening peaks, one zero interval.
function sampleReadings(n: number): number[] {
  return Array.from({ length: n }, (_, i) =>
    i === 5 ? 0 : 40 + ((i * 7919) % 300) + (i % 96 >= 72 ? 400 : 0),
  )
}
// Time-of-use prices in wei per Wh: cheap at night, expensive in the evening.
function samplePrices(slots: number): bigint[] {
  return Array.from({ length: slots }, (_, s) =>
    s < 28 ? 10_000_000_000n : s >= 72 ? 45_000_000_000n : 25_000_000_000n,
  )
}
const SALT = 0x1234_5678_9abc_def0_1234_5678_9abc_def0n

/**
 * The witness of the circuit's private inputs, bypassing prove()'s checks: the readings digest and
 * the per-slot sums the meter commits to (protocol §3), or `sums` a dishonest prover chose.
 */
async function witnessFor(
  circuit: Circuit,
  readings: number[],
  salt: bigint,
  prices: bigint[],
  sums: bigint[] = slotSums(readings, circuit.n, circuit.slots),
) {
  const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' }
  await snarkjs.wtns.calculate(
    {
      readingsDigest: readingsDigest(readings, salt, circuit.n).toString(),
      slotSums: sums.map(String),
      prices: prices.map(String),
    },
    circuit.wasmPath,
    wtns,
  )
  return wtns as { type: 'mem'; data: Uint8Array }
}

let circuit: Circuit
let readings: number[]
let prices: bigint[]
let valid: BillProof

beforeAll(async () => {
  try {
    circuit = loadCircuit('test')
  } catch (err) {
    throw new Error(`the test circuit is not built: run \`${buildScriptFor('test')}\` first (${String(err)})`)
  }
  readings = sampleReadings(circuit.n)
  prices = samplePrices(circuit.slots)
  // One curve (worker threads, compiled WASM) for the file's proofs and verifications, as the
  // node's prover child holds one: without it every prove() and verify() builds and ends its own
  // (0.36 CPU-s and 0.8 s each at load 10). Released before the holdCurve tests, which start
  // from no hold.
  releaseFileCurve = holdCurve()
  valid = await prove(circuit, { readings, salt: SALT, prices })
})
let releaseFileCurve: () => Promise<void> = async () => {}

afterAll(async () => {
  await releaseFileCurve()
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
})

describe('loadCircuit', () => {
  it('loads the test profile with its parameters', () => {
    expect(circuit.n).toBe(192)
    expect(circuit.slots).toBe(96)
    expect(circuit.verificationKey.nPublic).toBe(4)
  })

  it('names the npm script when a profile is not built', () => {
    expect(() => loadCircuit('test', { buildDir: join(profileBuildDir('test'), 'does-not-exist') })).toThrow(
      CircuitNotBuiltError,
    )
    expect(() => loadCircuit('test', { buildDir: join(profileBuildDir('test'), 'does-not-exist') })).toThrow(
      /npm run build:circuits:test/,
    )
  })

  it('rejects an unknown profile', () => {
    expect(() => loadCircuit('staging' as 'test')).toThrow(InvalidCircuitInputError)
  })
})

describe('a valid bill', () => {
  it('proves and verifies, with the reference public signals', async () => {
    const totals = billTotals(readings, prices, circuit.n)
    expect(valid.publicSignals).toEqual({
      commitment: commit(readings, SALT, circuit.n),
      tariffHash: tariffHash(prices),
      total: totals.total,
      energyWh: totals.energyWh,
    })
    expect(await verify(circuit, valid.proof, valid.publicSignals)).toBe(true)
  })

  it('has the public signals in protocol order [commitment, tariffHash, total, energyWh]', () => {
    const ps = valid.publicSignals
    expect(valid.raw.publicSignals).toEqual([ps.commitment, ps.tariffHash, ps.total, ps.energyWh].map(String))
    expect(publicSignalsArray(ps)).toEqual([ps.commitment, ps.tariffHash, ps.total, ps.energyWh])
  })

  it('proves a period shorter than N (the remaining readings are zero)', async () => {
    const short = readings.slice(0, 100)
    const bill = await prove(circuit, { readings: short, salt: SALT, prices })
    expect(bill.publicSignals.commitment).toBe(commit(short, SALT, circuit.n))
    expect(bill.publicSignals.energyWh).toBe(BigInt(short.reduce((a, b) => a + b, 0)))
    expect(await verify(circuit, bill.proof, bill.publicSignals)).toBe(true)
  })

  it('gives the Solidity calldata form snarkjs exports (pi_b coordinates swapped)', async () => {
    const calldata = await snarkjs.groth16.exportSolidityCallData(valid.raw.proof, valid.raw.publicSignals)
    const [a, b, c, inputs] = JSON.parse(`[${calldata}]`) as [string[], string[][], string[], string[]]
    const sol = toSolidityProof(valid.proof)
    expect(sol.a).toEqual(a.map(BigInt))
    expect(sol.b).toEqual(b.map((row) => row.map(BigInt)))
    expect(sol.c).toEqual(c.map(BigInt))
    expect(publicSignalsArray(valid.publicSignals)).toEqual(inputs.map(BigInt))
    expect(sol.b[0]).toEqual([BigInt(valid.proof.pi_b[0]?.[1] ?? ''), BigInt(valid.proof.pi_b[0]?.[0] ?? '')])
  })
})

describe('a false bill fails', () => {
  it('wrong total: the claimed signal does not verify, and a forged witness breaks the constraints', async () => {
    const claimed = { ...valid.publicSignals, total: valid.publicSignals.total - 1n }
    expect(await verify(circuit, valid.proof, claimed)).toBe(false)

    // A prover who edits the total in the witness: the witness no longer satisfies the r1cs, and
    // a proof made from it does not verify for the forged total.
    const wtns = await witnessFor(circuit, readings, SALT, prices)
    setWire(wtns.data, 3, claimed.total) // wire 0 is the constant 1; outputs follow
    expect(await snarkjs.wtns.check(join(profileBuildDir('test'), 'bill.r1cs'), wtns, silent)).toBe(false)
    const forged = await snarkjs.groth16.prove(circuit.zkeyPath, wtns)
    expect(forged.publicSignals[2]).toBe(String(claimed.total))
    expect(await verify(circuit, forged.proof, claimed)).toBe(false)
  })

  it('wrong commitment: another period’s commitment does not verify; a forged witness breaks the constraints', async () => {
    const other = commit(readings.slice(1), SALT, circuit.n)
    const claimed = { ...valid.publicSignals, commitment: other }
    expect(await verify(circuit, valid.proof, claimed)).toBe(false)
    expect(
      await verify(circuit, valid.proof, {
        ...valid.publicSignals,
        commitment: commit(readings, SALT + 1n, circuit.n),
      }),
    ).toBe(false)

    const wtns = await witnessFor(circuit, readings, SALT, prices)
    setWire(wtns.data, 1, other)
    expect(await snarkjs.wtns.check(join(profileBuildDir('test'), 'bill.r1cs'), wtns, silent)).toBe(false)
    const forged = await snarkjs.groth16.prove(circuit.zkeyPath, wtns)
    expect(await verify(circuit, forged.proof, claimed)).toBe(false)
  })

  it('reading out of range (≥ 2^15): the API rejects it, as the meter and the node do', async () => {
    expect(MAX_READING).toBe(2 ** 15 - 1)
    const bad = [...readings]
    bad[7] = MAX_READING + 1
    await expect(prove(circuit, { readings: bad, salt: SALT, prices })).rejects.toThrow(InvalidReadingError)
    bad[7] = -1
    await expect(prove(circuit, { readings: bad, salt: SALT, prices })).rejects.toThrow(InvalidReadingError)
  })

  it('energy moved to a cheaper slot: the per-slot sums are bound by the meter-signed commitment', async () => {
    // Same readings digest, same total energy, 200 Wh moved from an evening slot (45 gwei/Wh) to a
    // night slot (10 gwei/Wh): the witness is computable and the proof verifies, but only for the
    // commitment of the forged sums, never for the one the meter signed.
    const sums = slotSums(readings, circuit.n, circuit.slots)
    const forgedSums = sums.map((v, s) => (s === 80 ? v - 200n : s === 10 ? v + 200n : v))
    const wtns = await witnessFor(circuit, readings, SALT, prices, forgedSums)
    const forged = await snarkjs.groth16.prove(circuit.zkeyPath, wtns)
    const forgedSignals = {
      commitment: BigInt(forged.publicSignals[0] as string),
      tariffHash: BigInt(forged.publicSignals[1] as string),
      total: BigInt(forged.publicSignals[2] as string),
      energyWh: BigInt(forged.publicSignals[3] as string),
    }
    expect(forgedSignals.energyWh).toBe(valid.publicSignals.energyWh)
    expect(forgedSignals.total).toBe(valid.publicSignals.total - 200n * (45_000_000_000n - 10_000_000_000n))
    expect(forgedSignals.commitment).toBe(
      commitToSlotSums(readingsDigest(readings, SALT, circuit.n), forgedSums),
    )
    expect(forgedSignals.commitment).not.toBe(valid.publicSignals.commitment)
    expect(await verify(circuit, forged.proof, forgedSignals)).toBe(true)
    expect(
      await verify(circuit, forged.proof, { ...forgedSignals, commitment: valid.publicSignals.commitment }),
    ).toBe(false)
  })

  it('slot sums opened past their 20-bit lanes: same packed elements, same energy, lower total: refused', async () => {
    // The meter packs 12 sums per element (protocol §3, version 3). A prover who could open an
    // element to other lanes would keep the meter's commitment and the energy and move cost around:
    // δ = (2^20, −(2^20 + 1), 1) on lanes 3–5 of element 2 (slots 27 at 10 gwei/Wh, 28 and 29 at
    // 25) adds 0 to the element (the polynomial (x − 2^20)(x − 1) at x = 2^20) and 0 to the
    // energy, and takes 2^20 · 15 gwei off the total. Full readings keep the forged total positive.
    const full = Array.from({ length: circuit.n }, () => MAX_READING)
    const sums = slotSums(full, circuit.n, circuit.slots)
    const lane = 1n << 20n
    const delta = new Map([
      [27, lane],
      [28, -(lane + 1n)],
      [29, 1n],
    ])
    const forged = sums.map(
      (v, s) => (((v + (delta.get(s) ?? 0n)) % FIELD_ORDER) + FIELD_ORDER) % FIELD_ORDER,
    )
    const packedMod = Array.from({ length: 8 }, (_, j) =>
      Array.from({ length: 12 }, (_, k) => (forged[12 * j + k] as bigint) << BigInt(20 * k)).reduce(
        (a, b) => (a + b) % FIELD_ORDER,
      ),
    )
    // The premise of the attack, in the reference: the meter's packed elements, commitment and energy.
    expect(packedMod).toEqual(packSlotSums(sums))
    const digest = readingsDigest(full, SALT, circuit.n)
    expect(poseidonChain(digest, [layoutWord(circuit.slots), ...packedMod])).toBe(
      commit(full, SALT, circuit.n),
    )
    const cost = (ss: bigint[]) => ss.reduce((a, v, s) => (a + v * (prices[s] as bigint)) % FIELD_ORDER, 0n)
    const energy = (ss: bigint[]) => ss.reduce((a, v) => (a + v) % FIELD_ORDER, 0n)
    expect(energy(forged)).toBe(energy(sums))
    expect(cost(forged)).toBe(cost(sums) - lane * 15_000_000_000n)
    // The circuit's lane range checks refuse it: no witness, and a witness with the forged lanes
    // written in breaks the constraints, so no proof of it verifies.
    await expect(witnessFor(circuit, full, SALT, prices, forged)).rejects.toThrow()
    const wtns = await witnessFor(circuit, full, SALT, prices)
    for (const [s] of delta) {
      // Wires: 0 is the constant 1, 1–4 the outputs, 5 the readings digest, 6… the slot sums.
      expect(getWire(wtns.data, 6 + s)).toBe(sums[s])
      setWire(wtns.data, 6 + s, forged[s] as bigint)
    }
    expect(await snarkjs.wtns.check(join(profileBuildDir('test'), 'bill.r1cs'), wtns, silent)).toBe(false)
    const proof = await snarkjs.groth16.prove(circuit.zkeyPath, wtns)
    const claimed = {
      commitment: commit(full, SALT, circuit.n),
      tariffHash: tariffHash(prices),
      total: cost(forged),
      energyWh: energy(sums),
    }
    expect(await verify(circuit, proof.proof, claimed)).toBe(false)
  })

  it('a version-1 or version-2 commitment cannot be opened by this circuit', async () => {
    // A meter on old firmware signs R alone (v 1) or R chained with the unpacked sums (v 2); the
    // node refuses its PERIOD payload, and no proof of this circuit carries either as its commitment.
    const v1 = readingsDigest(readings, SALT, circuit.n)
    const v2 = poseidonChain(v1, slotSums(readings, circuit.n, circuit.slots))
    expect(v1).not.toBe(valid.publicSignals.commitment)
    expect(v2).not.toBe(valid.publicSignals.commitment)
    expect(await verify(circuit, valid.proof, { ...valid.publicSignals, commitment: v1 })).toBe(false)
    expect(await verify(circuit, valid.proof, { ...valid.publicSignals, commitment: v2 })).toBe(false)
  })

  it('readings at the limit (2^15 − 1) prove and verify, with the reference public signals', async () => {
    const full = Array.from({ length: circuit.n }, () => MAX_READING)
    const bill = await prove(circuit, { readings: full, salt: SALT, prices })
    const totals = billTotals(full, prices, circuit.n)
    expect(bill.publicSignals).toEqual({
      commitment: commit(full, SALT, circuit.n),
      tariffHash: tariffHash(prices),
      total: totals.total,
      energyWh: totals.energyWh,
    })
    expect(await verify(circuit, bill.proof, bill.publicSignals)).toBe(true)
  })

  it('wrong tariff: a proof with other prices carries their hash and fails against the published one', async () => {
    const cheaper = prices.map((p, s) => (s === 80 ? p / 2n : p))
    const bill = await prove(circuit, { readings, salt: SALT, prices: cheaper })
    expect(bill.publicSignals.tariffHash).toBe(tariffHash(cheaper))
    expect(bill.publicSignals.tariffHash).not.toBe(tariffHash(prices))
    expect(bill.publicSignals.total).toBeLessThan(valid.publicSignals.total)
    // The contract checks the proof against the tariff the utility published for the period.
    expect(await verify(circuit, bill.proof, { ...bill.publicSignals, tariffHash: tariffHash(prices) })).toBe(
      false,
    )
  })

  it('a tampered proof does not verify', async () => {
    const proof = structuredClone(valid.proof)
    proof.pi_a = [valid.proof.pi_c[0] ?? '', valid.proof.pi_c[1] ?? '', '1']
    expect(await verify(circuit, proof, valid.publicSignals)).toBe(false)
  })
})

describe('bills proved at once', () => {
  it('each gets its own witness: the loaded witness calculator is not shared mid-computation', async () => {
    // The node's prover child takes several bills at once. With one witness calculator loaded per
    // circuit, two concurrent witnesses read each other's signals ("the circuit's commitment differs
    // from the reference implementation's"), found by the crash test after the calculator was cached.
    const other = readings.map((r, i) => (i % 7 === 0 ? r + 1 : r))
    const [a, b] = await Promise.all([
      prove(circuit, { readings, salt: SALT, prices }),
      prove(circuit, { readings: other, salt: SALT + 1n, prices }),
    ])
    expect(a.publicSignals.commitment).not.toBe(b.publicSignals.commitment)
    expect(await verify(circuit, a.proof, a.publicSignals)).toBe(true)
    expect(await verify(circuit, b.proof, b.publicSignals)).toBe(true)
  })
})

describe('holdCurve', () => {
  beforeAll(() => releaseFileCurve())

  it('keeps the curve between proofs until released, then ends it as after any proof', async () => {
    const g = globalThis as { curve_bn128?: unknown }
    const release = holdCurve()
    await prove(circuit, { readings, salt: SALT, prices })
    const curve = g.curve_bn128
    expect(curve).toBeTruthy()
    await prove(circuit, { readings, salt: SALT, prices })
    expect(g.curve_bn128).toBe(curve) // the same curve: not rebuilt for the second proof
    await release()
    expect(g.curve_bn128).toBeNull()
    await release() // a second release does nothing
    await prove(circuit, { readings, salt: SALT, prices })
    expect(g.curve_bn128).toBeNull() // no hold: ended after the proof, as before
  })

  it('single-threaded: one curve for every proof (snarkjs would build one per proof), gone on release', async () => {
    const g = globalThis as { curve_bn128?: { tm?: { singleThread?: boolean } } | null }
    const release = holdCurve({ singleThread: true })
    const first = await prove(circuit, { readings, salt: SALT, prices })
    const curve = g.curve_bn128
    expect(curve?.tm?.singleThread).toBe(true) // no worker threads: a 512 MB box's peak
    const second = await prove(circuit, { readings, salt: SALT, prices })
    expect(g.curve_bn128).toBe(curve)
    expect(second.publicSignals).toEqual(first.publicSignals)
    expect(await verify(circuit, second.proof, second.publicSignals)).toBe(true)
    await release()
    expect(g.curve_bn128).toBeNull()
  })
})

describe('argument validation', () => {
  it('prove() rejects bad salts, price curves and shapes with named errors', async () => {
    await expect(prove(circuit, { readings, salt: -1n, prices })).rejects.toThrow(InvalidSaltError)
    await expect(prove(circuit, { readings, salt: SALT, prices: prices.slice(1) })).rejects.toThrow(
      InvalidCircuitInputError,
    )
    await expect(prove(circuit, { readings: [...readings, 0], salt: SALT, prices })).rejects.toThrow(
      InvalidReadingError,
    )
    await expect(prove({} as Circuit, { readings, salt: SALT, prices })).rejects.toThrow(
      InvalidCircuitInputError,
    )
  })

  it('verify() and the calldata helpers reject malformed proofs and signals', async () => {
    await expect(verify(circuit, { pi_a: [] } as never, valid.publicSignals)).rejects.toThrow(
      InvalidProofError,
    )
    await expect(verify(circuit, valid.proof, { ...valid.publicSignals, total: -1n })).rejects.toThrow(
      InvalidProofError,
    )
    expect(() => toSolidityProof({ ...valid.proof, pi_c: ['x', '1', '1'] })).toThrow(InvalidProofError)
    expect(() => publicSignalsArray({ ...valid.publicSignals, energyWh: 1 as unknown as bigint })).toThrow(
      InvalidProofError,
    )
  })
})
