/**
 * INSECURE development Powers of Tau, written directly in snarkjs' *prepared* (phase-2 ready) format.
 *
 * `snarkjs powersoftau prepare phase2` computes the Lagrange sections with an IFFT over curve points
 * (a scalar multiplication per butterfly): 79 s at 2^12, minutes beyond. Here tau, alpha and beta
 * are known (they come from a public beacon, which is exactly what makes this file insecure), so
 * every point is `scalar · generator`: the Lagrange scalars L_i(τ) come from an IFFT over the field
 * (cheap), then each point costs one fixed-generator multiplication in ffjavascript's WASM threads.
 *
 * The file is what `powersoftau new` + `powersoftau beacon` + `powersoftau prepare phase2` would
 * produce for the same beacon: a single beacon contribution (type 1) whose key snarkjs re-derives
 * when it verifies the file, the hash chain (response and next challenge) computed as snarkjs does.
 * `snarkjs powersoftau verify` accepts it (circuits/test/dev-ptau.test.ts checks that and compares
 * the bytes with snarkjs' own pipeline at a small power).
 */
import { type Buff, type Curve, type Group, loadCurve, loadInternals } from './snarkjs-internals.ts'

/** Public, hence insecure: anyone can recompute tau, alpha and beta from it. */
export const DEV_PTAU_BEACON = 'zkmeter INSECURE development powers of tau v1 - never use in production'
/** snarkjs' minimum beacon iteration exponent; the beacon is public anyway. */
export const DEV_BEACON_ITERATIONS_EXP = 10

/** SHA-256 of the beacon phrase: the 32-byte beacon hash snarkjs expects. */
export async function devBeaconHash(phrase: string = DEV_PTAU_BEACON): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(phrase))
  return new Uint8Array(digest)
}

const POINTS_PER_TASK = 2048

/**
 * `scalars[i] · generator` for every Fr element in `scalars` (Montgomery form, as ffjavascript keeps
 * them), as affine points in snarkjs' LEM layout, spread over the curve's worker threads.
 */
async function generatorTimes(curve: Curve, group: 'G1' | 'G2', scalars: Buff): Promise<Buff> {
  const G: Group = curve[group]
  const prefix = group === 'G1' ? 'g1m' : 'g2m'
  const frBytes = curve.Fr.n8
  const sAffine = G.F.n8 * 2
  const sJacobian = G.F.n8 * 3
  const n = scalars.byteLength / frBytes
  const tasks: Promise<Buff[]>[] = []
  for (let start = 0; start < n; start += POINTS_PER_TASK) {
    const count = Math.min(POINTS_PER_TASK, n - start)
    const task: unknown[] = [
      { cmd: 'ALLOCSET', var: 0, buff: G.oneAffine },
      { cmd: 'ALLOCSET', var: 1, buff: scalars.slice(start * frBytes, (start + count) * frBytes) },
      { cmd: 'ALLOC', var: 2, len: count * sJacobian },
    ]
    for (let k = 0; k < count; k++) {
      task.push({
        cmd: 'CALL',
        fnName: `${prefix}_timesFrAffine`,
        params: [{ var: 0 }, { var: 1, offset: k * frBytes }, { var: 2, offset: k * sJacobian }],
      })
    }
    task.push({
      cmd: 'CALL',
      fnName: `${prefix}_batchToAffine`,
      params: [{ var: 2 }, { val: count }, { var: 2 }],
    })
    task.push({ cmd: 'GET', out: 0, var: 2, len: count * sAffine })
    tasks.push(curve.tm.queueAction(task))
  }
  const results = await Promise.all(tasks)
  const out = new Uint8Array(n * sAffine)
  let offset = 0
  for (const [chunk] of results) {
    out.set(chunk as Buff, offset)
    offset += (chunk as Buff).byteLength
  }
  return out
}

/** [first, first·x, first·x², …] (count elements) as one Fr buffer. */
function geometric(curve: Curve, first: Buff, x: Buff, count: number): Buff {
  const { Fr } = curve
  const out = new Uint8Array(count * Fr.n8)
  let acc = first
  for (let i = 0; i < count; i++) {
    out.set(acc, i * Fr.n8)
    acc = Fr.mul(acc, x)
  }
  return out
}

/** Every element of `buff` times the field element `k`. */
function scale(curve: Curve, buff: Buff, k: Buff): Buff {
  const { Fr } = curve
  const out = new Uint8Array(buff.byteLength)
  for (let o = 0; o < buff.byteLength; o += Fr.n8) out.set(Fr.mul(buff.subarray(o, o + Fr.n8), k), o)
  return out
}

export interface DevPtauOptions {
  beaconPhrase?: string
  log?: (msg: string) => void
}

/**
 * Writes a prepared, INSECURE ptau of 2^power at `path`: sections 1–7 (header, tau/alpha/beta
 * powers, betaG2, the beacon contribution) and 12–15 (Lagrange bases for every domain 2^0…2^power,
 * plus 2^(power+1) for tauG1), in snarkjs' section order.
 */
export async function writeDevPtau(path: string, power: number, opts: DevPtauOptions = {}): Promise<void> {
  if (!Number.isInteger(power) || power < 1 || power > 27) {
    throw new RangeError(`ptau power must be an integer in [1, 27], got ${power}`)
  }
  const log = opts.log ?? (() => {})
  const { ptauUtils, misc, binFileUtils, blake2b } = await loadInternals()
  const curve = await loadCurve()
  const { Fr, G1, G2 } = curve
  const n = 2 ** power

  // The key a beacon contribution on top of `powersoftau new` gets (snarkjs re-derives it in verify).
  const challenge = ptauUtils.calculateFirstChallengeHash(curve, power)
  const beaconHash = await devBeaconHash(opts.beaconPhrase)
  const key = await ptauUtils.keyFromBeacon(curve, challenge, beaconHash, DEV_BEACON_ITERATIONS_EXP)
  const tau = key.tau.prvKey
  const alpha = key.alpha.prvKey
  const beta = key.beta.prvKey

  log(`dev ptau 2^${power} (INSECURE): powers`)
  const tauPowers = geometric(curve, Fr.one, tau, 2 * n) // τ^0 … τ^(2n−1); the last is only used zeroed
  const tauG1 = await generatorTimes(curve, 'G1', tauPowers.subarray(0, (2 * n - 1) * Fr.n8))
  const tauG2 = await generatorTimes(curve, 'G2', tauPowers.subarray(0, n * Fr.n8))
  const alphaTauG1 = await generatorTimes(curve, 'G1', scale(curve, tauPowers.subarray(0, n * Fr.n8), alpha))
  const betaTauG1 = await generatorTimes(curve, 'G1', scale(curve, tauPowers.subarray(0, n * Fr.n8), beta))
  const betaG2 = G2.toAffine(G2.timesFr(G2.oneAffine, beta))
  const sG1 = G1.F.n8 * 2
  const sG2 = G2.F.n8 * 2

  // Response hash: the previous challenge, every new point compressed, then the public key.
  const responseHasher = blake2b.create({ dkLen: 64 })
  responseHasher.update(challenge)
  for (const [G, section] of [
    [G1, tauG1],
    [G2, tauG2],
    [G1, alphaTauG1],
    [G1, betaTauG1],
    [G2, betaG2],
  ] as const) {
    responseHasher.update(await G.batchLEMtoC(section))
  }
  const partialHash = misc.toPartialHash(responseHasher)
  const pubKey = new Uint8Array(G1.F.n8 * 2 * 6 + G2.F.n8 * 2 * 3)
  ptauUtils.toPtauPubKeyRpr(pubKey, 0, curve, key, false)
  responseHasher.update(pubKey)
  const responseHash = responseHasher.digest()
  // Next challenge: the response hash, then every point uncompressed.
  const nextHasher = blake2b.create({ dkLen: 64 })
  nextHasher.update(responseHash)
  for (const [G, section] of [
    [G1, tauG1],
    [G2, tauG2],
    [G1, alphaTauG1],
    [G1, betaTauG1],
    [G2, betaG2],
  ] as const) {
    nextHasher.update(await G.batchLEMtoU(section))
  }
  const contribution = {
    name: 'zkmeter INSECURE development beacon',
    type: 1,
    numIterationsExp: DEV_BEACON_ITERATIONS_EXP,
    beaconHash,
    key,
    tauG1: G1.fromRprLEM(tauG1, sG1),
    tauG2: G2.fromRprLEM(tauG2, sG2),
    alphaG1: G1.fromRprLEM(alphaTauG1, 0),
    betaG1: G1.fromRprLEM(betaTauG1, 0),
    betaG2: G2.fromRprLEM(betaG2, 0),
    partialHash,
    nextChallenge: nextHasher.digest(),
  }

  const fd = await binFileUtils.createBinFile(path, 'ptau', 1, 11)
  try {
    await ptauUtils.writePTauHeader(fd, curve, power)
    const sections: [number, Buff][] = [
      [2, tauG1],
      [3, tauG2],
      [4, alphaTauG1],
      [5, betaTauG1],
      [6, betaG2],
    ]
    for (const [id, data] of sections) {
      await binFileUtils.startWriteSection(fd, id)
      await fd.write(data)
      await binFileUtils.endWriteSection(fd)
    }
    await ptauUtils.writeContributions(fd, curve, [contribution])

    // Lagrange sections: for each domain 2^p, L_i(τ) = IFFT(τ^0 … τ^(2^p − 1))_i — the same linear
    // map snarkjs applies to the points, applied to the scalars instead. For 2^(power+1), snarkjs
    // feeds the 2n−1 tauG1 points and a zero: do the same with the scalars.
    const lagrange: Buff[] = []
    for (let p = 0; p <= power + 1; p++) {
      const m = 2 ** p
      const coeffs = new Uint8Array(m * Fr.n8)
      coeffs.set(tauPowers.subarray(0, m * Fr.n8))
      if (p === power + 1) coeffs.fill(0, (m - 1) * Fr.n8)
      lagrange.push(m === 1 ? coeffs : await Fr.ifft(coeffs))
    }
    const phase2: [number, 'G1' | 'G2', Buff | null, string][] = [
      [12, 'G1', null, 'tauG1'],
      [13, 'G2', null, 'tauG2'],
      [14, 'G1', alpha, 'alphaTauG1'],
      [15, 'G1', beta, 'betaTauG1'],
    ]
    for (const [id, group, factor, name] of phase2) {
      log(`dev ptau 2^${power} (INSECURE): Lagrange ${name}`)
      await binFileUtils.startWriteSection(fd, id)
      const last = id === 12 ? power + 1 : power
      for (let p = 0; p <= last; p++) {
        const scalars = factor === null ? (lagrange[p] as Buff) : scale(curve, lagrange[p] as Buff, factor)
        await fd.write(await generatorTimes(curve, group, scalars))
      }
      await binFileUtils.endWriteSection(fd)
    }
  } finally {
    await fd.close()
  }
}
