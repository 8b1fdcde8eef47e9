/**
 * The checks every request passes before any route, static file or stream sees it: what keeps a
 * web page on another site (or a DNS-rebinding page) from reading the resident's data or changing
 * the home through the resident's browser. docs/security.md, "The web API", says why each exists.
 *
 *   Host allowlist     the Host header names this node (not a name an attacker points at it)  → 403
 *   OPTIONS            no CORS here: a preflight is refused, never answered with Allow-*       → 403/405
 *   Fetch metadata     a page on another site may not call the node (links to it aside)       → 403
 *   Origin             a state change comes from the node's own origin, or from no browser     → 403
 *   Body type          a state change carries JSON or nothing (no form or text/plain bodies)   → 415
 *
 * CLI and Home Assistant clients send no Origin and no Sec-Fetch-Site, so they pass the browser
 * checks: they are held by their bearer token (authorization is another module's job).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { networkInterfaces } from 'node:os'
import { HttpError } from './errors.ts'

/**
 * 403: the Host header names no host this node answers for (DNS rebinding, or a name not
 * configured). Not 421 Misdirected Request: browsers take a 421 for a connection problem
 * (Chromium sends the request again on a new connection) instead of showing it, and a resident
 * who opened the node by a name it was not told about should read this message.
 */
export class ForeignHostError extends HttpError {
  override name = 'ForeignHostError'
  constructor(message: string, details?: Record<string, unknown>) {
    super(403, message, details)
  }
}

/** 403: a browser request another site's page made (a form, a no-cors fetch, a CORS preflight). */
export class CrossOriginRequestError extends HttpError {
  override name = 'CrossOriginRequestError'
  constructor(message: string, details?: Record<string, unknown>) {
    super(403, message, details)
  }
}

/** 415: a request body that is not JSON (the API reads JSON only; forms and text are refused). */
export class UnsupportedBodyTypeError extends HttpError {
  override name = 'UnsupportedBodyTypeError'
  constructor(message: string, details?: Record<string, unknown>) {
    super(415, message, details)
  }
}

/** Methods that only read: everything else may change state and passes the Origin check. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]'])

/** `::1` → `[::1]`, `LocalHost` → `localhost`: the form a Host header carries a name in. */
export function normalizeHostName(name: string): string {
  const lower = name.trim().toLowerCase()
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower
}

/**
 * The host names the node answers for by default: the loopback names, plus the address it is bound
 * to when that is a specific one, or every local interface address when it listens on all of them
 * (an IP literal cannot be rebound: a page can only be at that address by being served from it).
 * The node's wiring adds LAN names (mDNS, a configured name) to this list.
 */
export function defaultAllowedHosts(boundHost = '127.0.0.1'): string[] {
  const hosts = new Set(LOOPBACK_NAMES)
  if (WILDCARD.has(boundHost.trim())) {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) hosts.add(normalizeHostName(address.address))
    }
  } else {
    hosts.add(normalizeHostName(boundHost))
  }
  return [...hosts]
}

/** The host name of a Host header without its port (`[::1]:8787` → `[::1]`), or undefined if malformed. */
export function hostNameOf(hostHeader: string): string | undefined {
  const value = hostHeader.trim().toLowerCase()
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._~%!$&'()*+,;=-]+)(?::(\d{1,5}))?$/.exec(value)
  if (!match || (match[2] !== undefined && Number(match[2]) > 65_535)) return undefined
  return match[1] as string
}

export interface GuardOptions {
  /** Normalized host names (normalizeHostName) the Host header may name. */
  allowedHosts: ReadonlySet<string>
  /**
   * Paths that other origins may POST to (the wallet's chain RPC, /rpc: a browser wallet calls it
   * from its own extension origin). They keep the Host allowlist and the JSON-only body rule; what
   * they do is public anyway (chain reads, transactions the wallet signed).
   */
  crossOriginPaths?: ReadonlySet<string>
}

/** Throws the named error that refuses `req`, or returns when it may go on to its route. */
export function guardRequest(req: IncomingMessage, options: GuardOptions): void {
  const method = req.method ?? 'GET'
  const host = checkHost(req.headers, options.allowedHosts)
  if (method === 'OPTIONS') {
    if (req.headers['access-control-request-method'] !== undefined) {
      throw new CrossOriginRequestError(
        'this node does not answer CORS preflights: call it from its own pages',
      )
    }
    return // answered 405 by the server: no route takes OPTIONS
  }
  const path = (req.url ?? '/').split('?')[0] as string
  if (options.crossOriginPaths?.has(path) && !SAFE_METHODS.has(method)) {
    checkBodyType(req.headers)
    return
  }
  checkFetchMetadata(req.headers, method)
  if (SAFE_METHODS.has(method)) return
  checkOrigin(req.headers, host, isEncrypted(req))
  checkBodyType(req.headers)
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true
}

function checkHost(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): string {
  const host = headers.host
  const name = host === undefined ? undefined : hostNameOf(host)
  if (host === undefined || name === undefined || !allowed.has(name)) {
    // The list of allowed names stays out of the message: a rebinding page can read this answer,
    // and the node's LAN addresses are none of its business.
    throw new ForeignHostError(
      `this node does not answer for ${host === undefined ? 'a request that names no host' : `the host ${JSON.stringify(host.slice(0, 100))}`}: ` +
        'open it by the name or address it was set up with (localhost on this machine), or add this name to its allowed hosts',
      { host: host?.slice(0, 100) ?? null },
    )
  }
  return host.trim().toLowerCase()
}

/**
 * Fetch metadata (Sec-Fetch-Site, sent by every current browser): another site's page may link to
 * the node (a top-level navigation: GET, which changes nothing), but not call the API, embed its
 * answers or send it anything. `same-site` is refused too: another port of the same host is
 * another program.
 */
function checkFetchMetadata(headers: IncomingHttpHeaders, method: string): void {
  const site = headers['sec-fetch-site']
  if (site === undefined || site === 'same-origin' || site === 'none') return
  if (headers['sec-fetch-mode'] === 'navigate' && (method === 'GET' || method === 'HEAD')) return
  throw new CrossOriginRequestError(
    `a page on another site (Sec-Fetch-Site: ${site}) may not call this node`,
    {
      site,
    },
  )
}

/** A state change from a browser must come from the node's own origin (scheme, host and port). */
function checkOrigin(headers: IncomingHttpHeaders, host: string, encrypted: boolean): void {
  const origin = headers.origin
  if (origin === undefined) return // no browser sent it: fetch metadata above held browsers without Origin
  const own = originOf(`${encrypted ? 'https' : 'http'}://${host}`)
  if (own === undefined || originOf(origin) !== own) {
    throw new CrossOriginRequestError(
      `a state change must come from this node's own pages (${own ?? 'its origin'}), not from ${JSON.stringify(origin.slice(0, 100))}`,
      { origin: origin.slice(0, 100) },
    )
  }
}

/** The serialized origin of a URL (default ports dropped), or undefined for "null" and garbage. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value)
    return url.origin === 'null' ? undefined : url.origin
  } catch {
    return undefined
  }
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  return (contentType.split(';')[0] as string).trim().toLowerCase()
}

/**
 * A state change carries JSON or no body: an HTML form can only send form or text/plain bodies
 * (and a no-cors fetch only those), so refusing them takes away a cross-site page's only ways in.
 */
function checkBodyType(headers: IncomingHttpHeaders): void {
  const type = mediaType(headers['content-type'])
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  if (type === 'application/json' || (type === undefined && !hasBody)) return
  throw new UnsupportedBodyTypeError(
    `send a request body as application/json (or none)${type === undefined ? '' : `, not ${JSON.stringify(type.slice(0, 100))}`}`,
    { contentType: type?.slice(0, 100) ?? null },
  )
}
