/**
 * CSV cells that a spreadsheet reads as text, never as a formula (CSV injection, OWASP): a cell
 * starting with = + - @ or a tab / carriage return gets a leading apostrophe, and a cell holding a
 * comma, a quote or a line break is quoted with its quotes doubled (RFC 4180). Payments carry
 * addresses and hashes the node read from the chain; nothing here trusts them to be tame.
 */
const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

export function csvCell(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return ''
  let text = String(value)
  if (FORMULA_START.test(text)) text = `'${text}`
  return NEEDS_QUOTES.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text
}

/** One CSV document (CRLF line ends, RFC 4180) from a header and rows. */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly Parameters<typeof csvCell>[0][])[],
): string {
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`
}
