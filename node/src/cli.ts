#!/usr/bin/env node
import { type ApiClient, ApiError, createApiClient } from '#protocol/api/client.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { startHouseholdNode } from './app/node.ts'
import { readAdminToken } from './auth/admin-token.ts'
import { AUTH_USAGE, runAuthCommand } from './auth/cli.ts'
import { pairingText } from './auth/terminal.ts'
import { cliErrorLine } from './cli-message.ts'
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
 *   zkmeter cert [--new-ca]      the household CA a phone installs, and its fingerprint
 *   zkmeter pair | tokens …      pair a phone; bearer tokens (node/src/auth/cli.ts)
 *
 * Commands that ask the running node send its admin token (`<data-dir>/auth/admin-token`, written
 * at every start), or ZKMETER_TOKEN when set (a node on another machine, a read-only token).
 *
 * Options are the node's configuration (docs/cli.md): --data-dir, --port, --rpc-url, --mqtt-url, …
 * A passphrase comes from ZKMETER_PASSPHRASE (never a flag: flags show up in process lists).
 */
import { loadConfig, type NodeConfig, parseFlags } from './config.ts'
import { initHousehold, NotInitializedError, openHousehold } from './identity/identity.ts'
import { BROKER_COMMANDS, runBrokerCommand } from './mqtt/commands.ts'
import { certificateReport, httpsSummary } from './tls/cli.ts'
import { runUtility } from './utility/cli.ts'

const USAGE = `usage: zkmeter <init|start|status|bills|pay|retry|grant|export|cert|pair|tokens|utility|ceremony|verify-setup> [options]
  init                     create household keys (dev mode unless ZKMETER_DEV=false; passphrase from ZKMETER_PASSPHRASE)
  start                    run the household node (creates dev keys on first start in dev mode)
  status                   status of the running node
  bills                    bills of the running node
  pay <bill-id>            pay a verified bill with the dev wallet (embedded dev chain only)
  retry <bill-id>          retry a failed bill (re-proves it when the proof cannot be reused)
  grant <bill-id> <key>    disclose one period to the holder of an X25519 public key (0x + 64 hex)
  export [--from t --to t] interval readings as CSV on stdout
  cert [--new-ca]          the household CA to install on a phone, its fingerprint, the server certificate
${AUTH_USAGE}
  utility <command>        the utility's side on a chain: deploy, register, tariff, bills, … (utility --help)
  meter add <name>         a meter's MQTT login (user = its topic name), printed once (docs/broker.md)
  mqtt-user add|list|remove   MQTT logins: --role node|meter|homeassistant|tool [--commands POWER2,…]
  broker-config --out DIR  mosquitto.conf, password and ACL files for an external Mosquitto 2
  ceremony <command>       the trusted-setup ceremony: init, contribute, verify, finalize, phase1 … (ceremony help)
  verify-setup             check the ledger's trusted setup against the circuit build (verify-setup --help)
options: --data-dir DIR --host H --port P --listen ADDR --https-port P --rpc-url URL --ledger ADDR --chain-port P --mqtt-url URL
         --mqtt-port P --mqtt-tls-port P (meters on the LAN) --simulated-meter BOOL --meter-speed X --meter-live-period S --pv-peak-w W --period-days D --circuit test|production
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

/**
 * The running node's API (protocol/api/client.ts) with ZKMETER_TOKEN or the node's admin token;
 * every call may take up to two minutes.
 */
async function nodeApi(config: NodeConfig): Promise<ApiClient> {
  const token = process.env.ZKMETER_TOKEN || (await readAdminToken(config.dataDir))
  return createApiClient({ baseUrl: apiBase(config), ...(token ? { token } : {}) })
}

/** Runs one API call, turning the client's errors into the CLI's one-line messages. */
async function call<T>(
  config: NodeConfig,
  request: (signal: AbortSignal) => Promise<T>,
  options: { raw?: boolean } = {},
): Promise<T> {
  try {
    return await request(AbortSignal.timeout(120_000))
  } catch (error) {
    if (!(error instanceof ApiError) || options.raw) throw error
    if (error.status === 0) {
      throw new CliError(`no household node answers at ${apiBase(config)}: start it with \`npm start\``, {
        cause: error.cause,
      })
    }
    if (error.status === 401) {
      throw new CliError(
        `the node at ${apiBase(config)} refused this command's credential: run it on the node's machine with the node's --data-dir (its admin token is in <data-dir>/auth/admin-token), or set ZKMETER_TOKEN to a token from \`zkmeter tokens create\``,
      )
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
  if ((BROKER_COMMANDS as readonly string[]).includes(command))
    return void print(await runBrokerCommand(command, args, flags, process.env))
  // Command arguments, not node configuration.
  const range: { from?: string; to?: string } = {}
  for (const key of ['from', 'to'] as const) {
    const v = flags.get(key)
    if (v !== undefined) range[key] = v
    flags.delete(key)
  }
  const newCa = flags.get('new-ca') === 'true'
  flags.delete('new-ca')
  const authFlags = new Map<string, string>()
  for (const key of ['role', 'name', 'qr']) {
    const v = flags.get(key)
    if (v !== undefined) authFlags.set(key, v)
    flags.delete(key)
  }
  const config = loadConfig({ flags, env: process.env })
  const api = await nodeApi(config)
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
      // The last line of "never crash the node": a failure nothing awaited (a state file written in
      // the background while the disk is full) is logged with its stack and the node goes on, as each
      // service retries its own work. It took the whole node down under bench:chaos (seed 20261207,
      // disk full for 2.6 s). Tests run nodes in-process without this, so the runner still reports
      // such a rejection as a bug.
      process.on('unhandledRejection', (reason) => {
        node.context.log.error('a background operation failed and nothing handled it; the node goes on', {
          error: reason,
        })
      })
      const lines = [
        '',
        'zkmeter household node is running',
        `  web UI + API   ${node.urls.api}   (GET /api/status)`,
        ...(node.urls.https
          ? [
              `  on the network ${node.urls.https.urls.join('   ')}   (HTTPS)`,
              `  CA fingerprint ${node.urls.https.fingerprint256}   (SHA-256 of ${node.urls.https.caCertPath}: \`zkmeter cert\`)`,
            ]
          : []),
        `  chain JSON-RPC ${node.urls.rpc}   (chain id ${node.context.chainId}, ledger ${node.context.ledger.address})`,
        `  MQTT broker    ${node.urls.mqtt}`,
        `  meter          ${identity.meter.address}${node.context.meter ? ` (virtual, ${config.meter.speed}× time)` : ''}`,
        `  data           ${config.dataDir}`,
        'Stop with Ctrl-C; everything is kept in the data directory.',
        '',
      ]
      process.stdout.write(lines.join('\n'))
      // The first device pairs with this code (printed here only, never logged): over HTTPS when
      // the node listens on the home network (the code names that URL; a phone scans the QR), else
      // on loopback. `zkmeter pair` prints the same link.
      process.stdout.write(
        `\n${pairingText(node.urls.api, node.context.auth.issuePairingCode('resident'))}\n`,
      )
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
      print({
        ...(await call(config, (signal) => api.status({ signal }))),
        https: await httpsSummary(config),
      })
      return
    case 'cert':
      print(await certificateReport(config, { newCa }))
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
    case 'pair':
    case 'tokens':
      print(
        await runAuthCommand({
          command,
          args,
          flags: authFlags,
          api,
          apiUrl: apiBase(config),
          call: (request, options) => call(config, request, options),
        }),
      )
      return
    case 'export': {
      process.stdout.write(await call(config, (signal) => api.exportCsv({ query: range, signal })))
      return
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}\n${USAGE}`)
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(cliErrorLine(error))
  process.exit(1)
})
