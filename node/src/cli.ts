#!/usr/bin/env node
import { type ApiClient, ApiError, createApiClient } from '#protocol/api/client.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { startHouseholdNode } from './app/node.ts'
/**
 * zkmeter — the household node's command line.
 *
 *   zkmeter init                 create the household keys in the data directory
 *   zkmeter start                run the node (embedded chain, broker, virtual meter by default)
 *   zkmeter status | bills       ask the running node
 *   zkmeter pay <bill-id>        pay a verified bill from the dev wallet (embedded chain only)
 *   zkmeter retry <bill-id>      retry a bill that failed (the node says why it failed)
 *   zkmeter grant <bill-id> <x25519-public-key-hex>   disclose one period to a recipient
 *   zkmeter export [--from t] [--to t]               your interval readings as CSV
 *
 * Options are the node's configuration (docs/cli.md): --data-dir, --port, --rpc-url, --mqtt-url, …
 * A passphrase comes from ZKMETER_PASSPHRASE (never a flag: flags show up in process lists).
 */
import { ConfigError, loadConfig, type NodeConfig, parseFlags } from './config.ts'
import { initHousehold, NotInitializedError, openHousehold } from './identity/identity.ts'
import { runUtility } from './utility/cli.ts'

const USAGE = `usage: zkmeter <init|start|status|bills|pay|retry|grant|export|utility|ceremony|verify-setup> [options]
  init                     create household keys (dev mode unless ZKMETER_DEV=false; passphrase from ZKMETER_PASSPHRASE)
  start                    run the household node (creates dev keys on first start in dev mode)
  status                   status of the running node
  bills                    bills of the running node
  pay <bill-id>            pay a verified bill with the dev wallet (embedded dev chain only)
  retry <bill-id>          retry a failed bill (re-proves it when the proof cannot be reused)
  grant <bill-id> <key>    disclose one period to the holder of an X25519 public key (0x + 64 hex)
  export [--from t --to t] interval readings as CSV on stdout
  utility <command>        the utility's side on a chain: deploy, register, tariff, bills, … (utility --help)
  ceremony <command>       the trusted-setup ceremony: init, contribute, verify, finalize, phase1 … (ceremony help)
  verify-setup             check the ledger's trusted setup against the circuit build (verify-setup --help)
options: --data-dir DIR --host H --port P --rpc-url URL --ledger ADDR --chain-port P --mqtt-url URL
         --mqtt-port P --simulated-meter BOOL --meter-speed X --period-days D --circuit test|production
         --serial-port PATH --serial-baud B (a meter wired by USB) --dev BOOL --config FILE
         --mesh BOOL --mesh-listen ADDRS --mesh-peers ADDRS --mesh-mdns BOOL --mesh-observer BOOL
         (the neighbourhood mesh, docs/mesh.md; ADDRS = comma-separated multiaddrs)`

class CliError extends ZkMeterError {
  override name = 'CliError'
}

function apiBase(config: NodeConfig): string {
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host
  return `http://${host}:${config.http.port}`
}

/** The running node's API (protocol/api/client.ts); every call may take up to two minutes. */
function nodeApi(config: NodeConfig): ApiClient {
  return createApiClient({ baseUrl: apiBase(config) })
}

/** Runs one API call, turning the client's errors into the CLI's one-line messages. */
async function call<T>(config: NodeConfig, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await request(AbortSignal.timeout(120_000))
  } catch (error) {
    if (!(error instanceof ApiError)) throw error
    if (error.status === 0) {
      throw new CliError(`no household node answers at ${apiBase(config)}: start it with \`npm start\``, {
        cause: error.cause,
      })
    }
    throw new CliError(`${error.method} ${error.path}: ${error.status} ${error.body?.message ?? error.text}`)
  }
}

const print = (value: unknown) =>
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`)

async function main(argv: string[]): Promise<void> {
  const { flags, positionals } = parseFlags(argv)
  const [command, ...args] = positionals
  if (command === 'utility') return void print(await runUtility({ positionals: args, flags }))
  // Loaded only for these commands: snarkjs and the ceremony are not the running node's memory.
  if (command === 'ceremony')
    return void print(await (await import('./setup/cli.ts')).runCeremony({ positionals: args, flags }))
  if (command === 'verify-setup')
    return void print(await (await import('./setup/cli.ts')).runVerifySetup({ flags }))
  if (!command || flags.has('help') || command === 'help') {
    print(USAGE)
    return
  }
  // Command arguments, not node configuration.
  const range: { from?: string; to?: string } = {}
  for (const key of ['from', 'to'] as const) {
    const v = flags.get(key)
    if (v !== undefined) range[key] = v
    flags.delete(key)
  }
  const config = loadConfig({ flags, env: process.env })
  const api = nodeApi(config)
  const passphrase = process.env.ZKMETER_PASSPHRASE
  switch (command) {
    case 'init': {
      const identity = await initHousehold(config.dataDir, {
        dev: config.dev,
        ...(passphrase ? { passphrase } : {}),
      })
      print({
        dataDir: config.dataDir,
        meter: identity.meter.address,
        household: identity.walletAddress,
        dev: config.dev,
      })
      return
    }
    case 'start': {
      let identity: Awaited<ReturnType<typeof openHousehold>>
      try {
        identity = await openHousehold(config.dataDir, {
          dev: config.dev,
          ...(passphrase ? { passphrase } : {}),
        })
      } catch (error) {
        if (!(error instanceof NotInitializedError) || !config.dev) throw error
        identity = await initHousehold(config.dataDir, { dev: true })
        process.stderr.write(
          `zkmeter: created dev-mode household keys in ${config.dataDir}/keys (insecure, demo only)\n`,
        )
      }
      const node = await startHouseholdNode(config, identity)
      const lines = [
        '',
        'zkmeter household node is running',
        `  web UI + API   ${node.urls.api}   (GET /api/status)`,
        `  chain JSON-RPC ${node.urls.rpc}   (chain id ${node.context.chainId}, ledger ${node.context.ledger.address})`,
        `  MQTT broker    ${node.urls.mqtt}`,
        `  meter          ${identity.meter.address}${node.context.meter ? ` (virtual, ${config.meter.speed}× time)` : ''}`,
        `  data           ${config.dataDir}`,
        'Stop with Ctrl-C; everything is kept in the data directory.',
        '',
      ]
      process.stdout.write(lines.join('\n'))
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) return
        stopping = true
        process.stderr.write(`zkmeter: ${signal}, stopping…\n`)
        node.stop().then(
          () => process.exit(0),
          (error) => {
            process.stderr.write(`zkmeter: error while stopping: ${String(error)}\n`)
            process.exit(1)
          },
        )
      }
      process.on('SIGINT', () => stop('SIGINT'))
      process.on('SIGTERM', () => stop('SIGTERM'))
      return
    }
    case 'status':
      print(await call(config, (signal) => api.status({ signal })))
      return
    case 'bills':
      print(await call(config, (signal) => api.bills({ signal })))
      return
    case 'pay': {
      if (!args[0]) throw new CliError('usage: zkmeter pay <bill-id> (see `zkmeter bills`)')
      const id = args[0]
      print(await call(config, (signal) => api.payBill({ params: { id }, signal })))
      return
    }
    case 'retry': {
      if (!args[0]) throw new CliError('usage: zkmeter retry <bill-id> (see `zkmeter bills` for failed ones)')
      const id = args[0]
      print(await call(config, (signal) => api.retryBill({ params: { id }, signal })))
      return
    }
    case 'grant': {
      if (!args[0] || !args[1]) throw new CliError('usage: zkmeter grant <bill-id> <x25519-public-key-hex>')
      const body = { billId: args[0], recipientPublicKey: args[1] }
      print(await call(config, (signal) => api.grant({ body, signal })))
      return
    }
    case 'export': {
      process.stdout.write(await call(config, (signal) => api.exportCsv({ query: range, signal })))
      return
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}\n${USAGE}`)
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message =
    error instanceof ZkMeterError || error instanceof ConfigError
      ? `${error.name}: ${error.message}`
      : `unexpected error: ${(error as Error)?.stack ?? String(error)}`
  process.stderr.write(`zkmeter: ${message}\n`)
  process.exit(1)
})
