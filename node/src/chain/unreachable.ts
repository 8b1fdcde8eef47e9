/**
 * Whether an error says the chain's JSON-RPC endpoint did not answer (down, refusing connections,
 * timing out), as opposed to a chain that answered "no" (a revert, a bad transaction). Looks
 * through `cause`s: the ledger client wraps the provider's error in its own.
 */
import { isError } from 'ethers'

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'])

export function isChainUnreachable(error: unknown): boolean {
  let current = error
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (
      isError(current, 'NETWORK_ERROR') ||
      isError(current, 'SERVER_ERROR') ||
      isError(current, 'TIMEOUT')
    ) {
      return true
    }
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}
