/**
 * start()/stop() of the mesh node: both idempotent and safe to call concurrently. A start waits for a
 * stop in progress; a stop waits for a start in progress. `running` turns true when the start step
 * says publishing may begin (before the first dials and announcement), and false as soon as stop begins.
 */
export interface LifecycleSteps {
  /** Brings the node up; calls `markRunning()` once messages may be published. */
  start(markRunning: () => void): Promise<void>
  /** Takes the node down; `running` is already false. */
  stop(): Promise<void>
}

export function createLifecycle(steps: LifecycleSteps) {
  let running = false
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  return {
    isRunning: () => running,
    async start(): Promise<void> {
      if (running) return
      if (starting !== undefined) return starting
      starting = (async () => {
        if (stopping !== undefined) await stopping
        await steps.start(() => {
          running = true
        })
      })()
      try {
        await starting
      } finally {
        starting = undefined
      }
    },
    async stop(): Promise<void> {
      if (starting !== undefined) await starting.catch(() => undefined)
      if (!running) return stopping
      running = false
      stopping = steps.stop()
      await stopping
    },
  }
}
