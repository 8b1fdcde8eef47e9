/**
 * Time source for everything in automation: rules, alarm debounce and command deadlines read the
 * time and arm timers only through a Clock, so tests drive them with a fake clock and the same
 * inputs always give the same commands.
 */
export interface TimerHandle {
  readonly id: number
}

export interface Clock {
  /** Milliseconds since the unix epoch (UTC). */
  now(): number
  setTimeout(callback: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export function createSystemClock(): Clock {
  const timers = new Map<number, ReturnType<typeof setTimeout>>()
  let nextId = 1
  return {
    now: () => Date.now(),
    setTimeout(callback, delayMs) {
      const id = nextId++
      const timer = setTimeout(() => {
        timers.delete(id)
        callback()
      }, delayMs)
      // A pending deadline must not keep a stopping process alive; owners clear their timers on stop().
      timer.unref?.()
      timers.set(id, timer)
      return { id }
    },
    clearTimeout(handle) {
      const timer = timers.get(handle.id)
      if (timer !== undefined) {
        clearTimeout(timer)
        timers.delete(handle.id)
      }
    },
  }
}

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in deadline order (each sees now() = its deadline). */
  advance(ms: number): void
  /** Number of armed timers: tests use it to check that stop() released everything. */
  pendingTimers(): number
}

export function createFakeClock(startMs = 0): FakeClock {
  let now = startMs
  let nextId = 1
  const timers = new Map<number, { at: number; seq: number; callback: () => void }>()
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      const id = nextId++
      timers.set(id, { at: now + Math.max(0, delayMs), seq: id, callback })
      return { id }
    },
    clearTimeout(handle) {
      timers.delete(handle.id)
    },
    advance(ms) {
      const target = now + ms
      for (;;) {
        let dueId: number | undefined
        let due: { at: number; seq: number; callback: () => void } | undefined
        for (const [id, timer] of timers) {
          if (
            timer.at <= target &&
            (due === undefined || timer.at < due.at || (timer.at === due.at && timer.seq < due.seq))
          ) {
            due = timer
            dueId = id
          }
        }
        if (due === undefined || dueId === undefined) break
        timers.delete(dueId)
        now = Math.max(now, due.at)
        due.callback()
      }
      now = target
    },
    pendingTimers: () => timers.size,
  }
}
