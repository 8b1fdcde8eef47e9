/**
 * The live stream: one EventSource on /api/stream shared by every view. EventSource reconnects
 * by itself; after each (re)connect the views re-read their REST state because events sent while
 * disconnected are lost (docs/api.md, "Live stream").
 */

import { STREAM_PATH, type StreamEventName, type StreamEvents } from '#protocol/api/routes.ts'
import { nodeAnswered, nodeUnreachable } from './reachability.ts'

export type { StreamEventName, StreamEvents }
export type Connection = 'connecting' | 'open' | 'closed'

type Listener = (data: unknown) => void

export class LiveStream {
  readonly #url: string
  #source: EventSource | undefined
  readonly #listeners = new Map<string, Set<Listener>>()
  readonly #connection = new Set<(state: Connection) => void>()
  #state: Connection = 'closed'
  #retry: ReturnType<typeof setTimeout> | undefined
  /** The last reading received: the node opens the stream with it (docs/api.md, "Live stream"). */
  #reading: StreamEvents['reading'] | undefined

  constructor(url = STREAM_PATH) {
    this.#url = url
    // The stream opens before any view has subscribed (open-stream.ts starts it before the views
    // are set up): keep the reading it opens with for the view that shows it.
    this.on('reading', (reading) => {
      this.#reading = reading
    })
  }

  /** The last reading the stream delivered, if any (what a view connecting now can show first). */
  get lastReading(): StreamEvents['reading'] | undefined {
    return this.#reading
  }

  get state(): Connection {
    return this.#state
  }

  start(): void {
    if (this.#source) return
    this.#setState('connecting')
    const source = new EventSource(this.#url)
    this.#source = source
    source.onopen = () => {
      nodeAnswered()
      this.#setState('open')
    }
    source.onerror = () => {
      // The stream dropped or could not connect: until an API call or the stream gets an answer
      // again, the shell shows its one "cannot reach the node" message.
      nodeUnreachable()
      // A closed source (e.g. the server answered 503 while starting) is not retried by the
      // browser: reopen it ourselves after a pause.
      if (source.readyState === EventSource.CLOSED) {
        this.#source = undefined
        this.#setState('closed')
        clearTimeout(this.#retry)
        this.#retry = setTimeout(() => this.start(), 2000)
      } else this.#setState('connecting')
    }
    for (const name of this.#listeners.keys()) this.#attach(source, name)
  }

  stop(): void {
    clearTimeout(this.#retry)
    this.#source?.close()
    this.#source = undefined
    this.#setState('closed')
  }

  /** Subscribes to one event (its data typed by the contract); returns the unsubscribe function. */
  on<N extends StreamEventName>(name: N, listener: (data: StreamEvents[N]) => void): () => void {
    let set = this.#listeners.get(name)
    if (!set) {
      set = new Set()
      this.#listeners.set(name, set)
      if (this.#source) this.#attach(this.#source, name)
    }
    // The node sends each event's data as StreamEvents names it (protocol/api/routes.ts).
    const typed: Listener = (data) => listener(data as StreamEvents[N])
    set.add(typed)
    return () => set.delete(typed)
  }

  /** Called with every connection change; "open" after a reconnect means: reload REST state. */
  onConnection(listener: (state: Connection) => void): () => void {
    this.#connection.add(listener)
    return () => this.#connection.delete(listener)
  }

  #attach(source: EventSource, name: string): void {
    source.addEventListener(name, (event) => {
      let data: unknown
      try {
        data = JSON.parse((event as MessageEvent<string>).data)
      } catch {
        return
      }
      for (const l of this.#listeners.get(name) ?? []) l(data)
    })
  }

  #setState(state: Connection): void {
    if (state === this.#state) return
    this.#state = state
    for (const l of this.#connection) l(state)
  }
}

export const stream = new LiveStream()

/**
 * Joins a REST snapshot with stream events: events that arrive while the snapshot is in flight
 * are replayed on top of it, so a slow GET never overwrites a newer event (the snapshot may have
 * been read before the event happened). Events must be idempotent upserts.
 */
export class Resync<E> {
  #buffers = new Set<E[]>()

  /** Records an event for every snapshot in flight (apply it to the current state as well). */
  event(event: E): void {
    for (const b of this.#buffers) b.push(event)
  }

  async snapshot<T>(fetch: () => Promise<T>): Promise<{ value: T; replay: E[] }> {
    const buffer: E[] = []
    this.#buffers.add(buffer)
    try {
      return { value: await fetch(), replay: buffer }
    } finally {
      this.#buffers.delete(buffer)
    }
  }
}
