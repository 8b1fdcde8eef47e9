/**
 * Awaiting a condition in a test: one polling loop with a deadline, so every wait in the suite fails
 * the same way, naming what it waited for and for how long.
 */

/** A condition that did not hold within its budget. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
  readonly what: string
  readonly budgetMs: number
  constructor(what: string, budgetMs: number) {
    super(`timed out after ${budgetMs} ms waiting for ${what}`)
    this.what = what
    this.budgetMs = budgetMs
  }
}

export interface WaitOptions {
  /** The first pause between probes; it doubles up to `maxIntervalMs`. */
  intervalMs?: number
  /** The longest pause between probes: a slow condition is not probed in a tight loop. */
  maxIntervalMs?: number
}

type Probe<T> = () => T | undefined | false | Promise<T | undefined | false>

/**
 * Probes until `probe` returns a value other than `undefined` or `false`, and resolves with that
 * value; rejects with WaitTimeoutError once `budgetMs` has passed since the call. The probe runs
 * once more at the deadline, so a budget is never cut short by the last pause. A probe that throws
 * fails the wait at once (an error is not "not yet").
 */
export async function waitFor<T>(
  what: string,
  probe: Probe<T>,
  budgetMs: number,
  { intervalMs = 5, maxIntervalMs = 50 }: WaitOptions = {},
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + budgetMs
  let pause = intervalMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>
    const left = deadline - Date.now()
    if (left <= 0) throw new WaitTimeoutError(what, budgetMs)
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)))
    pause = Math.min(pause * 2, maxIntervalMs)
  }
}

/** waitFor for a yes/no condition: resolves once `condition` holds. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  budgetMs: number,
  what = 'the condition',
): Promise<void> {
  await waitFor(what, condition, budgetMs)
}
