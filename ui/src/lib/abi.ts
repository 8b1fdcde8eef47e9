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

/** A uint256 argument word (64 hex digits, no 0x). */
export function uintWord(value: bigint): string {
  if (value < 0n || value >= 1n << 256n) throw new Error(`not a uint256: ${value}`)
  return value.toString(16).padStart(64, '0')
}

/** An address argument word (64 hex digits, no 0x). */
export function addressWord(address: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`not an address: ${address}`)
  return address.slice(2).toLowerCase().padStart(64, '0')
}

/** Calldata of the ledger's `payBillWithToken(billId)` (approve + pay). */
export function encodePayBillWithToken(billId: string): `0x${string}` {
  return `${selector('payBillWithToken(bytes32)')}${bytes32(billId)}`
}

/** Calldata of `payBillWithPermit(billId, deadline, v, r, s)`: the permit's signature split. */
export function encodePayBillWithPermit(billId: string, deadline: bigint, signature: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new Error('the permit signature must be 65 bytes')
  let v = Number.parseInt(signature.slice(130, 132), 16)
  if (v < 27) v += 27
  const r = signature.slice(2, 66).toLowerCase()
  const s = signature.slice(66, 130).toLowerCase()
  return `${selector('payBillWithPermit(bytes32,uint256,uint8,bytes32,bytes32)')}${bytes32(billId)}${uintWord(deadline)}${uintWord(BigInt(v))}${r}${s}`
}

/** Calldata of ERC-20 `approve(spender, amount)`. */
export function encodeApprove(spender: string, amount: bigint): `0x${string}` {
  return `${selector('approve(address,uint256)')}${addressWord(spender)}${uintWord(amount)}`
}

/** Calldata of a view taking one or two addresses: `balanceOf(a)`, `nonces(a)`, `allowance(a,b)`. */
export function encodeAddressCall(signature: string, ...addresses: string[]): `0x${string}` {
  return `${selector(signature)}${addresses.map(addressWord).join('')}`
}
