import { mkdtemp, rm } from 'node:fs/promises'
import type { IncomingHttpHeaders } from 'node:http'
import { Agent, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FetchRequest, JsonRpcProvider, parseEther, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DevChain, devAccount, startDevChain } from '../../../contracts/ts/chain.ts'
import { type JsonRpcServerHandle, serveJsonRpc } from '../../../contracts/ts/json-rpc-server.ts'
import type { RoutesContext } from '../../src/http/context.ts'
import { STRICT_TRANSPORT_SECURITY } from '../../src/http/security-headers.ts'
import { createHttpApi, type HttpApi, SseHub } from '../../src/http/server.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { startHttpsApi } from '../../src/tls/https.ts'
import { httpUpstream } from '../../src/tls/rpc-proxy.ts'
import { ensureNodeCertificates } from '../../src/tls/store.ts'

const NAMES = { hostnames: ['localhost'], ips: ['127.0.0.1', '::1'] }

/** One HTTPS request with node's client: status, body and the TLS error if the handshake failed. */
function get(
  url: string,
  options: { ca?: string; host?: string; method?: string; body?: string } = {},
): Promise<{ status: number; body: string; headers?: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.ca ? { ca: options.ca } : {}),
        // A forged Host header, but the TLS name the client checks stays the URL's.
        ...(options.host ? { servername: new URL(url).hostname } : {}),
        headers: {
          ...(options.host ? { host: options.host } : {}),
          ...(options.body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

let dataDir: string
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-https-'))
})
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

describe('the API over HTTPS', () => {
  let api: HttpApi
  let url: string
  let ca: string
  const hub = new SseHub()

  beforeAll(async () => {
    const certs = await ensureNodeCertificates(dataDir, NAMES)
    ca = certs.caCert
    api = createHttpApi({ tls: { key: certs.key, cert: certs.cert } })
    api.route('GET', '/api/status', () => ({ ready: true }))
    api.sse('/api/stream', hub)
    url = (await api.start()).url
  })
  afterAll(async () => {
    await api.stop()
  })

  it('answers a client that trusts the household CA, under every name of the certificate', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const port = new URL(url).port
    for (const base of [url, `https://localhost:${port}`]) {
      expect(await get(`${base}/api/status`, { ca })).toMatchObject({ status: 200, body: '{"ready":true}' })
    }
  })

  it('sends Strict-Transport-Security on every HTTPS answer (never to localhost), and never over plain HTTP', async () => {
    const hsts = async (path: string, host?: string) =>
      (await get(`${url}${path}`, { ca, ...(host ? { host } : {}) })).headers?.['strict-transport-security']
    const port = new URL(url).port
    expect(STRICT_TRANSPORT_SECURITY).toBe('max-age=31536000')
    // A route, a 404, a refused foreign Host (403): all HTTPS answers carry it, without preload.
    expect(await hsts('/api/status')).toBe(STRICT_TRANSPORT_SECURITY)
    expect(await hsts('/api/nothing-here')).toBe(STRICT_TRANSPORT_SECURITY)
    expect(await hsts('/api/status', `evil.example:${port}`)).toBe(STRICT_TRANSPORT_SECURITY)
    // localhost: HSTS is per name whatever the port, and the node's plain HTTP UI is on localhost.
    expect(await hsts('/api/status', `localhost:${port}`)).toBeUndefined()
    expect(
      (await get(`https://localhost:${port}/api/status`, { ca })).headers?.['strict-transport-security'],
    ).toBeUndefined()
    // The plain listener (loopback) never sends it, whatever the Host says.
    const plain = createHttpApi({ allowedHosts: ['127.0.0.1', 'zkmeter.local'] })
    plain.route('GET', '/api/status', () => ({ ready: true }))
    const plainUrl = (await plain.start()).url
    try {
      for (const host of [undefined, 'zkmeter.local']) {
        const answer = await fetch(`${plainUrl}/api/status`, host ? { headers: { host } } : {})
        expect(answer.status).toBe(200)
        expect(answer.headers.get('strict-transport-security')).toBeNull()
      }
    } finally {
      await plain.stop()
    }
  })

  it('is refused by a client that does not trust the CA, and speaks no plain HTTP', async () => {
    await expect(get(`${url}/api/status`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
    const plain = await fetch(`${url.replace('https:', 'http:')}/api/status`).catch((error: Error) => error)
    expect(plain).toBeInstanceOf(Error)
  })

  it('carries the live stream', async () => {
    const agent = new Agent({ ca })
    const received = new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${url}/api/stream`, { agent }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
          if (text.includes('event: reading')) {
            resolve(text)
            req.destroy()
          }
        })
      })
      req.on('error', reject)
      req.end()
    })
    // Publish until the client is attached (the stream drops nothing for an attached client).
    const timer = setInterval(() => hub.publish('reading', { seq: 1 }), 20)
    try {
      expect(await received).toMatch(/event: reading\ndata: \{"seq":1\}/)
    } finally {
      clearInterval(timer)
      agent.destroy()
    }
  })
})

describe("the wallet's chain RPC on the node's HTTPS origin (POST /rpc)", () => {
  let chain: DevChain
  let upstream: JsonRpcServerHandle
  let node: Awaited<ReturnType<typeof startHttpsApi>>
  let ca: string
  let origin: string
  let provider: JsonRpcProvider

  beforeAll(async () => {
    chain = await startDevChain({ accounts: 3 })
    // An upstream that would obey everything (like an external node with unlocked accounts): the
    // node's own allowlist is the only gate here.
    upstream = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0, allowDevMethods: true })
    const context = {
      chainId: chain.chainId,
      rpcUrl: upstream.url,
      utility: undefined,
      identity: { meter: { address: devAccount(2).address } },
      ledger: { address: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
    } as unknown as RoutesContext
    node = await startHttpsApi({
      dataDir,
      listen: '127.0.0.1',
      port: 0,
      context,
      upstream: httpUpstream(upstream.url),
      register: () => undefined,
      log: silentLogger,
    })
    ca = node.certificates.caCert
    origin = `https://localhost:${(node.api.server.address() as AddressInfo).port}`
    const request = new FetchRequest(`${origin}/rpc`)
    request.getUrlFunc = FetchRequest.createGetUrlFunc({ agent: new Agent({ ca }) })
    // cacheTimeout -1: ethers answers a repeated call within 250 ms from its cache, and the balance
    // read after a fast-mined transaction would be the one from before it.
    provider = new JsonRpcProvider(request, undefined, {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    })
  })
  afterAll(async () => {
    provider?.destroy()
    await node?.api.stop()
    await upstream?.close()
    await chain?.close()
  })

  it('names its own origin as the wallet RPC in GET /api/chain, never a foreign Host', async () => {
    const info = JSON.parse((await get(`${origin}/api/chain`, { ca })).body) as {
      rpcUrl: string
      chainId: string
    }
    expect(info.rpcUrl).toBe(`${origin}/rpc`)
    expect(info.chainId).toBe(chain.chainId.toString())
    const port = new URL(origin).port
    // A foreign Host (a rebinding page) is refused before any route: it never sees an rpcUrl.
    const foreign = await get(`${origin}/api/chain`, { ca, host: `evil.example:${port}` })
    expect(foreign.status).toBe(403)
    expect(foreign.body).not.toContain('evil.example/rpc')
  })

  it('serves a wallet: reads, estimates and a signed raw transaction (ethers over HTTPS)', async () => {
    expect((await provider.getNetwork()).chainId).toBe(chain.chainId)
    const [payer, payee] = [devAccount(0), devAccount(1)]
    const before = await provider.getBalance(payee.address)
    const wallet = new Wallet(payer.privateKey, provider)
    const tx = await wallet.sendTransaction({ to: payee.address, value: parseEther('1') })
    const receipt = await tx.wait()
    expect(receipt?.status).toBe(1)
    expect(await provider.getBalance(payee.address)).toBe(before + parseEther('1'))
    expect(await provider.getTransactionReceipt(tx.hash)).not.toBeNull()
  })

  it('refuses what would act with the chain’s own accounts or bend it (attack)', async () => {
    const [payer, thief] = [devAccount(0), devAccount(2)]
    const before = await provider.getBalance(thief.address)
    const attempts = [
      {
        method: 'eth_sendTransaction',
        params: [{ from: payer.address, to: thief.address, value: '0xde0b6b3a7640000' }],
      },
      { method: 'hardhat_setBalance', params: [thief.address, '0x3635c9adc5dea00000000'] },
      { method: 'evm_mine', params: [] },
      { method: 'personal_sign', params: ['0x00', payer.address] },
      { method: 'eth_accounts', params: [] },
      { method: 'debug_traceTransaction', params: ['0x00'] },
    ]
    for (const { method, params } of attempts) {
      const res = await get(`${origin}/rpc`, {
        ca,
        method: 'POST',
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
      })
      expect(res.status, method).toBe(200)
      const answer = JSON.parse(res.body)
      expect(answer, method).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32601 } })
      expect(answer.error.message).toContain('not served by the node')
    }
    // Also inside a batch, beside an allowed call.
    const batch = JSON.parse(
      (
        await get(`${origin}/rpc`, {
          ca,
          method: 'POST',
          body: JSON.stringify([
            { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
            { jsonrpc: '2.0', id: 2, method: 'hardhat_setBalance', params: [thief.address, '0x1'] },
          ]),
        })
      ).body,
    )
    expect(batch[0]).toEqual({ jsonrpc: '2.0', id: 1, result: `0x${chain.chainId.toString(16)}` })
    expect(batch[1]).toMatchObject({ id: 2, error: { code: -32601 } })
    await expect(
      provider.send('eth_sendTransaction', [{ from: payer.address, to: thief.address }]),
    ).rejects.toThrow(/not served by the node/)
    expect(await provider.getBalance(thief.address)).toBe(before)
  })

  it('bounds what it takes: batch size, body size, JSON only', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId' }))
    expect((await get(`${origin}/rpc`, { ca, method: 'POST', body: JSON.stringify(many) })).status).toBe(413)
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: ['x'.repeat(70_000)] })
    expect((await get(`${origin}/rpc`, { ca, method: 'POST', body: huge })).status).toBe(413)
    const bad = JSON.parse(
      (
        await get(`${origin}/rpc`, {
          ca,
          method: 'POST',
          body: JSON.stringify({ id: 1, method: 'eth_chainId' }),
        })
      ).body,
    )
    expect(bad).toMatchObject({ id: 1, error: { code: -32600 } })
  })
})
