/**
 * One REST value kept current by the live stream, as a Lit ReactiveController: the subscribe /
 * resync / reload-on-reconnect cycle every stream-backed view needs, written once.
 *
 * - On connect it fetches the value (through the API client) and subscribes to its stream events.
 * - `apply` folds an event into the value (an idempotent upsert); events that arrive while a fetch
 *   is in flight are replayed on top of its answer (Resync), so a slow GET never hides a newer event.
 * - `reloadOn` events, a reconnect of the stream (events sent meanwhile are lost) and the optional
 *   poll fetch the whole value again.
 * - The host re-renders on every change (`requestUpdate`); `state` is a Load for renderLoad.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { Load } from '../components/load-state.ts'
import { errorText } from './api.ts'
import {
  type Connection,
  type LiveStream,
  Resync,
  type StreamEventName,
  type StreamEvents,
  stream,
} from './stream.ts'

export interface StreamResourceOptions<T> {
  /** Reads the value from the node (the REST snapshot). */
  fetch: () => Promise<T>
  /** How each named stream event changes the value. */
  apply?: { [N in StreamEventName]?: (value: T, event: StreamEvents[N]) => T }
  /**
   * Events that alone give the whole value (the latest reading is the live view's value): one
   * arriving before the first fetch has answered is shown at once, and folded into that answer
   * with `apply` (an older or empty answer does not replace it). The node opens the stream with the
   * latest reading (docs/api.md), which often comes before the REST answer.
   */
  seed?: { [N in StreamEventName]?: (event: StreamEvents[N]) => T }
  /** Events after which the value is fetched again (true, or a test of the event's data). */
  reloadOn?: { [N in StreamEventName]?: true | ((event: StreamEvents[N]) => boolean) }
  /** A failed refresh keeps the value shown instead of replacing it with the error. */
  keepOnError?: boolean
  /** Also fetch again this often while connected (for state the stream does not announce). */
  pollMs?: number
  /** Called after every successful fetch. */
  loaded?: (value: T) => void
  /** The shared stream by default (a test passes its own). */
  stream?: StreamSource
}

/** What the controllers need of the stream (LiveStream). */
export type StreamSource = Pick<LiveStream, 'on' | 'onConnection'> & Partial<Pick<LiveStream, 'lastReading'>>

export class StreamResource<T> implements ReactiveController {
  readonly #host: ReactiveControllerHost
  readonly #options: StreamResourceOptions<T>
  readonly #stream: StreamSource
  readonly #resync = new Resync<(value: T) => T>()
  #off: (() => void)[] = []
  #timer: ReturnType<typeof setInterval> | undefined
  #state: Load<T> = { state: 'loading' }

  constructor(host: ReactiveControllerHost, options: StreamResourceOptions<T>) {
    this.#host = host
    this.#options = options
    this.#stream = options.stream ?? stream
    host.addController(this)
  }

  get state(): Load<T> {
    return this.#state
  }

  /** The value once fetched (kept while a refresh runs). */
  get value(): T | undefined {
    return this.#state.state === 'ready' ? this.#state.value : undefined
  }

  get error(): string | undefined {
    return this.#state.state === 'error' ? this.#state.message : undefined
  }

  get loading(): boolean {
    return this.#state.state === 'loading'
  }

  hostConnected(): void {
    const { apply = {}, reloadOn = {}, seed = {} } = this.#options
    for (const name of Object.keys(apply) as StreamEventName[]) this.#subscribeApply(name)
    for (const name of Object.keys(seed) as StreamEventName[]) this.#subscribeSeed(name)
    for (const name of Object.keys(reloadOn) as StreamEventName[]) this.#subscribeReload(name)
    this.#off.push(
      this.#stream.onConnection((state) => {
        if (state === 'open') void this.reload()
      }),
    )
    if (this.#options.pollMs) this.#timer = setInterval(() => void this.reload(), this.#options.pollMs)
    void this.reload()
  }

  hostDisconnected(): void {
    clearInterval(this.#timer)
    for (const off of this.#off.splice(0)) off()
  }

  /**
   * Fetches the value again; events that arrive meanwhile are applied on top of the answer. One fetch
   * at a time: asked again while one runs, it fetches once more after it (a burst of events, e.g. a
   * scene switching eight relays, costs two requests, not one per event).
   */
  reload(): Promise<void> {
    if (this.#fetching) {
      this.#again ??= this.#fetching.then(() => {
        this.#again = undefined
        return this.reload()
      })
      return this.#again
    }
    this.#fetching = this.#fetchOnce().finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }

  #fetching: Promise<void> | undefined
  #again: Promise<void> | undefined
  /** The seed event shown before the first answer, as a step for that answer (its `apply`). */
  #seeded: ((value: T) => T) | undefined

  async #fetchOnce(): Promise<void> {
    try {
      const { value, replay } = await this.#resync.snapshot(this.#options.fetch)
      // An event shown before this answer (a seed) may be newer than it: fold it in first.
      const seeded = this.#seeded
      this.#seeded = undefined
      this.#set(replay.reduce((v, step) => step(v), seeded ? seeded(value) : value))
      this.#options.loaded?.(value)
    } catch (error) {
      if (this.#options.keepOnError && this.#state.state === 'ready') return
      this.#state = { state: 'error', message: errorText(error) }
      this.#host.requestUpdate()
    }
  }

  /** Changes the value locally (e.g. with the answer of a POST); ignored until it is loaded. */
  update(change: (value: T) => T): void {
    if (this.#state.state === 'ready') this.#set(change(this.#state.value))
  }

  #set(value: T): void {
    this.#state = { state: 'ready', value }
    this.#host.requestUpdate()
  }

  #subscribeApply<N extends StreamEventName>(name: N): void {
    const apply = this.#options.apply?.[name]
    if (!apply) return
    this.#off.push(
      this.#stream.on(name, (event) => {
        const step = (value: T) => apply(value, event)
        this.#resync.event(step)
        this.update(step)
      }),
    )
  }

  #subscribeSeed<N extends StreamEventName>(name: N): void {
    const seed = this.#options.seed?.[name]
    if (!seed) return
    const apply = this.#options.apply?.[name]
    const show = (event: StreamEvents[N]) => {
      // Only before the first answer; after it, `apply` folds events into the fetched value.
      if (this.#state.state !== 'loading') return
      this.#seeded = apply ? (value) => apply(value, event) : undefined
      this.#set(seed(event))
    }
    // A reading the stream delivered before this view connected (the stream opens with one).
    const last = name === 'reading' ? this.#stream.lastReading : undefined
    if (last) show(last as StreamEvents[N])
    this.#off.push(this.#stream.on(name, show))
  }

  #subscribeReload<N extends StreamEventName>(name: N): void {
    const when = this.#options.reloadOn?.[name]
    if (!when) return
    this.#off.push(
      this.#stream.on(name, (event) => {
        if (when === true || when(event)) void this.reload()
      }),
    )
  }
}

/** The stream's connection state for a host that shows it (and starts the stream with it). */
export class StreamConnection implements ReactiveController {
  readonly #host: ReactiveControllerHost
  readonly #stream: LiveStream
  #off: (() => void) | undefined

  constructor(host: ReactiveControllerHost, live: LiveStream = stream) {
    this.#host = host
    this.#stream = live
    host.addController(this)
  }

  get state(): Connection {
    return this.#stream.state
  }

  hostConnected(): void {
    this.#off = this.#stream.onConnection(() => this.#host.requestUpdate())
    this.#stream.start()
  }

  hostDisconnected(): void {
    this.#off?.()
  }
}
