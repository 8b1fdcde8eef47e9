/**
 * Who this device is to the node: its session (paired resident or read-only), shared by the
 * views. A view asks `new SessionController(this).readOnly` to disable the controls a read-only
 * device may not use (the node refuses them anyway: 403). An API answer of 401 anywhere (a
 * revoked or expired session) sends the app back to the pairing screen (`onUnauthenticated`).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { Principal } from '#protocol/api/types.ts'

type Listener = () => void
const listeners = new Set<Listener>()
const lost = new Set<Listener>()
let principal: Principal | undefined

export function currentSession(): Principal | undefined {
  return principal
}

export function setSession(next: Principal | undefined): void {
  principal = next
  for (const l of listeners) l()
}

/** Called by the API client on a 401: the session is gone. */
export function sessionLost(): void {
  for (const l of lost) l()
}

export function onUnauthenticated(listener: Listener): () => void {
  lost.add(listener)
  return () => lost.delete(listener)
}

export class SessionController implements ReactiveController {
  readonly #host: ReactiveControllerHost
  readonly #update = () => this.#host.requestUpdate()

  constructor(host: ReactiveControllerHost) {
    this.#host = host
    host.addController(this)
  }

  get readOnly(): boolean {
    return principal?.role === 'read-only'
  }

  hostConnected(): void {
    listeners.add(this.#update)
  }

  hostDisconnected(): void {
    listeners.delete(this.#update)
  }
}

/**
 * The pairing code carried in the page's URL fragment (`#pair=<code>&fp=…`, the link and QR code
 * the node prints), taken once: the fragment is removed from the address bar and the history so
 * the code is not left behind (it is single use anyway).
 */
export function takePairingCodeFromUrl(): string | undefined {
  const hash = location.hash.replace(/^#/, '')
  if (!/^pair=/.test(hash) && !/[&]pair=/.test(hash)) return undefined
  const code = new URLSearchParams(hash).get('pair') ?? undefined
  history.replaceState(null, '', `${location.pathname}${location.search}#/`)
  return code || undefined
}
