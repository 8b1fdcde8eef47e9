/**
 * The whole household node with `--listen`: the API, the live stream and the wallet's chain RPC over
 * HTTPS with the node's own certificate, and a bill paid by a wallet that reaches the chain only
 * through the node's POST /rpc (as a phone's wallet does). The client trusts only the household CA.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { Agent, request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Contract, FetchRequest, JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiClient } from '#protocol/api/client.ts'
import { devAccount } from '../../../contracts/ts/chain.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { waitFor } from '../../../test/support/wait.ts'
import { type HouseholdNode, startHouseholdNode } from '../../src/app/node.ts'
import { runAuthCommand } from '../../src/auth/cli.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/config.ts'
import { initHousehold } from '../../src/identity/identity.ts'
import { silentLogger } from '../../src/log/logger.ts'

let dataDir: string
let node: HouseholdNode | undefined
/** The start, awaited by afterAll even if beforeAll timed out: a node never outlives its test. */
let starting: Promise<HouseholdNode> | undefined
let origin: string
let agent: Agent

function get<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    // The CLI's credential, as a script on the LAN would hold a token (zkmeter tokens create).
    const headers = { authorization: `Bearer ${node?.adminToken}` }
    httpsRequest(`${origin}${path}`, { agent, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body) as T)
          : reject(new Error(`${path}: ${res.statusCode} ${body}`)),
      )
    })
      .on('error', reject)
      .end()
  })
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkm-node-https-'))
  const config: NodeConfig = {
    ...structuredClone(DEFAULT_CONFIG),
    dataDir,
    http: { host: '127.0.0.1', port: 0, listen: '127.0.0.1', httpsPort: 0 },
    chain: { rpcUrl: undefined, embeddedPort: 0, ledger: undefined },
    mqtt: { url: undefined, embeddedPort: 0 },
    mesh: { ...DEFAULT_CONFIG.mesh, enabled: false },
    // One simulated day every 20 s: a daily bill closes soon. One live sample per interval: the
    // default (one a simulated minute) is 72 signed samples a second to verify at this speed, and
    // under full CPU load the node fell behind them and the bill came after the wait (2026-12-07).
    meter: { simulated: true, speed: 4320, periodDays: 1, livePeriodSeconds: 900 },
  }
  starting = startHouseholdNode(config, await initHousehold(dataDir, { dev: true }), { log: silentLogger })
  node = await starting
  const https = node.urls.https
  if (!https) throw new Error('the node started no HTTPS listener')
  agent = new Agent({ ca: await readFile(https.caCertPath, 'utf8') })
  origin = `https://localhost:${new URL(https.url).port}`
}, scaledBudget(240_000))

afterAll(async () => {
  agent?.destroy()
  await (await starting?.catch(() => undefined))?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('the household node over HTTPS (--listen)', () => {
  it(
    'serves the API and the live stream, names its own /rpc for the wallet',
    async () => {
      expect(node?.urls.api).toMatch(/^http:\/\/127\.0\.0\.1:/)
      expect(node?.urls.https?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
      expect((await get<{ ready: boolean }>('/api/status')).ready).toBe(true)
      const chain = await get<{ rpcUrl: string; chainId: string }>('/api/chain')
      expect(chain.rpcUrl).toBe(`${origin}/rpc`)

      const frame = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          `${origin}/api/stream`,
          {
            agent: new Agent({ ca: agent.options.ca }),
            headers: { authorization: `Bearer ${node?.adminToken}` },
          },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (c: string) => {
              text += c
              if (text.includes('event: reading')) {
                resolve(text)
                req.destroy()
              }
            })
          },
        )
        req.on('error', reject)
        req.end()
      })
      expect(frame).toMatch(/event: reading\ndata: \{/)
    },
    scaledBudget(60_000),
  )

  it('`zkmeter pair` prints the HTTPS link on the LAN with the CA fingerprint, as the start banner does', async () => {
    const https = node?.urls.https
    if (!node || !https) throw new Error('the node started no HTTPS listener')
    // What `zkmeter pair` does: ask the running node on loopback with the admin token, print the code.
    const api = createApiClient({ baseUrl: node.urls.api, token: node.adminToken })
    const printed = String(
      await runAuthCommand({
        command: 'pair',
        args: [],
        flags: new Map([['qr', 'false']]),
        api,
        apiUrl: node.urls.api,
        call: (request) => request(new AbortController().signal),
      }),
    )
    const link = /link {10}(\S+)/.exec(printed)?.[1] as string
    expect(link.startsWith(`${https.url}/#pair=`)).toBe(true)
    expect(new URLSearchParams(new URL(link).hash.slice(1)).get('fp')).toBe(https.fingerprint256)
    expect(printed).not.toContain(node.urls.api)
    // The start banner's code names the same URL and fingerprint.
    const banner = node.context.auth.issuePairingCode('resident')
    expect(banner).toMatchObject({ url: https.url, fingerprint: https.fingerprint256 })
  })

  it(
    "a wallet pays a verified bill through the node's /rpc, and the node sees it paid",
    async () => {
      const chain = await get<{ rpcUrl: string; chainId: string; ledger: string; payBillAbi: string }>(
        '/api/chain',
      )
      const request = new FetchRequest(chain.rpcUrl)
      request.getUrlFunc = FetchRequest.createGetUrlFunc({ agent })
      const provider = new JsonRpcProvider(request, undefined, { staticNetwork: true, batchMaxCount: 1 })
      provider.pollingInterval = 100
      try {
        expect((await provider.getNetwork()).chainId.toString()).toBe(chain.chainId)
        // The node's own accounts are unlocked on the dev chain: not through here.
        await expect(provider.send('eth_accounts', [])).rejects.toThrow(/not served by the node/)

        const bill = await waitFor(
          'a verified bill',
          async () =>
            (
              await get<{ bills: { id: string; status: string; total: string; chainBillId: string }[] }>(
                '/api/bills',
              )
            ).bills.find((b) => b.status === 'verified'),
          scaledBudget(150_000),
        )
        const payer = new Wallet(devAccount(7).privateKey, provider)
        const ledger = new Contract(chain.ledger, [chain.payBillAbi], payer)
        const tx = await (
          ledger.getFunction('payBill') as (
            id: string,
            o: { value: bigint },
          ) => Promise<{ wait(): Promise<{ status: number } | null> }>
        )(bill.chainBillId, { value: BigInt(bill.total) })
        expect((await tx.wait())?.status).toBe(1)
        await waitFor(
          'the node to see the bill paid',
          async () =>
            (await get<{ bill: { status: string } }>(`/api/bills/${bill.id}`)).bill.status === 'paid',
          60_000,
        )
      } finally {
        provider.destroy()
      }
    },
    scaledBudget(240_000),
  )
})
