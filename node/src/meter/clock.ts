/**
 * Simulated time for the virtual meter. A scaled clock runs `speed` simulated seconds per real
 * second (1440 = one day per minute) and ticks on a real timer; a manual clock only moves when a
 * test calls advance(), which resolves once every listener has handled the new time, so tests are
 * deterministic and never sleep.
 */
import { InvalidMeterOptionError } from './errors.ts'

export type ClockListener = (now: number) => Promise<void> | void

export interface SimClock {
  /** Simulated unix time in seconds (may be fractional for a scaled clock). */
  now(): number
  /** Calls the listener whenever time moves on; returns the function that unsubscribes it. */
  subscribe(listener: ClockListener): () => void
}

export interface ManualClock extends SimClock {
  readonly kind: 'manual'
  /** Moves time forward by `seconds` (≥ 0) and waits for every listener to catch up. */
  advance(seconds: number): Promise<void>
  /** Moves time forward to `time` (≥ now) and waits for every listener to catch up. */
  advanceTo(time: number): Promise<void>
}

export interface ScaledClock extends SimClock {
  readonly kind: 'scaled'
  readonly speed: number
}

function checkStart(start: number): void {
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidMeterOptionError(
      'clock start',
      `must be a non-negative integer of unix seconds, got ${start}`,
    )
  }
}

export function createManualClock(start: number): ManualClock {
  checkStart(start)
  let time = start
  // The time the last queued advance will reach; relative advances are relative to it.
  let scheduled = start
  const listeners = new Set<ClockListener>()
  // Serialise advances so that listeners never see time move while they are still handling it.
  let chain: Promise<void> = Promise.resolve()

  const advanceTo = (target: number): Promise<void> => {
    if (typeof target !== 'number' || !Number.isFinite(target) || target < scheduled) {
      return Promise.reject(
        new InvalidMeterOptionError(
          'advance',
          `must move time forward (now ${scheduled}), got ${String(target)}`,
        ),
      )
    }
    scheduled = target
    const next = chain.then(async () => {
      time = target
      for (const listener of [...listeners]) await listener(time)
    })
    // One failed listener call must not wedge every later advance.
    chain = next.catch(() => {})
    return next
  }
  return {
    kind: 'manual',
    now: () => time,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    advance(seconds) {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        return Promise.reject(
          new InvalidMeterOptionError(
            'advance',
            `takes a non-negative number of seconds, got ${String(seconds)}`,
          ),
        )
      }
      return advanceTo(scheduled + seconds)
    },
    advanceTo,
  }
}

export interface ScaledClockOptions {
  /** Simulated unix seconds at the moment the clock is created. */
  start: number
  /** Simulated seconds per real second (1 = real time, 1440 = one day per minute). */
  speed: number
  /** Real milliseconds between ticks delivered to listeners. */
  tickMs?: number
  /**
   * Hold `start` until the clock is first read or subscribed to, then run from there. A node builds
   * its meter's clock before it has started its API and broker; on a busy machine that took long
   * enough at 5760× for simulated time to pass the first period the ledger registered.
   */
  startOnFirstRead?: boolean
}

export function createScaledClock(options: ScaledClockOptions): ScaledClock {
  const { start, speed, tickMs = 100 } = options
  checkStart(start)
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0 || speed > 1e6) {
    throw new InvalidMeterOptionError('clock speed', `must be a number in (0, 1e6], got ${String(speed)}`)
  }
  if (!Number.isInteger(tickMs) || tickMs < 10 || tickMs > 60_000) {
    throw new InvalidMeterOptionError(
      'clock tickMs',
      `must be an integer in [10, 60000], got ${String(tickMs)}`,
    )
  }
  let realStart = options.startOnFirstRead === true ? undefined : performance.now()
  const now = () => {
    realStart ??= performance.now()
    return start + ((performance.now() - realStart) / 1000) * speed
  }
  const listeners = new Set<ClockListener>()
  let timer: NodeJS.Timeout | undefined
  let busy = false

  const tick = async () => {
    // A slow listener (many records to sign) must not be re-entered by the next tick.
    if (busy) return
    busy = true
    try {
      const t = now()
      for (const listener of [...listeners]) await listener(t)
    } finally {
      busy = false
    }
  }
  return {
    kind: 'scaled',
    speed,
    now,
    subscribe(listener) {
      realStart ??= performance.now()
      listeners.add(listener)
      timer ??= setInterval(() => void tick(), tickMs)
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && timer) {
          clearInterval(timer)
          timer = undefined
        }
      }
    },
  }
}
