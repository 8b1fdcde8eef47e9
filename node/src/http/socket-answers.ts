/**
 * Answers node:http does not route to a request handler, written straight to the socket: a
 * request it could not parse (bad bytes, oversized headers, a timeout) and CONNECT (a proxy
 * tunnel, which the node is not). Node's defaults are a bare 400 or a silently closed socket; these
 * carry a JSON error and the same security headers as every other answer.
 */
import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { securityHeaderLines } from './security-headers.ts'

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
}

export function answerOnSocket(socket: Duplex, status: number, error: string, message: string): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify({ error, message })
  socket.end(
    [
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      'cache-control: no-store',
      ...securityHeaderLines(),
      'connection: close',
      '',
      body,
    ].join('\r\n'),
  )
}

/** Installs the answers above on `server`. */
export function answerUnroutedRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET') {
      socket.destroy()
      return
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    answerOnSocket(socket, status, 'BadRequest', 'the request could not be parsed as HTTP')
  })
  server.on('connect', (_req, socket: Duplex) => {
    answerOnSocket(socket, 405, 'MethodNotAllowed', 'CONNECT is not answered: this node is not a proxy')
  })
}
