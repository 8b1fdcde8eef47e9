/**
 * The session cookie: parsed from the Cookie header, written HttpOnly (no script reads it),
 * SameSite=Strict (no other site's page sends it), Path=/, and Secure with the `__Host-` prefix
 * when the node serves HTTPS (then no plain-HTTP page or sibling host can set or see it).
 */

export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-zkm_session' : 'zkm_session'
}

/** The Cookie header's pairs (the first of a repeated name wins, as browsers send most specific first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  if (!header) return cookies
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name && !cookies.has(name)) cookies.set(name, value)
  }
  return cookies
}

export function sessionCookie(options: { secure: boolean; value: string; maxAgeSeconds: number }): string {
  const parts = [
    `${sessionCookieName(options.secure)}=${options.value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
  ]
  if (options.secure) parts.push('Secure')
  return parts.join('; ')
}

/** Tells the browser to forget the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie({ secure, value: '', maxAgeSeconds: 0 })
}
