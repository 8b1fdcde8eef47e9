/**
 * The node's API for the views: the one typed client (protocol/api/client.ts) on the page's own
 * origin. Its errors are ApiError, carrying the node's own explanation.
 */
import { ApiError, createApiClient } from '#protocol/api/client.ts'

export { ApiError }

export const api = createApiClient()

/** A message for the user from any error a view catches. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
