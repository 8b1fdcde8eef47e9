/**
 * The real household node for the UI's system tests: `node/src/cli.ts start` (embedded dev chain,
 * MQTT broker, virtual meter, vault, prover, API) in a temporary data directory on free ports,
 * serving the production build of the UI, and a Chromium page paired with it as a resident's phone
 * pairs (the link `npm start` prints). One copy of what e2e, token bills and the utility console's
 * token test all need.
 *
 * The browser wallet is an injected EIP-1193 provider announced over EIP-6963: the page forwards
 * every request to the test process (page.exposeFunction), which signs with a funded development
 * key and forwards reads to the node's chain JSON-RPC.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { JsonRpcProvider, Network, Wallet } from 'ethers'
import type { Page } from 'playwright-core'
import { scaledBudget } from '../../../test/support/load.ts'
import { fetchAsAdmin } from '../../../test/support/node-auth.ts'
import { reservePort } from '../../../test/support/ports.ts'
import { type Browser, ensureUiDist, launchBrowser, UI_ROOT } from '../browser.ts'

const REPO = join(UI_ROOT, '..')

/** The private key of the embedded chain's development account `n` (0 is the utility, funded all). */
export const devKey = (n: number): string =>
  `0x${bytesToHex(keccak_256(new TextEncoder().encode(`zkmeter/dev-account/${n}`)))}`

export interface NodeStatus {
  meter: { topic: string }
  chain: { rpcUrl: string; chainId: string }
}

export interface RealNode {
  base: string
  dataDir: string
  mqttPort: number
  status: NodeStatus
  /** Everything the node printed. */
  log: string[]
  /** A call to the node's API as the local CLI makes it (the admin token); throws on a non-2xx. */
  api<T>(path: string, init?: RequestInit): Promise<T>
  /** Waits until the node printed `pattern`. */
  waitForPrinted(pattern: RegExp): Promise<RegExpExecArray>
  /** A provider on the node's chain (destroy it after use). */
  chainProvider(): JsonRpcProvider
  close(): Promise<void>
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

/**
 * Builds the UI (once) and starts the node; `args` are added to `start` (e.g. `--asset token`), after
 * the defaults below, so a flag given there wins (e.g. `--meter-speed`).
 * At 2880× meter time with one-day periods, a billing period closes every 30 s.
 */
export async function startRealNode(args: readonly string[] = []): Promise<RealNode> {
  // The node serves ui/dist. The circuits' test artifacts come from `npm run build:circuits:test`,
  // which `npm test` runs before vitest (the node says so if they are missing).
  await ensureUiDist()
  const dataDir = await mkdtemp(join(tmpdir(), 'zkm-ui-e2e-'))
  const [port, chainPort, mqttPort] = [await reservePort(), await reservePort(), await reservePort()]
  const base = `http://127.0.0.1:${port}`
  const log: string[] = []
  const child = spawn(
    process.execPath,
    [
      'node/src/cli.ts',
      'start',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--chain-port',
      String(chainPort),
      '--mqtt-port',
      String(mqttPort),
      '--meter-speed',
      '2880',
      '--period-days',
      '1',
      ...args,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout?.on('data', (d: Buffer) => log.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()))
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited(child)
      clearTimeout(timer)
    }
    await rm(dataDir, { recursive: true, force: true })
  }
  let status: NodeStatus | undefined
  const deadline = Date.now() + 180_000
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the node exited with ${child.exitCode}:\n${log.join('')}`)
      try {
        const res = await fetchAsAdmin(dataDir, `${base}/api/status`, { signal: AbortSignal.timeout(2000) })
        if (res.ok) {
          status = (await res.json()) as NodeStatus
          break
        }
      } catch {}
      if (Date.now() > deadline) throw new Error(`the node did not become ready:\n${log.join('')}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  } catch (error) {
    await close()
    throw error
  }
  const ready = status
  return {
    base,
    dataDir,
    mqttPort,
    status: ready,
    log,
    async api<T>(path: string, init?: RequestInit): Promise<T> {
      const res = await fetchAsAdmin(dataDir, `${base}${path}`, {
        ...init,
        signal: AbortSignal.timeout(30_000),
      })
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
      return (await res.json()) as T
    },
    async waitForPrinted(pattern: RegExp): Promise<RegExpExecArray> {
      const until = Date.now() + 30_000
      for (;;) {
        const match = pattern.exec(log.join(''))
        if (match) return match
        if (Date.now() > until) throw new Error(`the node did not print ${pattern}:\n${log.join('')}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    chainProvider(): JsonRpcProvider {
      const network = new Network('zkmeter', BigInt(ready.chain.chainId))
      return new JsonRpcProvider(ready.chain.rpcUrl, network, { staticNetwork: network, batchMaxCount: 1 })
    },
    close,
  }
}

/** Opens a page in `browser`, with the injected wallet when given, paired with the node. */
export async function pairedPage(
  node: RealNode,
  browser: Browser,
  wallet?: InjectedWalletOptions,
): Promise<Page> {
  const page = await browser.newPage()
  if (wallet) await injectWallet(page, node, wallet)
  // The browser pairs as a resident's phone does: with the link `npm start` printed.
  const printed = await node.waitForPrinted(/#pair=([0-9A-Z]{5}-[0-9A-Z]{5})/)
  await page.goto(`${node.base}/#pair=${printed[1]}`)
  await page.getByLabel('This device').waitFor({ timeout: scaledBudget(30_000) })
  if (page.url().includes('pair=')) throw new Error('the pairing code stayed in the address bar')
  return page
}

export { launchBrowser }

export interface InjectedWalletOptions {
  /** The key it signs with. */
  key: string
  /** Whether it signs EIP-712 typed data now (false: it answers 4200, as a wallet without it does). */
  signsTypedData?: () => boolean
}

/** The injected EIP-1193 wallet (page side) and its signer (test side). */
export async function injectWallet(p: Page, node: RealNode, options: InjectedWalletOptions): Promise<void> {
  const network = new Network('zkmeter', BigInt(node.status.chain.chainId))
  const provider = new JsonRpcProvider(node.status.chain.rpcUrl, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    // A wallet keeps its own nonces. ethers caches answers for 250 ms, and the approve's receipt
    // comes back on an automining chain faster than that: the pay would reuse the approve's nonce.
    cacheTimeout: -1,
  })
  const wallet = new Wallet(options.key, provider)
  const typedData = options.signsTypedData ?? (() => true)
  await p.exposeFunction('__zkmWalletRequest', async (method: string, params: unknown[] = []) => {
    try {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return { result: [wallet.address.toLowerCase()] }
        case 'wallet_switchEthereumChain': {
          const want = BigInt((params[0] as { chainId: string }).chainId)
          return want === BigInt(node.status.chain.chainId)
            ? { result: null }
            : { error: { code: 4902, message: 'Unrecognized chain ID' } }
        }
        case 'eth_signTypedData_v4': {
          if (!typedData()) return { error: { code: 4200, message: 'eth_signTypedData_v4 is not supported' } }
          const data = JSON.parse(params[1] as string) as {
            domain: Record<string, unknown>
            types: Record<string, { name: string; type: string }[]>
            message: Record<string, unknown>
          }
          const { EIP712Domain: _, ...types } = data.types
          return { result: await wallet.signTypedData(data.domain, types, data.message) }
        }
        case 'eth_sendTransaction': {
          const tx = params[0] as { to: string; data: string; value?: string }
          const sent = await wallet.sendTransaction({
            to: tx.to,
            data: tx.data,
            value: BigInt(tx.value ?? '0x0'),
          })
          return { result: sent.hash }
        }
        default:
          return { result: await provider.send(method, params) }
      }
    } catch (error) {
      const e = error as { code?: unknown; shortMessage?: string; message?: string }
      return {
        error: { code: typeof e.code === 'number' ? e.code : -32603, message: e.shortMessage ?? e.message },
      }
    }
  })
  await p.addInitScript(() => {
    type Answer = { result?: unknown; error?: { code: number; message: string } }
    const call = (window as unknown as { __zkmWalletRequest: (m: string, p?: unknown) => Promise<Answer> })
      .__zkmWalletRequest
    const provider = {
      async request({ method, params }: { method: string; params?: unknown }) {
        const answer = await call(method, params)
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code })
        return answer.result
      },
    }
    const announce = () =>
      window.dispatchEvent(
        new CustomEvent('eip6963:announceProvider', {
          detail: Object.freeze({
            info: { uuid: 'e2e-dev-key', name: 'E2E Dev Key Wallet', icon: '', rdns: 'org.zkmeter.e2e' },
            provider,
          }),
        }),
      )
    window.addEventListener('eip6963:requestProvider', announce)
  })
}

/** Reads a value through the app's shadow roots. */
export function deepText(p: Page, selector: string): Promise<string | null> {
  return p.evaluate((sel) => {
    const find = (root: Document | ShadowRoot): Element | null => {
      const hit = root.querySelector(sel)
      if (hit) return hit
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) {
          const f = find(el.shadowRoot)
          if (f) return f
        }
      }
      return null
    }
    return find(document)?.textContent ?? null
  }, selector)
}
