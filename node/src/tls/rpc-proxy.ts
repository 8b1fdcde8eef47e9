/**
 * POST /rpc: the chain's JSON-RPC on the node's own origin, for the resident's wallet. A phone
 * cannot reach the embedded chain's loopback RPC, and a page served over HTTPS may not call an
 * http:// RPC, so the wallet adds the network with `https://<node>/rpc` (ChainInfo.rpcUrl, see
 * https.ts) and this forwards to the chain the node itself uses.
 *
 * Only what a wallet needs passes: reads, gas estimates, calls, receipts and *signed* raw
 * transactions. Everything that would let the caller act with keys the chain holds or bend the
 * chain (eth_sendTransaction, eth_sign*, personal_*, eth_accounts, hardhat_*, evm_*, debug_*) is
 * answered with a JSON-RPC error and never reaches the chain: on the dev chain those are the
 * utility's and the household's unlocked accounts.
 */
import { HttpError } from '../http/errors.ts'
import type { Handler } from '../http/server.ts'

export const RPC_PATH = '/rpc'

/** The methods a wallet (MetaMask, ethers) calls to show balances, estimate and send a signed payment. */
export const ALLOWED_RPC_METHODS: ReadonlySet<string> = new Set([
  'eth_chainId',
  'net_version',
  'net_listening',
  'web3_clientVersion',
  'eth_syncing',
  'eth_blockNumber',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_blobBaseFee',
  'eth_getBalance',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getTransactionCount',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getLogs',
  'eth_call',
  'eth_estimateGas',
  'eth_sendRawTransaction',
])

/** Requests in one batch: a wallet sends a handful; more is someone using the node as a free RPC. */
export const MAX_BATCH = 20

type Id = string | number | null

export interface JsonRpcRequest {
  jsonrpc: '2.0'
  id: Id
  method: string
  params?: unknown[] | Record<string, unknown>
}

export interface JsonRpcResponse {
  jsonrpc: '2.0'
  id: Id
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/** Sends one request to the chain and gives its answer (result or error) back. */
export type RpcUpstream = (request: JsonRpcRequest, signal: AbortSignal) => Promise<JsonRpcResponse>

const INVALID_REQUEST = -32600
const METHOD_NOT_FOUND = -32601
const INTERNAL_ERROR = -32603
const UPSTREAM_TIMEOUT_MS = 30_000

const failure = (id: Id, code: number, message: string): JsonRpcResponse => ({
  jsonrpc: '2.0',
  id,
  error: { code, message },
})

/** The request as the chain will see it: only the fields JSON-RPC defines, checked. */
function parseRequest(value: unknown): JsonRpcRequest | JsonRpcResponse {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return failure(null, INVALID_REQUEST, 'a JSON-RPC request is an object')
  }
  const { jsonrpc, id = null, method, params } = value as Record<string, unknown>
  const validId = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
  if (!validId) return failure(null, INVALID_REQUEST, 'id must be a string, a number or null')
  const requestId = id as Id
  if (jsonrpc !== '2.0') return failure(requestId, INVALID_REQUEST, 'jsonrpc must be "2.0"')
  if (typeof method !== 'string') return failure(requestId, INVALID_REQUEST, 'method must be a string')
  if (params !== undefined && (params === null || typeof params !== 'object')) {
    return failure(requestId, INVALID_REQUEST, 'params must be an array or an object')
  }
  if (!ALLOWED_RPC_METHODS.has(method)) {
    return failure(
      requestId,
      METHOD_NOT_FOUND,
      `${method.slice(0, 64)} is not served by the node's RPC: it forwards reads and signed raw transactions only (sign in your wallet)`,
    )
  }
  return {
    jsonrpc: '2.0',
    id: requestId,
    method,
    ...(params === undefined ? {} : { params: params as JsonRpcRequest['params'] & object }),
  }
}

async function answer(value: unknown, upstream: RpcUpstream): Promise<JsonRpcResponse> {
  const request = parseRequest(value)
  if ('error' in request || !('method' in request)) return request as JsonRpcResponse
  try {
    const reply = await upstream(request, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS))
    // The caller's id, whatever the chain answered with.
    return 'error' in reply && reply.error !== undefined
      ? { jsonrpc: '2.0', id: request.id, error: reply.error }
      : { jsonrpc: '2.0', id: request.id, result: reply.result ?? null }
  } catch (error) {
    return failure(request.id, INTERNAL_ERROR, `the chain did not answer: ${(error as Error).message}`)
  }
}

/** The route's handler: one request or a batch (bounded), JSON body within the server's size limit. */
export function rpcProxyHandler(upstream: RpcUpstream): Handler {
  return async ({ json }) => {
    const body = await json()
    if (!Array.isArray(body)) return answer(body, upstream)
    if (body.length === 0) return failure(null, INVALID_REQUEST, 'an empty batch')
    if (body.length > MAX_BATCH) throw new HttpError(413, `a batch holds at most ${MAX_BATCH} requests`)
    return Promise.all(body.map((entry) => answer(entry, upstream)))
  }
}

/** An upstream over HTTP(S) JSON-RPC: the embedded chain's loopback RPC, or RPC_URL. */
export function httpUpstream(url: string): RpcUpstream {
  return async (request, signal) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal,
    })
    const reply = (await res.json()) as JsonRpcResponse
    if (reply === null || typeof reply !== 'object' || !('result' in reply || 'error' in reply)) {
      throw new Error(`not a JSON-RPC answer (HTTP ${res.status})`)
    }
    return reply
  }
}

/** An upstream over an ethers provider's `send` (a ws:// RPC_URL), JSON-RPC errors passed on. */
export function providerUpstream(provider: {
  send(method: string, params: unknown[]): Promise<unknown>
}): RpcUpstream {
  return async (request) => {
    try {
      const params = Array.isArray(request.params) ? request.params : request.params ? [request.params] : []
      return { jsonrpc: '2.0', id: request.id, result: await provider.send(request.method, params) }
    } catch (error) {
      const inner = (error as { error?: { code?: unknown; message?: unknown; data?: unknown } }).error
      if (inner && typeof inner.code === 'number' && typeof inner.message === 'string') {
        return {
          jsonrpc: '2.0',
          id: request.id,
          error: { code: inner.code, message: inner.message, data: inner.data },
        }
      }
      throw error
    }
  }
}
