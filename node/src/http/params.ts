/** Reading a request's query and body, with a 400 (InvalidInputError) that says what was wrong. */
import { InvalidInputError } from '#protocol/errors.ts'

/** A unix time (seconds) from the query, or `fallback` when absent. */
export function timeParam(query: URLSearchParams, key: string, fallback: number): number {
  const raw = query.get(key)
  if (raw === null) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`query parameter ${key} must be unix seconds, got ${JSON.stringify(raw)}`)
  }
  return value
}

export function jsonObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** 400: a path whose percent-encoding does not decode (`%E0%A4%A`: a cut UTF-8 sequence). */
export class MalformedPathError extends InvalidInputError {
  override name = 'MalformedPathError'
}

/** A percent-decoded path or path segment; MalformedPathError when it does not decode. */
export function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new MalformedPathError(
      `the path ${JSON.stringify(raw.slice(0, 200))} has a malformed percent-encoding`,
    )
  }
}
