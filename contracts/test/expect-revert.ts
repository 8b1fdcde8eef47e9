import { getAddress } from 'ethers'
import { expect } from 'vitest'
import { LedgerRevertError } from '../ts/ledger.ts'

function normalise(value: unknown): unknown {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : value
}

/** Asserts that `action` fails with the ledger custom error `errorName` and (a subset of) its arguments. */
export async function expectLedgerError(
  action: Promise<unknown>,
  errorName: string,
  args: Record<string, unknown> = {},
): Promise<LedgerRevertError> {
  const outcome = await action.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(outcome, `expected ${errorName}, the call succeeded`).toBeInstanceOf(LedgerRevertError)
  const err = outcome as LedgerRevertError
  expect(err.errorName, err.message).toBe(errorName)
  for (const [key, value] of Object.entries(args)) {
    expect(normalise(err.args[key]), `${errorName}.${key}`).toEqual(normalise(value))
  }
  expect(err.message).toMatch(new RegExp(`^${errorName}: `))
  return err
}
