/**
 * The embedded development chain in a process of its own, forked by spawnEmbeddedChain()
 * (embedded-chain.ts): Hardhat's EDR simulator, persisted by the transaction journal, served as
 * JSON-RPC on loopback. On a real deployment the chain is an external Ethereum node; keeping this
 * stand-in out of the household node's process keeps Hardhat's memory out of the node's.
 *
 *   node dev-chain-process.ts <data-dir> <host> <port>
 *
 * It lives exactly as long as its IPC channel to the node: when the node stops it (message
 * `close`), exits, or is killed with SIGKILL, the channel closes and this process flushes the
 * journal and exits, so no orphan keeps the port or the journal. SIGINT is ignored and SIGTERM
 * deferred: Ctrl-C in a terminal (or a group-wide SIGTERM) reaches the whole process group, and the
 * node, still stopping, may need the chain.
 */

import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger } from '../log/logger.ts'
import type { DevChainMessage } from './dev-chain-message.ts'
import { type EmbeddedChain, startEmbeddedChain } from './embedded-chain.ts'

const send = (message: DevChainMessage) => process.send?.(message)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Two chains appending to one journal would corrupt it. A predecessor killed with its node is
 * normally gone long before a new node gets here (its channel closes at once), but wait for it
 * rather than trust timing. The pid file names a process only if that process is this script.
 */
async function waitForPredecessor(pidFile: string): Promise<void> {
  let pid: number
  try {
    pid = Number(await readFile(pidFile, 'utf8'))
  } catch {
    return
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return
  const deadline = Date.now() + 10_000
  for (;;) {
    let cmdline: string
    try {
      cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      return // gone (or no /proc: then the pid file is all we have, and timing has to do)
    }
    if (!cmdline.includes('dev-chain-process')) return
    if (Date.now() > deadline) {
      throw new Error(
        `another dev chain (pid ${pid}) still holds ${pidFile}: stop the node that runs it first`,
      )
    }
    await sleep(100)
  }
}

async function main(): Promise<void> {
  const [dataDir, host, portText] = process.argv.slice(2)
  const port = Number(portText)
  if (!dataDir || !host || !Number.isInteger(port)) {
    throw new Error('usage: dev-chain-process.ts <data-dir> <host> <port>')
  }
  if (!process.send) throw new Error('dev-chain-process.ts runs forked by the household node (it needs IPC)')
  const pidFile = join(dataDir, 'chain', 'dev-chain.pid')
  await waitForPredecessor(pidFile)

  let chain: EmbeddedChain | undefined
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      try {
        await chain?.close()
        await rm(pidFile, { force: true })
      } finally {
        process.exit(0)
      }
    })()
  }
  // Registered before the chain starts: a node that dies during our start must not leave us behind.
  process.on('disconnect', stop)
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'close') stop()
  })
  // A SIGTERM sent to the whole process group (npm forwarding one, `kill -TERM -<pgid>`, a service
  // manager) reaches us while the node, stopping too, may still submit or read: leave the timing
  // to the node's `close` (or its death), and only stop on our own if it has not come in 10 s.
  process.on('SIGTERM', () => {
    if (!process.connected) stop()
    else setTimeout(stop, 10_000).unref()
  })
  process.on('SIGINT', () => {})

  chain = await startEmbeddedChain({ dataDir, host, port })
  await writeFile(pidFile, String(process.pid), { mode: 0o600 })
  if (stopping) return
  send({ type: 'ready', rpcUrl: chain.rpcUrl, chainId: chain.chainId.toString(), replayed: chain.replayed })
}

main().catch((error: Error) => {
  send({ type: 'fatal', error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) } })
  // One JSON line on the shared stderr, like the node's own log (the stack says where it broke).
  createLogger()
    .child({ source: 'dev-chain' })
    .error('the dev chain stopped after an error', { error, stack: error?.stack })
  process.exit(1)
})
