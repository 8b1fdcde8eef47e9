/**
 * snarkjs' own ptau helpers (header, contribution records, challenge hashes, beacon keys) and the
 * ffjavascript curve they run on. They are not part of snarkjs' public exports, so they are loaded
 * from the installed package's src/ by path: the dev ptau writer must produce byte-for-byte the
 * format snarkjs reads, and reusing its code is the way to stay exact. The build cache keys on the
 * snarkjs version, so an upgrade rebuilds everything.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
/** Root of the installed snarkjs package (its "require" entry is build/main.cjs). */
export const SNARKJS_ROOT = join(dirname(require.resolve('snarkjs')), '..')
const snarkjsRequire = createRequire(join(SNARKJS_ROOT, 'package.json'))

export type Buff = Uint8Array

export interface Group {
  F: { n8: number }
  g: Buff
  oneAffine: Buff
  zeroAffine: Buff
  toAffine(p: Buff): Buff
  timesFr(p: Buff, s: Buff): Buff
  eq(a: Buff, b: Buff): boolean
  fromRprLEM(b: Buff, o?: number): Buff
  batchLEMtoC(b: Buff): Promise<Buff>
  batchLEMtoU(b: Buff): Promise<Buff>
}

export interface Field {
  n8: number
  one: Buff
  e(v: number | bigint | string): Buff
  mul(a: Buff, b: Buff): Buff
  toObject(a: Buff): bigint
  fromObject(v: bigint): Buff
  ifft(b: Buff): Promise<Buff>
}

export interface ThreadManager {
  concurrency: number
  queueAction(task: unknown[]): Promise<Buff[]>
}

export interface Curve {
  G1: Group
  G2: Group
  Fr: Field
  F1: { n8: number }
  F2: { n8: number }
  tm: ThreadManager
  terminate(): Promise<void>
}

export interface PtauKey {
  tau: { prvKey: Buff }
  alpha: { prvKey: Buff }
  beta: { prvKey: Buff }
}

export interface BinFd {
  pos: number
  write(b: Buff): Promise<void>
  writeULE32(v: number): Promise<void>
  close(): Promise<void>
}

interface PtauUtils {
  writePTauHeader(fd: BinFd, curve: Curve, power: number, ceremonyPower?: number): Promise<void>
  writeContributions(fd: BinFd, curve: Curve, contributions: unknown[]): Promise<void>
  calculateFirstChallengeHash(curve: Curve, power: number): Buff
  keyFromBeacon(curve: Curve, challenge: Buff, beaconHash: Buff, numIterationsExp: number): Promise<PtauKey>
  toPtauPubKeyRpr(buff: Buff, pos: number, curve: Curve, key: PtauKey, montgomery: boolean): Buff
}

interface Misc {
  toPartialHash(hasher: unknown): Buff
}

interface BinFileUtils {
  createBinFile(name: string, type: string, version: number, nSections: number): Promise<BinFd>
  startWriteSection(fd: BinFd, id: number): Promise<void>
  endWriteSection(fd: BinFd): Promise<void>
}

interface Blake2b {
  create(opts: { dkLen: number }): { update(b: Buff): unknown; digest(): Buff }
}

async function importFrom(path: string): Promise<unknown> {
  return import(pathToFileURL(path).href)
}

export async function loadInternals(): Promise<{
  ptauUtils: PtauUtils
  misc: Misc
  binFileUtils: BinFileUtils
  blake2b: Blake2b
}> {
  const [ptauUtils, misc, binFileUtils, blake] = await Promise.all([
    importFrom(join(SNARKJS_ROOT, 'src', 'powersoftau_utils.js')),
    importFrom(join(SNARKJS_ROOT, 'src', 'misc.js')),
    importFrom(snarkjsRequire.resolve('@iden3/binfileutils')),
    // The ESM build, the one snarkjs' src/ imports (misc.toPartialHash reads its internal state).
    importFrom(join(dirname(snarkjsRequire.resolve('@noble/hashes/blake2b')), 'esm', 'blake2b.js')),
  ])
  return {
    ptauUtils: ptauUtils as PtauUtils,
    misc: misc as Misc,
    binFileUtils: binFileUtils as BinFileUtils,
    blake2b: (blake as { blake2b: Blake2b }).blake2b,
  }
}

/** The shared multi-threaded BN254 curve snarkjs uses (a singleton on globalThis). */
export async function loadCurve(): Promise<Curve> {
  const snarkjs = (await import('snarkjs')) as unknown as {
    curves: { getCurveFromName(name: string): Promise<Curve> }
  }
  return snarkjs.curves.getCurveFromName('bn128')
}

/** snarkjs' package version, part of every build cache key. */
export function snarkjsVersion(): string {
  return (snarkjsRequire('./package.json') as { version: string }).version
}
