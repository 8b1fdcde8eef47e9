/**
 * Base of every error zkmeter throws on purpose. Subclasses name what went wrong (the class),
 * say it in words a user can act on (the message), and keep machine-readable facts in `details`
 * so an API can answer with them. Modelled on viem's BaseError: one root, many named leaves.
 */
export class ZkMeterError extends Error {
  override name = 'ZkMeterError'
  readonly details: Readonly<Record<string, unknown>>

  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.details = Object.freeze({ ...(options.details ?? {}) })
  }
}

/** An argument or payload failed validation at a boundary. */
export class InvalidInputError extends ZkMeterError {
  override name = 'InvalidInputError'
}
