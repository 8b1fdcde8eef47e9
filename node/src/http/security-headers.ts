/**
 * The headers every answer of the node carries (API, static files, errors, the live stream), and
 * the UI's Content-Security-Policy. docs/security.md, "The web API", says what each one stops.
 *
 * The API's answers are data, never a document to render: their policy allows nothing at all. The
 * UI's policy allows only the node's own scripts (no inline script, no eval), its own styles plus
 * the exact inline <style> blocks of the page it is sent with (by hash: the page's theme
 * variables) and no style attribute, data: images (wallet icons), and connections to the node
 * itself (API and stream). Nothing is 'unsafe-inline'.
 */
import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'

/** For API answers, errors and the stream: nothing to load, no framing, no forms. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const UI_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  // Lit's component styles are constructed stylesheets (adoptedStyleSheets), which CSP does not
  // govern; the page's own <style> goes by hash, added below.
  "style-src 'self'",
  // No style="" attribute anywhere: the templates use classes (ui/src/components/styles.ts). An
  // injected attribute could restyle the page (hide a banner, cover a button), so none applies.
  "style-src-attr 'none'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "media-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
]

/** The UI's policy for a page whose inline <style> blocks are `html`'s (none for other files). */
export function uiContentSecurityPolicy(html?: string): string {
  const hashes = html === undefined ? [] : inlineStyleHashes(html).map((h) => `'${h}'`)
  return UI_DIRECTIVES.map((d) =>
    d === "style-src 'self'" && hashes.length ? `${d} ${hashes.join(' ')}` : d,
  ).join('; ')
}

/** `sha256-…` of each inline <style> element's text, as CSP hashes them (the exact bytes). */
export function inlineStyleHashes(html: string): string[] {
  const hashes: string[] = []
  for (const match of html.matchAll(/<style(?:\s[^>]*)?>([\s\S]*?)<\/style\s*>/gi)) {
    hashes.push(
      `sha256-${createHash('sha256')
        .update(match[1] as string, 'utf8')
        .digest('base64')}`,
    )
  }
  return hashes
}

/** The same on every answer, whatever sends it. */
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
  // The microphone for voice commands, on the node's own pages only; the rest off.
  'permissions-policy':
    'microphone=(self), camera=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), display-capture=()',
}

/**
 * HTTP Strict Transport Security for answers over HTTPS: a browser that once reached the node over
 * HTTPS with a trusted certificate (the household CA installed) then refuses plain HTTP to that
 * name and any click-through past a certificate error — a fake node on the Wi-Fi cannot downgrade
 * the phone. One year. No `includeSubDomains` (names under the node's `.local` name are not the
 * node's to vouch for) and no `preload` (a home name cannot be on a browser's preload list, and
 * the list is for public sites). Never on plain HTTP (RFC 6797 §7.2: it would mean nothing there,
 * and the plain listener is loopback only).
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000'

/**
 * Whether an HTTPS answer to a request with this Host header carries HSTS. Not for `localhost`:
 * browsers keep HSTS per host name whatever the port, so it would turn the node's own plain HTTP
 * origin on loopback (`http://localhost:8787`) into an https:// one the browser cannot reach.
 * IP addresses get it (browsers ignore HSTS for them, RFC 6797 §8.1); it matters for the `.local`
 * name. An unknown Host (a request that could not be parsed) gets none.
 */
export function wantsStrictTransportSecurity(host: string | undefined): boolean {
  if (host === undefined || host === '') return false
  // [IPv6]:port is an address; otherwise strip the port and a trailing root dot.
  if (host.startsWith('[')) return true
  const name = host.replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase()
  return name !== 'localhost' && !name.endsWith('.localhost')
}

export interface TransportOptions {
  /** The answer goes over HTTPS. */
  https?: boolean
  /** The request's Host header (for HSTS: none for localhost). */
  host?: string | undefined
}

/** Sets the common headers and the API's policy; a static file overrides the policy with the UI's. */
export function setSecurityHeaders(res: ServerResponse, transport: TransportOptions = {}): void {
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value)
  res.setHeader('content-security-policy', API_CSP)
  if (transport.https && wantsStrictTransportSecurity(transport.host)) {
    res.setHeader('strict-transport-security', STRICT_TRANSPORT_SECURITY)
  }
}

/** The headers as a list of lines, for answers written straight to a socket (client errors). */
export function securityHeaderLines(transport: TransportOptions = {}): string[] {
  return [
    ...Object.entries(COMMON_HEADERS),
    ['content-security-policy', API_CSP],
    ...(transport.https && wantsStrictTransportSecurity(transport.host)
      ? [['strict-transport-security', STRICT_TRANSPORT_SECURITY]]
      : []),
  ].map(([n, v]) => `${n}: ${v}`)
}
