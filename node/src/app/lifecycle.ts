/**
 * One start/stop convention for the node's services. Whatever a service's own verb (close, stop,
 * destroy), the wiring records it here once it has started, and `stop()` ends them in reverse start
 * order: what started last depends on what started before it (the API on everything, the ingestor
 * on the broker and the vault, the vault on the mesh's libp2p host). A stop that fails is logged and
 * the others still run; a failed start unwinds what had already started the same way.
 */
import type { Logger } from '../log/logger.ts'

/** Anything the node starts and must stop. */
export interface Service {
  stop(): Promise<void>
}

type Stop = () => Promise<void> | void

export class Lifecycle {
  readonly #started: { name: string; stop: Stop }[] = []
  readonly #log: Logger
  readonly #born = performance.now()

  constructor(log: Logger) {
    this.#log = log
  }

  /** Records a started service (or the step that stops it); returns the service. */
  started<T extends Service>(name: string, service: T): T
  started(name: string, stop: Stop): void
  started<T extends Service>(name: string, service: T | Stop): T | undefined {
    // Milliseconds since the node began starting: the steps between two lines are what a slow start spends.
    this.#log.debug('started', { service: name, ms: Math.round(performance.now() - this.#born) })
    if (typeof service === 'function') {
      this.#started.push({ name, stop: service })
      return undefined
    }
    this.#started.push({ name, stop: () => service.stop() })
    return service
  }

  /**
   * Stops everything recorded, last started first. Safe to call more than once and concurrently
   * (a lost dependency and the user may both ask): each stop runs once.
   */
  async stop(): Promise<void> {
    for (const { name, stop } of this.#started.splice(0).reverse()) {
      const began = performance.now()
      try {
        await stop()
        // A slow stop is what makes a restart slow: name it.
        this.#log.debug('stopped', { service: name, ms: Math.round(performance.now() - began) })
      } catch (error) {
        this.#log.warn('error while stopping', { service: name, error })
      }
    }
  }
}
