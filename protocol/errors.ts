/**
 * What kind of failure an error is, for whoever has to answer for it (the HTTP layer maps it to a
 * status code, node/src/http/errors.ts):
 * - `invalid-input`: the caller asked for something malformed or not allowed (HTTP 400);
 * - `not-found`: the thing asked about does not exist (404);
 * - `conflict`: it exists, but its state does not allow this now (409);
 * - `unavailable`: a service the request needs is down or not running: the chain, storage, the
 *   mesh (503; retrying later may work);
 * - `internal`: a broken invariant or corrupt state: our fault, not the caller's (500).
 */
export type ErrorCategory = 'invalid-input' | 'not-found' | 'conflict' | 'unavailable' | 'internal'

export interface ZkMeterErrorOptions {
  details?: Record<string, unknown>
  cause?: unknown
  /**
   * The category of a ZkMeterError thrown without a class of its own. A subclass sets its own
   * (`override readonly category = …`), and that wins.
   */
  category?: ErrorCategory
}

/**
 * Base of every error zkmeter throws on purpose. Subclasses name what went wrong (the class),
 * say it in words a user can act on (the message), and keep machine-readable facts in `details`
 * so an API can answer with them. Modelled on viem's BaseError: one root, many named leaves.
 *
 * A subclass sets its category once, as it sets its name: `override readonly category =
 * 'not-found'`. Unset, it is `invalid-input`: most named errors reject what they were given.
 */
export class ZkMeterError extends Error {
  override name = 'ZkMeterError'
  readonly details: Readonly<Record<string, unknown>>
  readonly category: ErrorCategory

  constructor(message: string, options: ZkMeterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.details = Object.freeze({ ...(options.details ?? {}) })
    this.category = options.category ?? 'invalid-input'
  }
}

/** An argument or payload failed validation at a boundary. */
export class InvalidInputError extends ZkMeterError {
  override name = 'InvalidInputError'
}
