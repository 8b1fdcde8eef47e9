/**
 * The pairing code as a person at the node's terminal sees it: the link to open on the phone
 * (`<node url>/#pair=<code>`, plus `&fp=<certificate SHA-256>` when the node serves HTTPS) and the
 * same link as a QR code drawn with Unicode half blocks. Printed to the terminal only, never
 * logged: whoever reads it can pair a device.
 */
import { renderUnicodeCompact } from 'uqr'
import type { PairingCode } from '#protocol/api/types.ts'

export function pairingLink(apiUrl: string, code: Pick<PairingCode, 'code' | 'fingerprint'>): string {
  const fragment = new URLSearchParams({ pair: code.code })
  if (code.fingerprint) fragment.set('fp', code.fingerprint)
  return `${apiUrl.replace(/\/+$/, '')}/#${fragment.toString()}`
}

/**
 * The lines to print: what to do, the QR code, the link, the code itself and when it expires. The
 * link goes to the URL the node named in the code (its HTTPS URL on the LAN, with --listen), else to
 * `apiUrl` (the loopback API the caller reached).
 */
export function pairingText(apiUrl: string, code: PairingCode, options: { qr?: boolean } = {}): string {
  const link = pairingLink(code.url ?? apiUrl, code)
  const minutes = Math.max(1, Math.round((Date.parse(code.expiresAt) - Date.now()) / 60_000))
  const lines = [
    `Pair a phone or browser (${code.role}): scan the code, or open the link, or type the code in the app.`,
    ...(options.qr === false ? [] : [renderUnicodeCompact(link, { border: 1 })]),
    `  link          ${link}`,
    `  pairing code  ${code.code}   (single use, expires in ${minutes} min)`,
    ...(code.fingerprint ? [`  certificate   SHA-256 ${code.fingerprint}`] : []),
    'Nothing is opened or paired automatically; `zkmeter pair` prints a new code.',
  ]
  return `${lines.join('\n')}\n`
}
