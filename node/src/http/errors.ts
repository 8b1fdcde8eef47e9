/**
 * From a thrown error to an HTTP answer. A named error (ZkMeterError) says what kind of failure it
 * is (its category, protocol/errors.ts) and its message is written for the user, so both go out;
 * anything else is a bug or a library's failure whose text may hold internals, so it goes out as a
 * bare 500 (or 503, when the node knows it for a dependency that is down).
 *
 *   invalid-input → 400   not-found → 404   conflict → 409   unavailable → 503   internal → 500
 */
import { type ErrorCategory, ZkMeterError } from '#protocol/errors.ts'

/** An error that carries its HTTP status (a route's own answer: 403, 413, 504, …). */
export class HttpError extends ZkMeterError {
  override name = 'HttpError'
  readonly status: number
  constructor(status: number, message: string, details?: Record<string, unknown>) {
    super(message, { ...(details ? { details } : {}), category: categoryOfStatus(status) })
    this.status = status
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError'
  constructor(message: string, details?: Record<string, unknown>) {
    super(404, message, details)
  }
}

export const STATUS_OF_CATEGORY: Readonly<Record<ErrorCategory, number>> = {
  'invalid-input': 400,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
}

function categoryOfStatus(status: number): ErrorCategory {
  if (status === 404) return 'not-found'
  if (status === 409) return 'conflict'
  if (status === 503) return 'unavailable'
  return status >= 500 ? 'internal' : 'invalid-input'
}

/**
 * Recognises failures of what the node depends on (the chain not answering, a full disk) in errors
 * that are not ours to name. Undefined: no opinion.
 */
export type Categorize = (error: unknown) => ErrorCategory | undefined

export interface ErrorAnswer {
  status: number
  body: { error: string; message: string; details?: Readonly<Record<string, unknown>> }
}

const GENERIC: Readonly<Record<number, ErrorAnswer['body']>> = {
  503: {
    error: 'ServiceUnavailable',
    message: 'a service this request needs is not answering: try again later',
  },
  500: { error: 'InternalError', message: 'internal error' },
}

export function errorAnswer(error: unknown, categorize: Categorize = () => undefined): ErrorAnswer {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: error.name, message: error.message, details: error.details },
    }
  }
  const category = categorize(error) ?? (error instanceof ZkMeterError ? error.category : 'internal')
  const status = STATUS_OF_CATEGORY[category]
  if (error instanceof ZkMeterError) {
    return { status, body: { error: error.name, message: error.message, details: error.details } }
  }
  return { status, body: GENERIC[status] ?? (GENERIC[500] as ErrorAnswer['body']) }
}
