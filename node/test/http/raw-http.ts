/**
 * HTTP/1.1 requests written byte for byte to a socket, for the attack tests: fetch() and
 * node:http's client fix the Host header, refuse odd paths and tidy headers; an attacker's client
 * (or a browser after DNS rebinding) sends whatever it likes.
 */
import { connect } from 'node:net'

export interface RawAnswer {
  status: number
  /** Header names lowercased; a repeated header's values joined with ", ". */
  headers: Record<string, string>
  body: string
}

export interface RawRequest {
  method?: string
  /** The request target exactly as sent (not encoded). */
  path: string
  /** Sent in this order, as given. `host` is sent only if listed here (or via `host`). */
  headers?: [string, string][]
  /** The Host header value; default `127.0.0.1:<port>`; null sends none. */
  host?: string | null
  body?: string | Buffer
  /** Keep reading after the head? false for endless answers (the live stream). */
  readBody?: boolean
}

/** Sends `request` to 127.0.0.1:`port` on a fresh connection and reads the answer (Connection: close). */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body)
  const lines = [`${request.method ?? 'GET'} ${request.path} HTTP/1.1`]
  const host = request.host === undefined ? `127.0.0.1:${port}` : request.host
  if (host !== null) lines.push(`Host: ${host}`)
  for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`)
  const named = (name: string) => (request.headers ?? []).some(([n]) => n.toLowerCase() === name)
  if (body && !named('content-length') && !named('transfer-encoding'))
    lines.push(`Content-Length: ${body.length}`)
  lines.push('Connection: close', '', '')
  const head = Buffer.from(lines.join('\r\n'), 'latin1')

  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer to ${request.method ?? 'GET'} ${request.path} within ${timeoutMs} ms`))
    }, timeoutMs)
    const finish = () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      if (!match) {
        reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`))
        return
      }
      const headers: Record<string, string> = {}
      for (const line of text
        .slice(0, end === -1 ? text.length : end)
        .split('\r\n')
        .slice(1)) {
        const colon = line.indexOf(':')
        if (colon <= 0) continue
        const name = line.slice(0, colon).trim().toLowerCase()
        const value = line.slice(colon + 1).trim()
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
      }
      const raw = end === -1 ? '' : text.slice(end + 4)
      const chunked = headers['transfer-encoding'] === 'chunked'
      resolve({ status: Number(match[1]), headers, body: chunked ? dechunk(raw) : raw })
    }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (request.readBody === false && Buffer.concat(chunks).includes('\r\n\r\n')) {
        socket.destroy()
        finish()
      }
    })
    socket.on('end', finish)
    socket.on('error', (error) => {
      clearTimeout(timer)
      // The server may close on a request it refused before reading all of it: what it said counts.
      if (chunks.length > 0) finish()
      else reject(error)
    })
    socket.write(body ? Buffer.concat([head, body]) : head)
  })
}

function dechunk(raw: string): string {
  let out = ''
  let rest = raw
  for (;;) {
    const line = rest.indexOf('\r\n')
    if (line === -1) return out
    const size = Number.parseInt(rest.slice(0, line), 16)
    if (!Number.isFinite(size) || size === 0) return out
    out += rest.slice(line + 2, line + 2 + size)
    rest = rest.slice(line + 2 + size + 2)
  }
}
