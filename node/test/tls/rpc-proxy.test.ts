import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HttpError } from '../../src/http/errors.ts'
import {
  ALLOWED_RPC_METHODS,
  type JsonRpcRequest,
  MAX_BATCH,
  rpcProxyHandler,
} from '../../src/tls/rpc-proxy.ts'

/** The handler over a recording upstream, called as the server would with a parsed body. */
function proxy() {
  const forwarded: JsonRpcRequest[] = []
  const handler = rpcProxyHandler(async (request) => {
    forwarded.push(request)
    return { jsonrpc: '2.0', id: 999, result: '0x1' }
  })
  const call = (body: unknown) =>
    handler({
      params: {},
      query: new URLSearchParams(),
      json: async () => body,
      req: undefined as never,
      res: undefined as never,
    })
  return { forwarded, call }
}

const method = fc.oneof(
  fc.constantFrom(
    ...ALLOWED_RPC_METHODS,
    'eth_sendTransaction',
    'hardhat_setBalance',
    'evm_mine',
    'personal_sign',
  ),
  fc.string(),
)
const request = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.anything()),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.anything()),
    method: fc.oneof(method, fc.anything()),
    params: fc.oneof(fc.array(fc.anything()), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
)

describe('POST /rpc, whatever a client sends', () => {
  it('forwards only allowlisted methods, only the JSON-RPC fields, and answers every entry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(request, fc.array(request, { maxLength: MAX_BATCH }), fc.anything()),
        async (body) => {
          const { forwarded, call } = proxy()
          const answer = await call(body)
          for (const sent of forwarded) {
            expect(ALLOWED_RPC_METHODS.has(sent.method)).toBe(true)
            expect(Object.keys(sent).every((k) => ['jsonrpc', 'id', 'method', 'params'].includes(k))).toBe(
              true,
            )
          }
          const answers = Array.isArray(answer) ? answer : [answer]
          if (Array.isArray(body) && body.length > 0) expect(answers).toHaveLength(body.length)
          for (const a of answers) {
            expect(a).toHaveProperty('jsonrpc', '2.0')
            expect('result' in a || 'error' in a).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('answers with the caller’s id, and refuses batches over the limit', async () => {
    const { call } = proxy()
    expect(await call({ jsonrpc: '2.0', id: 'a', method: 'eth_chainId' })).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: '0x1',
    })
    const batch = Array.from({ length: MAX_BATCH + 1 }, (_, id) => ({
      jsonrpc: '2.0',
      id,
      method: 'eth_chainId',
    }))
    await expect(call(batch)).rejects.toBeInstanceOf(HttpError)
  })
})
