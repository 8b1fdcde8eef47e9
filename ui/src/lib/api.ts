/**
 * The node's API for the views: the one typed client (protocol/api/client.ts) on the page's own
 * origin. Its errors are ApiError, carrying the node's own explanation.
 */
import { ApiError, createApiClient } from '#protocol/api/client.ts'
import { nodeAnswered, nodeUnreachable } from './reachability.ts'
import { sessionLost } from './session.ts'

export { ApiError }

/**
 * The browser sends its session cookie by itself (same origin); a 401 on any call but pairing
 * means this device is not (or no longer) paired: the app shows the pairing screen. A request
 * that gets no answer at all tells the shell the node is unreachable (one message, not one per view).
 */
export const api = createApiClient({
  fetch: async (input, init) => {
    let answer: Response
    try {
      answer = await fetch(input, init)
    } catch (error) {
      // An abort is the caller's choice, not the node's absence.
      if (!(error instanceof DOMException && error.name === 'AbortError')) nodeUnreachable()
      throw error
    }
    nodeAnswered()
    if (answer.status === 401 && !String(input).endsWith('/api/pair')) sessionLost()
    return answer
  },
})

/** A message for the user from any error a view catches. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
