/**
 * The categories of failures the node's own code does not name: a chain that does not answer and
 * storage that fails under us are the node's dependencies being unavailable (HTTP 503, logged), not
 * a caller's mistake and not a bug.
 */
import type { ErrorCategory } from '#protocol/errors.ts'
import { isChainUnreachable } from '../chain/unreachable.ts'

const STORAGE_FAILURE_CODES = new Set(['ENOSPC', 'EIO', 'EROFS', 'EDQUOT'])

export function categorizeDependencyFailure(error: unknown): ErrorCategory | undefined {
  if (isChainUnreachable(error)) return 'unavailable'
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && STORAGE_FAILURE_CODES.has(code)) return 'unavailable'
  return undefined
}
