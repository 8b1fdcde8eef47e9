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

/** Sets the common headers and the API's policy; a static file overrides the policy with the UI's. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value)
  res.setHeader('content-security-policy', API_CSP)
}

/** The headers as a list of lines, for answers written straight to a socket (client errors). */
export function securityHeaderLines(): string[] {
  return [...Object.entries(COMMON_HEADERS), ['content-security-policy', API_CSP]].map(
    ([n, v]) => `${n}: ${v}`,
  )
}
