/**
 * The installed app's state for the page: whether the dashboard is showing the service worker's
 * offline copies (and since when the node was last reached), and whether a new build has taken
 * over. One small store, fed by the worker's messages (register.ts) and the live stream, read by
 * <zkm-offline-notice>.
 */
import { stream } from '../lib/stream.ts'

export interface AppState {
  /** Set while answers come from the offline copies; `since`: when the node last answered (ms), if known. */
  offline: { since: number | null } | undefined
  /** A new build's worker took over this page: a reload shows the new version. */
  updated: boolean
}

type Listener = (state: AppState) => void

class AppStateStore {
  #state: AppState = { offline: undefined, updated: false }
  readonly #listeners = new Set<Listener>()

  constructor() {
    // The live stream (re)connected: the node is reachable again.
    stream.onConnection((connection) => {
      if (connection === 'open') this.online()
    })
  }

  get state(): AppState {
    return this.#state
  }

  offlineSince(since: number | null): void {
    // Keep the first report of this outage: later ones carry the same or no time.
    if (this.#state.offline) return
    this.#set({ ...this.#state, offline: { since } })
  }

  online(): void {
    if (this.#state.offline) this.#set({ ...this.#state, offline: undefined })
  }

  updateReady(): void {
    if (!this.#state.updated) this.#set({ ...this.#state, updated: true })
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #set(state: AppState): void {
    this.#state = state
    for (const l of this.#listeners) l(state)
  }
}

export const appState = new AppStateStore()
