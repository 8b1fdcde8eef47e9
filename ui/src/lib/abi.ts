/**
 * The one contract call the browser makes: `payBill(bytes32)`. Encoded by hand (4-byte selector
 * from keccak-256 of the signature, then the 32-byte argument) because an ABI library would
 * multiply the bundle for a single static call.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'

export const PAY_BILL_SIGNATURE = 'payBill(bytes32)'

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

/** 4-byte function selector of a canonical signature such as "payBill(bytes32)", as 0x + 8 hex. */
export function selector(signature: string): `0x${string}` {
  return `0x${hex(keccak_256(new TextEncoder().encode(signature)).slice(0, 4))}`
}

/** Canonical signature from a human-readable ABI fragment: "function payBill(bytes32 billId) payable". */
export function canonicalSignature(fragment: string): string {
  const match = /^\s*(?:function\s+)?([A-Za-z_$][\w$]*)\s*\(([^)]*)\)/.exec(fragment)
  if (!match) throw new Error(`cannot read the function signature "${fragment}"`)
  const types = match[2]!
    .split(',')
    .map((p) => p.trim().split(/\s+/)[0])
    .filter((t): t is string => Boolean(t))
  return `${match[1]}(${types.join(',')})`
}

/** Validates and normalises a bytes32 value (0x + 64 hex digits). */
export function bytes32(value: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new Error(`not a bytes32 value: ${value}`)
  return value.slice(2).toLowerCase()
}

/** Calldata of `payBill(billId)`. */
export function encodePayBill(billId: string): `0x${string}` {
  return `${selector(PAY_BILL_SIGNATURE)}${bytes32(billId)}`
}
