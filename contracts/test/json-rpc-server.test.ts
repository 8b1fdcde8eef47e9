import { request as httpRequest } from 'node:http'
import { JsonRpcProvider, Network, parseEther, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { type DevChain, devAccount, jsonRpcProvider, startDevChain } from '../ts/chain.ts'
import { JSON_RPC_ERRORS, type JsonRpcServerHandle, serveJsonRpc } from '../ts/json-rpc-server.ts'

let chain: DevChain
let server: JsonRpcServerHandle

beforeAll(async () => {
  chain = await startDevChain({ accounts: 3 })
  server = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await server?.close()
  await chain?.close()
})

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    json: text === '' ? undefined : JSON.parse(text),
  }
}

describe('serveJsonRpc', () => {
  it('serves the chain to ethers JsonRpcProvider: reads and a signed transfer', async () => {
    const provider = new JsonRpcProvider(server.url, Network.from(Number(chain.chainId)), {
      staticNetwork: true,
      batchMaxCount: 1,
    })
    try {
      expect(server.host).toBe('127.0.0.1')
      expect(server.port).toBeGreaterThan(0)
      const wallet = new Wallet(devAccount(0).privateKey, provider)
      const to = devAccount(2).address
      const before = await provider.getBalance(to)
      const tx = await wallet.sendTransaction({ to, value: parseEther('1.5') })
      const receipt = await tx.wait()
      expect(receipt?.status).toBe(1)
      // At the receipt's block: ethers caches an identical 'latest' request for 250 ms.
      expect(await provider.getBalance(to, receipt?.blockNumber)).toBe(before + parseEther('1.5'))
      expect(receipt?.blockNumber).toBeGreaterThanOrEqual(1)
    } finally {
      provider.destroy()
    }
  })

  it('answers bad JSON with a parse error', async () => {
    const { status, json } = await post('{"jsonrpc":"2.0",')
    expect(status).toBe(200)
    expect(json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: JSON_RPC_ERRORS.parseError, message: expect.any(String) },
    })
  })

  it('answers malformed requests with invalid-request / invalid-params errors, echoing the id', async () => {
    const cases: [unknown, number, unknown][] = [
      [42, JSON_RPC_ERRORS.invalidRequest, null],
      [{ id: 1, method: 'eth_chainId' }, JSON_RPC_ERRORS.invalidRequest, 1],
      [{ jsonrpc: '1.0', id: 2, method: 'eth_chainId' }, JSON_RPC_ERRORS.invalidRequest, 2],
      [{ jsonrpc: '2.0', id: 3, method: 7 }, JSON_RPC_ERRORS.invalidRequest, 3],
      [{ jsonrpc: '2.0', id: 4, method: 'eth chainId' }, JSON_RPC_ERRORS.invalidRequest, 4],
      [{ jsonrpc: '2.0', id: 5, method: 'eth_getBalance', params: 'x' }, JSON_RPC_ERRORS.invalidParams, 5],
      [{ jsonrpc: '2.0', id: { a: 1 }, method: 'eth_chainId' }, JSON_RPC_ERRORS.invalidRequest, null],
    ]
    for (const [body, code, id] of cases) {
      const { status, json } = await post(JSON.stringify(body))
      expect(status).toBe(200)
      expect(json.jsonrpc).toBe('2.0')
      expect(json.id).toEqual(id)
      expect(json.error.code).toBe(code)
      expect(json.result).toBeUndefined()
    }
  })

  it("passes the chain's own errors through (unknown method, bad params)", async () => {
    const unknown = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 'a', method: 'eth_noSuchMethod', params: [] }),
    )
    expect(unknown.json.id).toBe('a')
    expect(typeof unknown.json.error.code).toBe('number')
    expect(unknown.json.error.message).toMatch(/eth_noSuchMethod/)
    const badParams = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'b',
        method: 'eth_getBalance',
        params: ['not-an-address', 'latest'],
      }),
    )
    expect(badParams.json.id).toBe('b')
    expect(badParams.json.error.code).toBe(JSON_RPC_ERRORS.invalidParams)
  })

  it('refuses unlocked-account and chain-rewriting methods by default', async () => {
    for (const method of [
      'eth_sendTransaction',
      'eth_accounts',
      'eth_sign',
      'hardhat_setBalance',
      'evm_mine',
    ]) {
      const { json } = await post(JSON.stringify({ jsonrpc: '2.0', id: 9, method, params: [] }))
      expect(json.error.code, method).toBe(JSON_RPC_ERRORS.methodNotSupported)
      expect(json.error.message).toMatch(/eth_sendRawTransaction/)
    }
  })

  it('handles batches (each item answered, notifications skipped) and rejects an empty one', async () => {
    const { json } = await post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
        { jsonrpc: '2.0', method: 'eth_blockNumber' },
        { jsonrpc: '2.0', id: 2, method: 5 },
      ]),
    )
    expect(json).toHaveLength(2)
    expect(json[0]).toEqual({ jsonrpc: '2.0', id: 1, result: `0x${chain.chainId.toString(16)}` })
    expect(json[1].error.code).toBe(JSON_RPC_ERRORS.invalidRequest)
    const empty = await post('[]')
    expect(empty.json.error.code).toBe(JSON_RPC_ERRORS.invalidRequest)
  })

  it('answers a notification with 204 and no body', async () => {
    const { status, json } = await post(JSON.stringify({ jsonrpc: '2.0', method: 'eth_chainId' }))
    expect(status).toBe(204)
    expect(json).toBeUndefined()
  })

  it('speaks CORS to browser wallets and only accepts POST', async () => {
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:5173', 'access-control-request-method': 'POST' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/content-type/)
    const get = await fetch(server.url)
    expect(get.status).toBe(405)
    expect(((await get.json()) as { error: { code: number } }).error.code).toBe(
      JSON_RPC_ERRORS.invalidRequest,
    )
  })

  it('rejects a foreign Host header (DNS rebinding) and oversized bodies', async () => {
    const foreign = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method: 'POST', headers: { host: 'evil.example:8545' } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }))
    })
    expect(foreign).toBe(403)
    const small = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0, maxBodyBytes: 64 })
    try {
      const response = await fetch(small.url, { method: 'POST', body: 'x'.repeat(200) })
      expect(response.status).toBe(413)
    } finally {
      await small.close()
    }
  })

  it('jsonRpcProvider fixes the network of an RPC_URL once', async () => {
    const provider = await jsonRpcProvider(server.url)
    try {
      expect((await provider.getNetwork()).chainId).toBe(chain.chainId)
      expect(await provider.getBalance(devAccount(1).address)).toBeGreaterThan(0n)
    } finally {
      provider.destroy()
    }
    await expect(jsonRpcProvider('ftp://example')).rejects.toThrow(InvalidInputError)
  })

  it('validates its own arguments', async () => {
    await expect(startDevChain({ accounts: 0 })).rejects.toThrow(InvalidInputError)
    await expect(startDevChain({ chainId: -1 })).rejects.toThrow(InvalidInputError)
    expect(() => devAccount(-1)).toThrow(InvalidInputError)
    await expect(serveJsonRpc(chain.provider, { host: '', port: 0 })).rejects.toThrow(InvalidInputError)
    await expect(serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 70000 })).rejects.toThrow(
      InvalidInputError,
    )
    await expect(serveJsonRpc({} as never, { host: '127.0.0.1', port: 0 })).rejects.toThrow(InvalidInputError)
  })
})
