/**
 * Thin fetch wrapper for the node's JSON API: parses the documented error body
 * `{ error, message, details }` into ApiError so views can show the node's own explanation.
 */

export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: number
  readonly error: string
  readonly details: Record<string, unknown> | undefined
  constructor(status: number, error: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.status = status
    this.error = error
    this.details = details
  }
}

/** Reads a response as JSON or throws ApiError with the node's message. */
async function parse<T>(response: Response): Promise<T> {
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const e = (body ?? {}) as { error?: string; message?: string; details?: Record<string, unknown> }
    throw new ApiError(
      response.status,
      e.error ?? `HTTP ${response.status}`,
      e.message ??
        `The node answered ${response.status} ${response.statusText}. Check that it is running and try again.`,
      e.details,
    )
  }
  return body as T
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    })
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error
    throw new ApiError(
      0,
      'NetworkError',
      'Cannot reach the household node. Check that it is running, then retry.',
    )
  }
  return parse<T>(response)
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
}

/** A message for the user from any error a view catches. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
