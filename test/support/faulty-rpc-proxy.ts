/**
 * A small fault-injecting HTTP proxy in front of a JSON-RPC endpoint, on an OS-chosen port: what an
 * external chain provider does on a bad day. Each request is read, its JSON-RPC method noted, and a
 * plan decides what happens to it:
 *   pass            forwarded, answer returned
 *   reset           the connection is destroyed before anything is forwarded
 *   reset-after     forwarded (the chain acts on it), then the connection is destroyed unanswered
 *   delay:<ms>      forwarded after <ms> (a client with a shorter timeout gives up first)
 *   5xx             answered 502 without forwarding
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Fault = 'pass' | 'reset' | 'reset-after' | '5xx' | `delay:${number}`

export interface FaultyRpcProxy {
  url: string
  /** Decides the fate of each request: n counts all requests from 0, method is the JSON-RPC method. */
  plan: (n: number, method: string) => Fault
  /** What reached the proxy, and what was forwarded to the chain, by method. */
  seen: Map<string, number>
  forwarded: Map<string, number>
  close(): Promise<void>
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1)

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function forward(target: URL, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = request(
      target,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        readBody(res).then((b) => resolve({ status: res.statusCode ?? 500, body: b }), reject)
      },
    )
    out.on('error', reject)
    out.end(body)
  })
}

export async function startFaultyRpcProxy(targetUrl: string): Promise<FaultyRpcProxy> {
  const target = new URL(targetUrl)
  let n = 0
  const proxy: FaultyRpcProxy = {
    url: '',
    plan: () => 'pass',
    seen: new Map(),
    forwarded: new Map(),
    close: async () => {},
  }
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req)
      let method = '?'
      try {
        method = String((JSON.parse(body.toString('utf8')) as { method?: unknown }).method)
      } catch {}
      bump(proxy.seen, method)
      const fault = proxy.plan(n++, method)
      if (fault === 'reset') return void req.socket.destroy()
      if (fault === '5xx') {
        res.writeHead(502, { 'content-type': 'text/plain' })
        return void res.end('bad gateway (injected)')
      }
      if (fault.startsWith('delay:')) await new Promise((r) => setTimeout(r, Number(fault.slice(6))))
      if (req.socket.destroyed) return
      bump(proxy.forwarded, method)
      const answer = await forward(target, body)
      if (fault === 'reset-after') return void req.socket.destroy()
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.body)
    } catch {
      req.socket.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}
