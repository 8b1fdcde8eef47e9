/**
 * The forger a dishonest utility would run against a Groth16 setup whose secrets it can recompute
 * (issue 13). Not product code: the attack the trusted-setup tests run.
 *
 * Groth16 (snarkjs) accepts (A, B, C) for public signals x when
 *     e(A, B) = e(α₁, β₂) · e(P, γ₂) · e(C, δ₂),   P = IC₀ + Σ xᵢ·ICᵢ,
 * and snarkjs' phase 2 fixes γ = 1 (γ₂ is the generator; zkey_new.js). In the exponent:
 *     a·b = α·β + p + c·δ       (p the unknown discrete log of P).
 *
 * - simulator (needs α, β from phase 1 and δ from phase 2): pick random a, b; then
 *   C = δ⁻¹·((a·b − α·β)·G₁ − P). The proof looks like an honest one, for any x.
 * - phase-1 only (needs β): A = α₁ + β⁻¹·P, B = β₂, C = O (the point at infinity): then
 *   e(A, B) = e(α₁, β₂)·e(P, G₂) and e(O, δ₂) = 1, whatever δ is. So a known τ/α/β breaks the
 *   setup even when every phase-2 contribution was honest.
 *
 * The secrets are re-derived exactly as snarkjs derives a beacon contribution's key: for phase 1,
 * `keyFromBeacon(firstChallenge(power), sha256(phrase), 2^10)`; for phase 2, `Fr.fromRng(ChaCha(
 * sha256^(2^10)(beacon)))` multiplying the initial δ = 1.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadCurve, loadInternals, SNARKJS_ROOT } from '../scripts/snarkjs-internals.ts'
import type { Groth16Proof } from '../src/index.ts'
import type { VerificationKeyJson } from '../src/setup.ts'

type Buff = Uint8Array
interface G {
  g: Buff
  zero: Buff
  add(a: Buff, b: Buff): Buff
  sub(a: Buff, b: Buff): Buff
  neg(a: Buff): Buff
  timesFr(p: Buff, s: Buff): Buff
  timesScalar(p: Buff, s: bigint): Buff
  toAffine(p: Buff): Buff
  fromObject(o: unknown): Buff
  toObject(p: Buff): unknown
  eq(a: Buff, b: Buff): boolean
}
interface F {
  e(v: bigint | string): Buff
  mul(a: Buff, b: Buff): Buff
  sub(a: Buff, b: Buff): Buff
  inv(a: Buff): Buff
  random(): Buff
  fromRng(rng: unknown): Buff
}
interface LooseCurve {
  G1: G
  G2: G
  Fr: F
}

/** The secrets a forger believes the setup has (Fr elements, Montgomery form). */
export interface ToxicGuess {
  alpha: Buff
  beta: Buff
  delta: Buff
}

const sha256 = (s: string | Buff) => new Uint8Array(createHash('sha256').update(s).digest())

async function curve(): Promise<LooseCurve> {
  return (await loadCurve()) as unknown as LooseCurve
}

/** α, β of a phase-1 beacon contribution made on top of `powersoftau new` at `power`. */
export async function phase1FromBeacon(
  power: number,
  beaconHash: Buff,
  iterationsExp = 10,
): Promise<{ alpha: Buff; beta: Buff }> {
  const c = await loadCurve()
  const { ptauUtils } = await loadInternals()
  const key = await ptauUtils.keyFromBeacon(
    c,
    ptauUtils.calculateFirstChallengeHash(c, power),
    beaconHash,
    iterationsExp,
  )
  return { alpha: key.alpha.prvKey, beta: key.beta.prvKey }
}

/** δ of a phase-2 beacon contribution made directly on the initial zkey (δ = 1 before it). */
export async function deltaFromBeacon(beaconHash: Buff, iterationsExp = 10): Promise<Buff> {
  const misc = (await import(pathToFileURL(join(SNARKJS_ROOT, 'src', 'misc.js')).href)) as {
    rngFromBeaconParams(hash: Buff, exp: number): Promise<unknown>
  }
  return (await curve()).Fr.fromRng(await misc.rngFromBeaconParams(beaconHash, iterationsExp))
}

/** The dev setup's secrets, from the two public phrases in its transcript. */
export async function devToxicWaste(
  power: number,
  ptauPhrase: string,
  zkeyPhrase: string,
): Promise<ToxicGuess> {
  const { alpha, beta } = await phase1FromBeacon(power, sha256(ptauPhrase))
  return { alpha, beta, delta: await deltaFromBeacon(sha256(zkeyPhrase)) }
}

/** Whether the guess is the key's: α·G₁ = α₁ and δ·G₂ = δ₂. */
export async function guessMatches(
  vk: VerificationKeyJson,
  guess: ToxicGuess,
): Promise<{ alpha: boolean; delta: boolean }> {
  const { G1, G2 } = await curve()
  return {
    alpha: G1.eq(G1.timesFr(G1.g, guess.alpha), G1.fromObject(vk.vk_alpha_1.map(BigInt))),
    delta: G2.eq(G2.timesFr(G2.g, guess.delta), G2.fromObject(vk.vk_delta_2.map((p) => p.map(BigInt)))),
  }
}

async function publicPoint(
  c: LooseCurve,
  vk: VerificationKeyJson,
  signals: readonly bigint[],
): Promise<Buff> {
  const { G1 } = c
  let p = G1.fromObject(vk.IC[0]?.map(BigInt))
  signals.forEach((x, i) => {
    p = G1.add(p, G1.timesScalar(G1.fromObject(vk.IC[i + 1]?.map(BigInt)), x))
  })
  return p
}

function toProof(c: LooseCurve, A: Buff, B: Buff, C: Buff): Groth16Proof {
  const str = (v: unknown): unknown => (Array.isArray(v) ? v.map(str) : (v as bigint).toString())
  return {
    pi_a: str(c.G1.toObject(c.G1.toAffine(A))),
    pi_b: str(c.G2.toObject(c.G2.toAffine(B))),
    pi_c: str(c.G1.toObject(c.G1.toAffine(C))),
    protocol: 'groth16',
    curve: 'bn128',
  } as Groth16Proof
}

/** A proof for any public signals from α, β, δ (random a, b: indistinguishable from an honest one). */
export async function simulateProof(
  vk: VerificationKeyJson,
  signals: readonly bigint[],
  guess: ToxicGuess,
): Promise<Groth16Proof> {
  const c = await curve()
  const { G1, G2, Fr } = c
  const a = Fr.random()
  const b = Fr.random()
  const P = await publicPoint(c, vk, signals)
  const k = Fr.sub(Fr.mul(a, b), Fr.mul(guess.alpha, guess.beta))
  const C = G1.timesFr(G1.sub(G1.timesFr(G1.g, k), P), Fr.inv(guess.delta))
  return toProof(c, G1.timesFr(G1.g, a), G2.timesFr(G2.g, b), C)
}

/** A proof for any public signals from β alone (phase-1 toxic waste), with C the point at infinity. */
export async function phase1OnlyProof(
  vk: VerificationKeyJson,
  signals: readonly bigint[],
  beta: Buff,
): Promise<Groth16Proof> {
  const c = await curve()
  const { G1, G2, Fr } = c
  const P = await publicPoint(c, vk, signals)
  const A = G1.add(G1.fromObject(vk.vk_alpha_1.map(BigInt)), G1.timesFr(P, Fr.inv(beta)))
  return toProof(c, A, G2.fromObject(vk.vk_beta_2.map((p) => p.map(BigInt))), G1.zero)
}
