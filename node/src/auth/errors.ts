/**
 * The auth layer's refusals, each with the status it answers (HttpError) and a message that says
 * what to do. None carries a secret: a code, a cookie or a token never appears in a message.
 */
import { HttpError } from '../http/errors.ts'

/** No session or token, or one that is unknown, expired or revoked: 401. */
export class UnauthenticatedError extends HttpError {
  override name = 'UnauthenticatedError'
  constructor(
    message = 'pair this device first (the pairing code is printed by `npm start` and `zkmeter pair`)',
  ) {
    super(401, message)
  }
}

/** A read-only session or token asking for a resident's action: 403. */
export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError'
  constructor(message: string, details?: Record<string, unknown>) {
    super(403, message, details)
  }
}

/** Too many wrong pairing codes: 429; `retryAfterSeconds` is also sent as Retry-After. */
export class TooManyAttemptsError extends HttpError {
  override name = 'TooManyAttemptsError'
  readonly retryAfterSeconds: number
  constructor(retryAfterSeconds: number) {
    super(429, `too many pairing attempts: wait ${retryAfterSeconds} s, then enter the code again`, {
      retryAfterSeconds,
    })
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** A pairing code that is wrong, used or expired (one answer for all three: no oracle): 401. */
export class InvalidPairingCodeError extends HttpError {
  override name = 'InvalidPairingCodeError'
  constructor() {
    super(
      401,
      'that pairing code is not valid (wrong, already used or expired): get a new one with `zkmeter pair`',
    )
  }
}

/** An unknown session or token id to revoke: 404. */
export class CredentialNotFoundError extends HttpError {
  override name = 'CredentialNotFoundError'
  constructor(kind: 'session' | 'token', id: string) {
    super(404, `no ${kind} with id ${id}: list them with \`zkmeter tokens list\``, { id })
  }
}
