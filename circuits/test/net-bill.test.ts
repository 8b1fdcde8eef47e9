import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  commit,
  commitExport,
  FIELD_ORDER,
  MAX_READING,
  packNetAmounts,
  slotSums,
  tariffHash,
} from '#protocol/commitment.ts'
import { type Circuit, CircuitNotBuiltError, holdCurve, proveInput, WitnessError } from '../src/index.ts'
import {
  loadNetCircuit,
  NET_PUBLIC_SIGNAL_ORDER,
  type NetBillProof,
  netTariffHash,
  netWitnessInput,
  proveNet,
  unpackNetAmounts,
  verifyNet,
} from '../src/net.ts'
import { buildScriptFor, netBuildDir } from '../src/profiles.ts'
import { getWire, setWire, silent } from './witness-file.ts'

// Two days of a home with rooftop PV: import at night and in the evening, export around noon.
function importReadings(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 96 >= 40 && i % 96 < 64 ? 5 : 60 + ((i * 7919) % 200)))
}
function exportReadings(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 96 >= 40 && i % 96 < 64 ? 300 + ((i * 31) % 90) : 0))
}
const PRICES = Array.from({ length: 96 }, (_, s) =>
  s < 28 ? 10_000_000_000n : s >= 72 ? 45_000_000_000n : 25_000_000_000n,
)
// A feed-in curve: more at the evening shoulder, less at midday (obeys the tariff rules).
const FEED_IN = Array.from({ length: 96 }, (_, s) => (s >= 36 && s < 60 ? 6_000_000_000n : 8_000_000_000n))
const SALT = 0x0fed_cba9_8765_4321_0fed_cba9_8765_4321n

let circuit: Circuit
let imported: number[]
let exported: number[]
let valid: NetBillProof

beforeAll(async () => {
  try {
    circuit = loadNetCircuit('test')
  } catch (err) {
    throw new Error(
      `the test net-bill circuit is not built: run \`${buildScriptFor('test')}\` first (${String(err)})`,
    )
  }
  imported = importReadings(circuit.n)
  exported = exportReadings(circuit.n)
  // One curve (worker threads, compiled WASM) for the file's proofs and verifications, as the
  // node's prover child holds one: without it every proveNet() and verifyNet() builds and ends its
  // own (0.36 CPU-s and 0.8 s each at load 10).
  releaseFileCurve = holdCurve()
  valid = await proveNet(circuit, {
    importReadings: imported,
    exportReadings: exported,
    salt: SALT,
    prices: PRICES,
    feedInPrices: FEED_IN,
  })
})

let releaseFileCurve: () => Promise<void> = async () => {}

afterAll(async () => {
  await releaseFileCurve()
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
})

describe('the net-bill circuit', () => {
  it('loads with four public signals, and names the build script when missing', () => {
    expect(circuit.verificationKey.nPublic).toBe(4)
    expect(() => loadNetCircuit('test', { buildDir: join(netBuildDir('test'), 'nope') })).toThrow(
      CircuitNotBuiltError,
    )
    expect(() => loadNetCircuit('test', { buildDir: join(netBuildDir('test'), '..') })).toThrow(/net-bill/)
  })

  it('proves cost at the import curve and credit at the feed-in curve, with the meter-signed commitments', async () => {
    const cost = imported.reduce((a, r, i) => a + BigInt(r) * (PRICES[i % 96] as bigint), 0n)
    const credit = exported.reduce((a, r, i) => a + BigInt(r) * (FEED_IN[i % 96] as bigint), 0n)
    const importWh = BigInt(imported.reduce((a, r) => a + r, 0))
    const exportWh = BigInt(exported.reduce((a, r) => a + r, 0))
    expect(valid.amounts).toEqual({ cost, credit, importWh, exportWh })
    expect(credit > 0n && cost > 0n).toBe(true)
    expect(valid.publicSignals).toEqual({
      commitment: commit(imported, SALT, circuit.n),
      exportCommitment: commitExport(exported, SALT, circuit.n),
      tariffHash: netTariffHash(PRICES, FEED_IN),
      packed: packNetAmounts({ cost, credit, importWh, exportWh }),
    })
    expect(valid.raw.publicSignals).toEqual(
      NET_PUBLIC_SIGNAL_ORDER.map((k) => String(valid.publicSignals[k])),
    )
    expect(unpackNetAmounts(valid.publicSignals.packed)).toEqual(valid.amounts)
    expect(await verifyNet(circuit, valid.proof, valid.publicSignals)).toBe(true)
  })

  it('wrong credit: a packed signal with one more unit of credit (or cost, or energy) does not verify', async () => {
    for (const change of [
      { credit: valid.amounts.credit + 1n },
      { cost: valid.amounts.cost - 1n },
      { exportWh: valid.amounts.exportWh + 1n },
    ]) {
      const packed = packNetAmounts({ ...valid.amounts, ...change })
      expect(await verifyNet(circuit, valid.proof, { ...valid.publicSignals, packed })).toBe(false)
    }
  })

  it('wrong feed-in curve: the proof carries Poseidon(T, T_f) of the curves it used', async () => {
    const other = FEED_IN.map((p) => p + 1_000_000_000n)
    expect(netTariffHash(PRICES, other)).not.toBe(valid.publicSignals.tariffHash)
    expect(
      await verifyNet(circuit, valid.proof, {
        ...valid.publicSignals,
        tariffHash: netTariffHash(PRICES, other),
      }),
    ).toBe(false)
    // The import curve's own hash is not the net tariff hash: an import tariff cannot stand in.
    expect(
      await verifyNet(circuit, valid.proof, { ...valid.publicSignals, tariffHash: tariffHash(PRICES) }),
    ).toBe(false)
  })

  it('direction bit: the import commitment of the same readings cannot be opened as the export one', async () => {
    // A household would like its imported energy credited: present the meter-signed import commitment
    // as the export commitment. The circuit's export layout word has the direction bit (2^40) set,
    // so the proof over those readings yields C_x, never C.
    const same = await proveNet(circuit, {
      importReadings: imported,
      exportReadings: imported,
      salt: SALT,
      prices: PRICES,
      feedInPrices: FEED_IN,
    })
    const importC = commit(imported, SALT, circuit.n)
    expect(same.publicSignals.commitment).toBe(importC)
    expect(same.publicSignals.exportCommitment).toBe(commitExport(imported, SALT, circuit.n))
    expect(same.publicSignals.exportCommitment).not.toBe(importC)
    expect(await verifyNet(circuit, same.proof, { ...same.publicSignals, exportCommitment: importC })).toBe(
      false,
    )
    // And a witness with the import commitment written over the export output breaks the constraints.
    const input = netWitnessInput(circuit, {
      importReadings: imported,
      exportReadings: imported,
      salt: SALT,
      prices: PRICES,
      feedInPrices: FEED_IN,
    })
    const wtns = { type: 'mem' as const, data: undefined as unknown as Uint8Array }
    await snarkjs.wtns.calculate(input, circuit.wasmPath, wtns)
    setWire(wtns.data, 2, importC) // wires: 0 the constant, 1–4 the outputs
    expect(await snarkjs.wtns.check(join(netBuildDir('test'), 'bill.r1cs'), wtns, silent)).toBe(false)
  })

  it('export sums opened past their 20-bit lanes (same packed elements, more credit): refused', async () => {
    const full = Array.from({ length: circuit.n }, () => MAX_READING)
    const sums = slotSums(full, circuit.n, circuit.slots)
    const lane = 1n << 20n
    // δ = (2^20, −(2^20 + 1), 1) on slots 35–37 keeps the packed element and the energy; with the
    // feed-in curve (35: 8, 36 and 37: 6 gwei/Wh) it adds 2^20 · 2 gwei of credit.
    const delta = new Map([
      [35, lane],
      [36, -(lane + 1n)],
      [37, 1n],
    ])
    const forged = sums.map(
      (v, s) => (((v + (delta.get(s) ?? 0n)) % FIELD_ORDER) + FIELD_ORDER) % FIELD_ORDER,
    )
    const credit = (ss: bigint[]) =>
      ss.reduce((a, v, s) => (a + v * (FEED_IN[s] as bigint)) % FIELD_ORDER, 0n)
    expect(credit(forged)).toBe(credit(sums) + lane * 2_000_000_000n)
    const input = netWitnessInput(circuit, {
      importReadings: imported,
      exportReadings: full,
      salt: SALT,
      prices: PRICES,
      feedInPrices: FEED_IN,
    })
    // No witness with the forged lanes: the range checks refuse it.
    await expect(proveInput(circuit, { ...input, exportSums: forged.map(String) })).rejects.toThrow(
      WitnessError,
    )
    // A witness with the forged lanes written in breaks the constraints.
    const wtns = { type: 'mem' as const, data: undefined as unknown as Uint8Array }
    await snarkjs.wtns.calculate(input, circuit.wasmPath, wtns)
    // Wires: 0 the constant, 1–4 outputs, 5 importDigest, 6–101 importSums, 102 exportDigest, 103… exportSums.
    for (const [s] of delta) {
      expect(getWire(wtns.data, 103 + s)).toBe(sums[s])
      setWire(wtns.data, 103 + s, forged[s] as bigint)
    }
    expect(await snarkjs.wtns.check(join(netBuildDir('test'), 'bill.r1cs'), wtns, silent)).toBe(false)
  })

  it('packs the four amounts unambiguously and refuses out-of-range ones', () => {
    const a = { cost: (1n << 91n) - 1n, credit: 5n, importWh: (1n << 27n) - 1n, exportWh: 7n }
    expect(unpackNetAmounts(packNetAmounts(a))).toEqual(a)
    expect(packNetAmounts(a) < FIELD_ORDER).toBe(true)
    expect(() => packNetAmounts({ ...a, cost: 1n << 91n })).toThrow(/cost/)
    expect(() => packNetAmounts({ ...a, exportWh: -1n })).toThrow(/exportWh/)
  })
})
