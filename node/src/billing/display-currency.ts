/**
 * The household's display currency for Ether bills (`<data-dir>/display-currency.json`): an ISO 4217
 * code and the price of one Ether in it, entered by the resident and never fetched from anywhere
 * (a price feed would tell a third party when this home looks at its bills). Validated by
 * protocol/money.ts, written atomically, kept across restarts. A file that cannot be read is moved
 * aside and reported once (the bills still show in Ether); it is settings, not safety state.
 */
import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ZkMeterError } from '#protocol/errors.ts'
import { checkCurrencyCode, type DisplayCurrency, parseRate } from '#protocol/money.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'

export class CorruptSettingsFileError extends ZkMeterError {
  override name = 'CorruptSettingsFileError'
  override readonly category = 'internal'
}

export interface DisplayCurrencyStore {
  get(): DisplayCurrency | null
  /** Validates and saves (MoneyInputError, 400, for a bad code or rate); `null` clears it. */
  set(input: { currency: unknown; rate: unknown } | null): Promise<DisplayCurrency | null>
  /** Why the file could not be read at start, if it could not. */
  problem: CorruptSettingsFileError | undefined
}

const VERSION = 1

export async function openDisplayCurrencyStore(
  dataDir: string,
  now: () => Date = () => new Date(),
): Promise<DisplayCurrencyStore> {
  const path = join(dataDir, 'display-currency.json')
  let current: DisplayCurrency | null = null
  let problem: CorruptSettingsFileError | undefined
  try {
    current = parse(await readJsonFile(path))
  } catch (error) {
    const aside = `${path}.corrupt-${now().getTime()}`
    await rename(path, aside).catch(() => undefined)
    problem = new CorruptSettingsFileError(
      `the display currency file ${path} could not be read (${(error as Error).message}); it was moved to ${aside}: set the currency and rate again in Bills`,
      { cause: error, details: { path, movedTo: aside } },
    )
  }
  // One write at a time: two quick changes must land in the order they were made.
  let queue: Promise<unknown> = Promise.resolve()
  return {
    problem,
    get: () => (current === null ? null : { ...current }),
    async set(input) {
      const next =
        input === null
          ? null
          : {
              currency: checkCurrencyCode(input.currency),
              rate: parseRate(input.rate).text,
              setAt: now().toISOString(),
            }
      const write = queue.then(() => writeJsonAtomic(path, { version: VERSION, display: next }))
      queue = write.catch(() => undefined)
      await write
      current = next
      return next === null ? null : { ...next }
    },
  }
}

function parse(doc: unknown): DisplayCurrency | null {
  if (doc === undefined) return null
  const d = doc as { version?: unknown; display?: Partial<DisplayCurrency> | null }
  if (typeof d !== 'object' || d === null || d.version !== VERSION)
    throw new Error('not a version 1 settings document')
  if (d.display === null) return null
  if (typeof d.display !== 'object' || d.display === undefined) throw new Error('no display entry')
  const setAt = d.display.setAt
  if (typeof setAt !== 'string' || Number.isNaN(Date.parse(setAt)))
    throw new Error('display.setAt is not a time')
  return { currency: checkCurrencyCode(d.display.currency), rate: parseRate(d.display.rate).text, setAt }
}
