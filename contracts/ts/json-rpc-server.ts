/**
 * Serves an EIP-1193 provider (the embedded dev chain) as an HTTP JSON-RPC 2.0 endpoint, so browser
 * wallets and `ethers.JsonRpcProvider` can use it. Every request is validated; bad ones get proper
 * JSON-RPC error objects, never a crash or an HTML page.
 *
 * Browser safety: CORS lets the wallet's pages call the endpoint, which also lets *any* page the user
 * visits call it. So by default the methods that act with the chain's unlocked accounts or rewrite
 * chain state (eth_sendTransaction, eth_sign*, hardhat_*, evm_*, ...) are refused: a wallet signs
 * itself and sends eth_sendRawTransaction. The Host header must name a loopback host unless the
 * server was bound elsewhere, which defeats DNS rebinding.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Eip1193Provider } from '#protocol/eip1193.ts'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'

export interface JsonRpcServerOptions {
  host: string
  /** 0 picks a free port. */
  port: number
  /** Allow unlocked-account and chain-manipulation methods (tests, trusted tooling). Default false. */
  allowDevMethods?: boolean
  /** Origins allowed by CORS; default '*' (any wallet page). */
  allowedOrigins?: readonly string[] | '*'
  /** Largest accepted request body in bytes (default 4 MiB). */
  maxBodyBytes?: number
}

export interface JsonRpcServerHandle {
  url: string
  host: string
  port: number
  close(): Promise<void>
}

export class JsonRpcServerError extends ZkMeterError {
  override name = 'JsonRpcServerError'
}

/** JSON-RPC 2.0 error codes (spec) and EIP-1474's "method not supported". */
export const JSON_RPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  methodNotSupported: -32004,
} as const

const DEV_METHOD =
  /^(hardhat_|evm_|debug_|personal_|eth_sign|eth_sendTransaction$|eth_accounts$|eth_requestAccounts$)/
const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

type JsonRpcId = string | number | null

interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: JsonRpcErrorObject }

function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } }
}

/** JSON can't carry bigint; providers' error data sometimes holds one. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)))
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

async function handleOne(
  provider: Eip1193Provider,
  request: unknown,
  allowDevMethods: boolean,
): Promise<JsonRpcResponse | undefined> {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return errorResponse(null, JSON_RPC_ERRORS.invalidRequest, 'a request must be a JSON object')
  }
  const { jsonrpc, method, params, id } = request as Record<string, unknown>
  const hasId = 'id' in request
  if (hasId && !isValidId(id)) {
    return errorResponse(null, JSON_RPC_ERRORS.invalidRequest, 'id must be a string, a number or null')
  }
  const replyId: JsonRpcId = hasId ? (id as JsonRpcId) : null
  if (jsonrpc !== '2.0') {
    return errorResponse(replyId, JSON_RPC_ERRORS.invalidRequest, 'jsonrpc must be exactly "2.0"')
  }
  if (typeof method !== 'string' || !METHOD_NAME.test(method)) {
    return errorResponse(replyId, JSON_RPC_ERRORS.invalidRequest, 'method must be a method name string')
  }
  if (params !== undefined && (params === null || typeof params !== 'object')) {
    return errorResponse(replyId, JSON_RPC_ERRORS.invalidParams, 'params must be an array or an object')
  }
  if (!allowDevMethods && DEV_METHOD.test(method)) {
    return errorResponse(
      replyId,
      JSON_RPC_ERRORS.methodNotSupported,
      `${method} is disabled on this endpoint: sign in your wallet and use eth_sendRawTransaction`,
    )
  }
  let response: JsonRpcResponse
  try {
    const result = await provider.request(
      params === undefined
        ? { method }
        : { method, params: params as readonly unknown[] | Record<string, unknown> },
    )
    response = { jsonrpc: '2.0', id: replyId, result: jsonSafe(result ?? null) }
  } catch (cause) {
    const err = cause as { code?: unknown; message?: unknown; data?: unknown }
    const code =
      typeof err.code === 'number' && Number.isInteger(err.code) ? err.code : JSON_RPC_ERRORS.internalError
    const message = typeof err.message === 'string' ? err.message : 'internal error'
    response = errorResponse(replyId, code, message, err.data === undefined ? undefined : jsonSafe(err.data))
  }
  // A notification (no id) gets no answer, whatever happened (JSON-RPC 2.0 §4.1).
  return hasId ? response : undefined
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' })
  res.end(text)
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader)
  return match?.[1]?.toLowerCase()
}

/** Starts the HTTP endpoint; resolves once it listens. POST / only (plus CORS preflight). */
export async function serveJsonRpc(
  provider: Eip1193Provider,
  options: JsonRpcServerOptions,
): Promise<JsonRpcServerHandle> {
  if (provider === null || typeof provider !== 'object' || typeof provider.request !== 'function') {
    throw new InvalidInputError('serveJsonRpc needs an EIP-1193 provider (an object with request())')
  }
  const { host, port } = options ?? {}
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidInputError("host must be an interface address such as '127.0.0.1'")
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(
      `port must be an integer in [0, 65535] (0 = any free port), got ${String(port)}`,
    )
  }
  const allowDevMethods = options.allowDevMethods ?? false
  const allowedOrigins = options.allowedOrigins ?? '*'
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024
  const loopbackOnly = LOOPBACK_HOSTS.has(host)

  const server: Server = createServer((req, res) => {
    const origin = req.headers.origin
    if (allowedOrigins === '*') res.setHeader('access-control-allow-origin', '*')
    else if (origin !== undefined && allowedOrigins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('vary', 'Origin')
    }
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS')
    res.setHeader('access-control-allow-headers', 'content-type')
    res.setHeader('access-control-max-age', '600')

    const hostname = hostnameOf(req.headers.host)
    if (loopbackOnly && (hostname === undefined || !LOOPBACK_HOSTS.has(hostname))) {
      send(
        res,
        403,
        errorResponse(null, JSON_RPC_ERRORS.invalidRequest, 'the Host header must name a loopback host'),
      )
      return
    }
    if (req.method === 'OPTIONS') {
      send(res, 204, undefined)
      return
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS')
      send(res, 405, errorResponse(null, JSON_RPC_ERRORS.invalidRequest, 'JSON-RPC requests are HTTP POSTs'))
      return
    }
    void (async () => {
      const body = await readBody(req, maxBodyBytes)
      if (body === undefined) {
        send(
          res,
          413,
          errorResponse(null, JSON_RPC_ERRORS.invalidRequest, `request body over ${maxBodyBytes} bytes`),
        )
        return
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(body)
      } catch {
        send(res, 200, errorResponse(null, JSON_RPC_ERRORS.parseError, 'request body is not valid JSON'))
        return
      }
      if (Array.isArray(parsed)) {
        if (parsed.length === 0) {
          send(res, 200, errorResponse(null, JSON_RPC_ERRORS.invalidRequest, 'a batch must not be empty'))
          return
        }
        // Sequential on purpose: a batch of transactions from one sender must keep its nonce order.
        const responses: JsonRpcResponse[] = []
        for (const item of parsed) {
          const response = await handleOne(provider, item, allowDevMethods)
          if (response !== undefined) responses.push(response)
        }
        send(res, responses.length === 0 ? 204 : 200, responses.length === 0 ? undefined : responses)
        return
      }
      const response = await handleOne(provider, parsed, allowDevMethods)
      send(res, response === undefined ? 204 : 200, response)
    })().catch((cause: unknown) => {
      if (!res.headersSent) {
        send(
          res,
          500,
          errorResponse(null, JSON_RPC_ERRORS.internalError, String((cause as Error)?.message ?? cause)),
        )
      } else res.destroy()
    })
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error) => {
      reject(new JsonRpcServerError(`cannot listen on ${host}:${port}: ${cause.message}`, { cause }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
