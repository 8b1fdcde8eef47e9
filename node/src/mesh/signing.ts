/**
 * Signatures on mesh messages (docs/mesh.md §3). A message of kind K with payload P is signed as
 * an EIP-191 personal message over a 32-byte inner hash:
 *
 *   inner  = keccak256(utf8("zkmeter-mesh/v1\n" + K + "\n" + chainId + "\n" + ledger + "\n" + canonical(P)))
 *   digest = keccak256("\x19Ethereum Signed Message:\n32" ‖ inner)
 *
 * The domain tag, the kind and the deployment (chain id + ledger address) are inside the hash, so a
 * signature on one kind (or for another deployment) never verifies as another. EIP-191 over a hash
 * is what `eth_sign`-style signers and ethers' `signMessage(bytes)` produce, so a meter or a wallet
 * holding the key can sign without knowing our JSON.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { addressOfPrivateKey, recoverSigner, signDigest } from '#protocol/eip712.ts'
import { InvalidMeshMessageError } from './errors.ts'

export type Address = `0x${string}`
export type Hex = `0x${string}`

export const MESH_DOMAIN_TAG = 'zkmeter-mesh/v1'

/** Signs 32-byte digests with a secp256k1 key. A meter may hold the key and sign on request. */
export interface MeterSigner {
  readonly address: Address
  signDigest(digest: Uint8Array): Hex | Promise<Hex>
}

/**
 * A node that speaks for `meter` with another key: the household account the ledger registers for
 * that meter (a hardware meter keeps its own key). Receivers accept it because their registry binds
 * that account to this meter (registry.ts `signsFor`); it cannot speak for any other meter.
 */
export interface MeshIdentity {
  readonly meter: Address
  readonly signer: MeterSigner
}

export function signerFromPrivateKey(privateKey: Uint8Array): MeterSigner {
  const key = Uint8Array.from(privateKey)
  return { address: addressOfPrivateKey(key), signDigest: (digest) => signDigest(key, digest) }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/** JSON with object keys sorted at every level: one byte string per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new InvalidMeshMessageError(`signed numbers must be safe integers, got ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, Json>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  throw new InvalidMeshMessageError(`cannot sign a value of type ${typeof value}`)
}

const encoder = new TextEncoder()
const PERSONAL_PREFIX = encoder.encode('\x19Ethereum Signed Message:\n32')

export function meshInnerHash(domain: Eip712Domain, kind: string, payload: unknown): Uint8Array {
  const text = `${MESH_DOMAIN_TAG}\n${kind}\n${domain.chainId}\n${domain.verifyingContract.toLowerCase()}\n${canonicalJson(payload)}`
  return keccak_256(encoder.encode(text))
}

export function meshDigest(domain: Eip712Domain, kind: string, payload: unknown): Uint8Array {
  const buf = new Uint8Array(PERSONAL_PREFIX.length + 32)
  buf.set(PERSONAL_PREFIX, 0)
  buf.set(meshInnerHash(domain, kind, payload), PERSONAL_PREFIX.length)
  return keccak_256(buf)
}

export async function signMesh(signer: MeterSigner, domain: Eip712Domain, kind: string, payload: unknown) {
  return signer.signDigest(meshDigest(domain, kind, payload))
}

/** The signer's lowercase address, or null when the signature is malformed or does not recover. */
export function recoverMesh(
  domain: Eip712Domain,
  kind: string,
  payload: unknown,
  sig: string,
): Address | null {
  try {
    return recoverSigner(meshDigest(domain, kind, payload), sig)
  } catch {
    return null
  }
}

export function bytesToHexLower(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes).toString('hex')}`
}
