/**
 * Whether the household node answers at all: the shell shows ONE "cannot reach the node" message
 * with Retry instead of every view's own "Could not load …" (issue 14). The API client reports
 * each request's outcome here (a network failure, or any answer, even an error status); the live
 * stream reports its (re)connections.
 */
type Listener = (reachable: boolean) => void

const listeners = new Set<Listener>()
let reachable = true

export function nodeReachable(): boolean {
  return reachable
}

/** A request reached the node (any HTTP answer) or the stream (re)connected. */
export function nodeAnswered(): void {
  set(true)
}

/** A request failed before any answer (connection refused, reset, DNS, offline). */
export function nodeUnreachable(): void {
  set(false)
}

export function onReachability(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function set(next: boolean): void {
  if (next === reachable) return
  reachable = next
  for (const l of listeners) l(next)
}
