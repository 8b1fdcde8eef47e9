/**
 * What a circuit build's trusted setup is, in the terms the ledger anchors and the node checks:
 * the verifying key's hash, the setup transcript's content id, and whether it is the INSECURE
 * development setup. Pure file parsing and hashing (no snarkjs, no curve threads), so the household
 * node can run it at start without loading the prover.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { ZkMeterError } from '#protocol/errors.ts'

/** The embedded development chain's id (Hardhat/EDR default): the only chain a dev setup may go to. */
export const DEV_CHAIN_ID = 31337n

export type SetupKind = 'insecure-dev' | 'ceremony'

/** The `trustedSetup` entry of a build's manifest.json. */
export interface TrustedSetupInfo {
  kind: SetupKind
  /** 0x sha256 of the verifying key's points (verifyingKeyHash): what the ledger records. */
  verifyingKeyHash: `0x${string}`
  /** The transcript file next to the manifest, its sha256 (= the digest of its raw CIDv1) and CID. */
  transcript: { file: string; sha256: `0x${string}`; cid: string }
  /** Phase-2 contributors in order (the beacon last); for the dev setup, the public beacons. */
  contributors: string[]
}

/** A setup check failed: the files, the manifest or the chain disagree, or a dev setup is misused. */
export class TrustedSetupError extends ZkMeterError {
  override name = 'TrustedSetupError'
}

/** A verifying key as snarkjs writes verification_key.json (decimal strings, affine with z = 1). */
export interface VerificationKeyJson {
  protocol: string
  curve: string
  nPublic: number
  vk_alpha_1: string[]
  vk_beta_2: string[][]
  vk_gamma_2: string[][]
  vk_delta_2: string[][]
  IC: string[][]
}

const be32 = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(64, '0'), 'hex')

/**
 * sha256("zkmeter/groth16-vk/v1" ‖ nPublic (u32 BE) ‖ α₁ ‖ β₂ ‖ γ₂ ‖ δ₂ ‖ IC₀ … IC_n), every
 * coordinate a 32-byte big-endian integer in snarkjs' JSON order (G1: x, y; G2: x.c0, x.c1, y.c0,
 * y.c1). These are exactly the constants the Solidity verifier embeds, so the hash names the
 * verifier's key: two setups with different δ have different hashes.
 */
export function verifyingKeyHash(vk: VerificationKeyJson): `0x${string}` {
  const h = createHash('sha256').update('zkmeter/groth16-vk/v1')
  const n = Buffer.alloc(4)
  n.writeUInt32BE(vk.nPublic)
  h.update(n)
  const g1 = (p: string[]) => {
    for (const c of p.slice(0, 2)) h.update(be32(BigInt(c)))
  }
  const g2 = (p: string[][]) => {
    for (const pair of p.slice(0, 2)) for (const c of pair) h.update(be32(BigInt(c)))
  }
  g1(vk.vk_alpha_1)
  g2(vk.vk_beta_2)
  g2(vk.vk_gamma_2)
  g2(vk.vk_delta_2)
  if (vk.IC.length !== vk.nPublic + 1)
    throw new TrustedSetupError('verifying key: IC must have nPublic + 1 points')
  for (const p of vk.IC) g1(p)
  return `0x${h.digest('hex')}`
}

/**
 * Whether EVM bytecode (hex, any case, with or without 0x) pushes this 32-byte constant (64-char hex).
 * solc pushes a constant with its leading zero bytes dropped (PUSH31 for one that starts with a zero
 * byte, about one key constant in 256), so the padded 32 bytes are not what to look for: the push
 * opcode with the constant's significant bytes is.
 */
export function bytecodePushes(code: string, constantHex: string): boolean {
  let bytes = constantHex.toLowerCase().replace(/^0x/, '').padStart(64, '0')
  while (bytes.length > 2 && bytes.startsWith('00')) bytes = bytes.slice(2)
  const push = (0x5f + bytes.length / 2).toString(16)
  return code.toLowerCase().includes(push + bytes)
}

/** Every 32-byte constant of the key (the coordinates verifyingKeyHash covers), as 64-char hex. */
export function verifyingKeyConstants(vk: VerificationKeyJson): string[] {
  const out: string[] = []
  const add = (c: string) => out.push(BigInt(c).toString(16).padStart(64, '0'))
  for (const c of vk.vk_alpha_1.slice(0, 2)) add(c)
  for (const p of [vk.vk_beta_2, vk.vk_gamma_2, vk.vk_delta_2])
    for (const pair of p.slice(0, 2)) for (const c of pair) add(c)
  for (const p of vk.IC) for (const c of p.slice(0, 2)) add(c)
  return out
}

const SHA2_256 = 0x12
const RAW = 0x55

/** A file's content id: its sha256 and the raw CIDv1 over it (what IPFS would name the file). */
export function contentId(bytes: Uint8Array): { sha256: `0x${string}`; cid: string } {
  const digest = createHash('sha256').update(bytes).digest()
  return {
    sha256: `0x${digest.toString('hex')}`,
    cid: CID.createV1(RAW, Digest.create(SHA2_256, digest)).toString(),
  }
}

// ------------------------------------------------------------------------------------------------
// The verifying key read straight from a .zkey (iden3 binfile, groth16): the key the prover uses.
// ------------------------------------------------------------------------------------------------

const leToBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`)

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n
  let b = base % m
  let e = exp
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m
    b = (b * b) % m
    e >>= 1n
  }
  return r
}

/**
 * The verification key of a groth16 .zkey, in snarkjs' verification_key.json shape, parsed from the
 * file's header (section 2) and IC (section 3): coordinates are stored little-endian in Montgomery
 * form, so each is x·R⁻¹ mod q. Reads only those sections (a few KiB), whatever the zkey's size.
 */
export async function readZkeyVerificationKey(path: string): Promise<VerificationKeyJson> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(12)
    await fh.read(head, 0, 12, 0)
    if (head.toString('latin1', 0, 4) !== 'zkey') throw new TrustedSetupError(`${path} is not a zkey file`)
    const bodies = new Map<number, Buffer>()
    let pos = 12
    const n = head.readUInt32LE(8)
    for (let i = 0; i < n && bodies.size < 3; i++) {
      const sh = Buffer.alloc(12)
      await fh.read(sh, 0, 12, pos)
      const id = sh.readUInt32LE(0)
      const size = Number(sh.readBigUInt64LE(4))
      if (id >= 1 && id <= 3 && !bodies.has(id)) {
        const body = Buffer.alloc(size)
        await fh.read(body, 0, size, pos + 12)
        bodies.set(id, body)
      }
      pos += 12 + size
    }
    return verificationKeyFromSections(bodies, path)
  } finally {
    await fh.close()
  }
}

function verificationKeyFromSections(bodies: Map<number, Buffer>, path: string): VerificationKeyJson {
  const header = bodies.get(1)
  const g = bodies.get(2)
  const ic = bodies.get(3)
  if (!header || !g || !ic) throw new TrustedSetupError(`${path}: missing zkey sections 1–3`)
  if (header.readUInt32LE(0) !== 1) throw new TrustedSetupError(`${path} is not a groth16 zkey`)
  let o = 0
  const n8q = g.readUInt32LE(o)
  o += 4
  const q = leToBig(g.subarray(o, o + n8q))
  o += n8q
  const n8r = g.readUInt32LE(o)
  o += 4 + n8r
  o += 4 // nVars
  const nPublic = g.readUInt32LE(o)
  o += 8 // nPublic, domainSize
  const rInv = modPow(modPow(2n, BigInt(n8q * 8), q), q - 2n, q)
  const fq = (b: Buffer, at: number): string => ((leToBig(b.subarray(at, at + n8q)) * rInv) % q).toString()
  const g1 = (b: Buffer, at: number): string[] => [fq(b, at), fq(b, at + n8q), '1']
  const g2 = (b: Buffer, at: number): string[][] => [
    [fq(b, at), fq(b, at + n8q)],
    [fq(b, at + 2 * n8q), fq(b, at + 3 * n8q)],
    ['1', '0'],
  ]
  const sG1 = 2 * n8q
  const sG2 = 4 * n8q
  // alpha1, beta1, beta2, gamma2, delta1, delta2
  const alpha1 = o
  const beta2 = alpha1 + 2 * sG1
  const gamma2 = beta2 + sG2
  const delta2 = gamma2 + sG2 + sG1
  const IC: string[][] = []
  for (let i = 0; i <= nPublic; i++) IC.push(g1(ic, i * sG1))
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic,
    vk_alpha_1: g1(g, alpha1),
    vk_beta_2: g2(g, beta2),
    vk_gamma_2: g2(g, gamma2),
    vk_delta_2: g2(g, delta2),
    IC,
  }
}

/** The manifest's trustedSetup entry of a build directory, or undefined for an old build. */
export function readSetupInfo(buildDir: string): TrustedSetupInfo | undefined {
  try {
    const manifest = JSON.parse(readFileSync(`${buildDir}/manifest.json`, 'utf8')) as {
      trustedSetup?: unknown
    }
    const t = manifest.trustedSetup
    return typeof t === 'object' && t !== null ? (t as TrustedSetupInfo) : undefined
  } catch {
    return undefined
  }
}

/** sha256 of a file as 0x hex. */
export async function fileSha256(path: string): Promise<`0x${string}`> {
  return `0x${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`
}
