/**
 * The forging attack of issue 13, run as a dishonest utility would. Against the INSECURE
 * development setup it SUCCEEDS, as expected and documented (docs/trusted-setup.md): the toxic
 * waste follows from the public beacon phrases in the build's transcript, so a bill whose total is
 * cut tenfold gets a proof that passes snarkjs, the deployed verifier and submitBill (eth_call).
 * Against a setup built by a ceremony (both phases, random contributions the test does not keep)
 * the same procedure FAILS, and so does the phase-1-only forgery.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Contract, type InterfaceAbi } from 'ethers'
import * as snarkjs from 'snarkjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Groth16Proof } from '../../circuits/src/index.ts'
import { toSolidityProof } from '../../circuits/src/index.ts'
import { profileBuildDir } from '../../circuits/src/profiles.ts'
import { readZkeyVerificationKey, type VerificationKeyJson } from '../../circuits/src/setup.ts'
import {
  deltaFromBeacon,
  devToxicWaste,
  guessMatches,
  phase1FromBeacon,
  phase1OnlyProof,
  simulateProof,
  type ToxicGuess,
} from '../../circuits/test/forge.ts'
import { PHASE1_BEACON, PHASE2_BEACON, runTinyCeremony } from '../../circuits/test/tiny-ceremony.ts'
import { deployLedger, type LedgerClient } from '../ts/ledger.ts'
import { type Circuit, loadCircuit, type PreparedBill, prepareBill, priceCurve } from './bills.ts'
import {
  DAY,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  signPeriod,
  startTestEnv,
  type TestEnv,
} from './env.ts'

const HEAVY = 300_000
const PRICES = priceCurve(20_000_000_000n, 45_000_000_000n, 96)
const meter = meterKey('forger')
const log = () => {}

let env: TestEnv
let circuit: Circuit
let honest: PreparedBill
let ledger: LedgerClient
let vk: VerificationKeyJson

const signalsOf = (b: PreparedBill, total: bigint) => [
  b.period.commitment as bigint,
  b.tariffHash,
  total,
  b.energyWh,
]

/** The EVM encodes the point at infinity as (0, 0); snarkjs writes it (0, 1, 0). */
function forEvm(proof: Groth16Proof): ReturnType<typeof toSolidityProof> {
  const p = toSolidityProof(proof)
  if (proof.pi_c[2] === '0') p.c = [0n, 0n]
  return p
}

beforeAll(async () => {
  env = await startTestEnv()
  circuit = loadCircuit('test')
  vk = JSON.parse(await readFile(join(profileBuildDir('test'), 'verification_key.json'), 'utf8'))
  honest = await prepareBill(circuit, {
    meter,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    prices: PRICES,
    tariffId: 1n,
    seed: 7,
  })
  // The development chain (31337) is the one place a dev setup deploys to.
  ledger = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  await ledger.registerMeter({
    meter: meter.address,
    household: env.chain.accounts[1]!.address,
    areaId: 1,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  await ledger.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
}, HEAVY)

afterAll(async () => {
  await env?.chain.close()
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
})

describe('forging against the INSECURE development setup (expected to succeed)', () => {
  let guess: ToxicGuess
  const cut = () => honest.total / 10n

  it('re-derives α, β (phase 1) and δ (phase 2) from the public phrases in the transcript', async () => {
    const transcript = JSON.parse(await readFile(join(profileBuildDir('test'), 'transcript.json'), 'utf8'))
    expect(transcript.kind).toBe('insecure-dev')
    // Phase 1's key depends on the ptau's power, which the transcript names: the profile's one dev
    // ptau is at its larger circuit's power (2^14, the net bill's), above the bill's own 2^13.
    const manifest = JSON.parse(await readFile(join(profileBuildDir('test'), 'manifest.json'), 'utf8'))
    expect(transcript.phase1.power).toBeGreaterThanOrEqual(manifest.power)
    guess = await devToxicWaste(transcript.phase1.power, transcript.phase1.beacon, transcript.phase2.beacon)
    expect(await guessMatches(vk, guess)).toEqual({ alpha: true, delta: true })
  })

  it('forges a proof of a bill cut 10× that snarkjs, the verifier and submitBill accept', async () => {
    const forged = await simulateProof(vk, signalsOf(honest, cut()), guess)
    expect(await snarkjs.groth16.verify(vk as never, signalsOf(honest, cut()).map(String), forged)).toBe(true)
    const proof = forEvm(forged)
    // The verifier the ledger is bound to (its address as the ledger reports it).
    const v = new Contract(
      (await ledger.trustedSetup()).verifier,
      env.artifacts.verifier.abi as InterfaceAbi,
      env.provider,
    )
    expect(await v.getFunction('verifyProof')(proof.a, proof.b, proof.c, signalsOf(honest, cut()))).toBe(true)
    // submitBill as an eth_call from the household: every ledger check passes with the forged total.
    const household = ledger.connect(env.signers[1]!)
    const period = honest.period
    const args = [
      [
        period.meter,
        period.periodStart,
        period.periodEnd,
        period.startCounter,
        period.endCounter,
        period.commitment,
      ],
      signPeriod(meter, await ledger.domain(), period),
      [proof.a, proof.b, proof.c],
      [cut(), honest.energyWh, 1n, honest.cidDigest],
    ]
    const billId = await household.contract.getFunction('submitBill').staticCall(...args)
    expect(billId).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('forges with the phase-1 secret β alone (C at infinity): phase-2 honesty cannot save a known τ/α/β', async () => {
    const forged = await phase1OnlyProof(vk, signalsOf(honest, cut()), guess.beta)
    expect(await snarkjs.groth16.verify(vk as never, signalsOf(honest, cut()).map(String), forged)).toBe(true)
  })
})

describe('forging against a ceremony-built setup (must fail)', () => {
  let dir: string
  let tinyVk: VerificationKeyJson
  let power: number
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zkmeter-forge-'))
    const ceremony = await runTinyCeremony(dir, log)
    power = ceremony.power
    tinyVk = await readZkeyVerificationKey(ceremony.finalZkey)
  }, HEAVY)
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const signals = [1n, 2n, 3n, 4n]

  it('the same procedure, from the public beacons, neither finds the secrets nor forges', async () => {
    const { alpha, beta } = await phase1FromBeacon(power, Buffer.from(PHASE1_BEACON, 'hex'))
    const guess = { alpha, beta, delta: await deltaFromBeacon(Buffer.from(PHASE2_BEACON, 'hex')) }
    expect(await guessMatches(tinyVk, guess)).toEqual({ alpha: false, delta: false })
    const forged = await simulateProof(tinyVk, signals, guess)
    expect(await snarkjs.groth16.verify(tinyVk as never, signals.map(String), forged)).toBe(false)
    const phase1Only = await phase1OnlyProof(tinyVk, signals, guess.beta)
    expect(await snarkjs.groth16.verify(tinyVk as never, signals.map(String), phase1Only)).toBe(false)
  })
})
