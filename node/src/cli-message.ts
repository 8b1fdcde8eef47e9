/**
 * The one line `zkmeter` prints on stderr for an error that ends a command: a named error of the
 * project (or a configuration error) as "Name: message", anything else as an unexpected error with
 * its stack. Its own module so that tests calling a command's entry point in process (e.g.
 * runUtility) see the very line a user sees, without a Node child per case.
 */
import { ZkMeterError } from '#protocol/errors.ts'
import { ConfigError } from './config.ts'

export function cliErrorLine(error: unknown): string {
  const message =
    error instanceof ZkMeterError || error instanceof ConfigError
      ? `${error.name}: ${error.message}`
      : `unexpected error: ${(error as Error)?.stack ?? String(error)}`
  return `zkmeter: ${message}\n`
}
