/**
 * Household node configuration from three sources, later ones winning: built-in defaults, a JSON
 * config file, environment variables, command-line flags. Every value is validated here, once,
 * so the rest of the node can trust its config; every error names the source and the key.
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidInputError } from '#protocol/errors.ts'
import { checkTimeZone, InvalidTimeZoneError, systemTimeZone } from './history/calendar.ts'

export class ConfigError extends InvalidInputError {
  override name = 'ConfigError'
}

export type CircuitProfile = 'test' | 'production'

export interface NodeConfig {
  /** Where the vault, journal, keys and node state live. */
  dataDir: string
  /**
   * Plain HTTP on `host` (loopback only), and HTTPS with the node's own certificate on `listen`
   * when set: the home network reaches the node only over TLS (docs/security.md).
   */
  http: { host: string; port: number; listen?: string | undefined; httpsPort?: number }
  chain: {
    /** JSON-RPC of an external EVM chain; absent = run the embedded chain. */
    rpcUrl: string | undefined
    /** Where the embedded chain's JSON-RPC listens (for browser wallets). */
    embeddedPort: number
    /** The ledger contract on an external chain (the embedded chain deploys its own). */
    ledger: string | undefined
    /**
     * What the embedded dev chain bills this home in: Ether ('eth', the default) or its test
     * stablecoin ('token', Test USD, paid with an EIP-2612 permit). Fixed for a data directory once
     * the meter is registered. An external chain bills in whatever the utility set for the area.
     */
    asset?: 'eth' | 'token'
  }
  mqtt: {
    /** URL of an external broker (e.g. Mosquitto); absent = run the embedded broker. */
    url: string | undefined
    embeddedPort: number
    /** The embedded broker's TLS listener for meters on the LAN (docs/broker.md); absent = none. */
    tlsPort?: number | undefined
  }
  meter: {
    /** Run the virtual meter (the embedded default has no hardware). */
    simulated: boolean
    /** Simulated seconds per real second. */
    speed: number
    /** Billing period in days; 0 = calendar month. */
    periodDays: number
    /**
     * Simulated seconds between the virtual meter's live samples (a divisor of the 15-minute
     * interval). 60 by default; a long accelerated run (bench:soak) raises it, since at 10,000× a
     * live sample a minute is 15 of every 16 records and nobody watches them.
     */
    livePeriodSeconds?: number
    /**
     * Peak power (W) of a rooftop PV array behind the virtual meter: sunny and cloudy days,
     * seasons, export at midday (docs/virtual-meter.md). Absent = none, the home only imports.
     */
    pvPeakW?: number
  }
  /** A meter wired to the node by USB (docs/serial.md); absent port = none. */
  serial: {
    /** Serial device of the meter, e.g. /dev/ttyUSB0. */
    port: string | undefined
    baudRate: number
  }
  /** The neighbourhood mesh (docs/mesh.md): alerts, notices, backups, private aggregation. */
  mesh: {
    /** Join the area's mesh (default on). Off: Helia keeps a private libp2p host of its own. */
    enabled: boolean
    /** libp2p listen multiaddrs; default TCP and WebSockets on 127.0.0.1 (set a LAN address to meet neighbours). */
    listen: string[] | undefined
    /** Neighbours dialled at start and re-dialled while disconnected: multiaddrs ending in /p2p/<peer id>. */
    peers: string[]
    /** Find neighbours on the LAN with mDNS. */
    mdns: boolean
    /** Run the utility's aggregation observer (area totals + forecast); default: only where this node is the utility (dev chain). */
    observer: boolean | undefined
    /** ε per day of data the aggregation shares may spend (docs/aggregation.md §7); then the home stops contributing. */
    privacyBudget: number
  }
  /** The resident's billing privacy policy (docs/privacy.md). */
  billing: {
    /**
     * The shortest billing period the resident accepts, in days (0 = no policy). The node warns (an
     * anomaly at start) when the ledger would accept shorter bills than this.
     */
    minPeriodDays: number
  }
  circuit: CircuitProfile
  /**
   * The household's time zone (IANA name): where "today", a day, a week and a month of the Energy
   * view begin (docs/api.md). Default: this machine's zone.
   */
  timeZone: string
  /** Dev mode: insecure root key file, dev wallets; never for real data. */
  dev: boolean
}

export const DEFAULT_CONFIG: NodeConfig = {
  dataDir: './data',
  http: { host: '127.0.0.1', port: 8787, listen: undefined, httpsPort: 8443 },
  chain: { rpcUrl: undefined, embeddedPort: 8545, ledger: undefined, asset: 'eth' },
  mqtt: { url: undefined, embeddedPort: 1883, tlsPort: undefined },
  meter: { simulated: true, speed: 1440, periodDays: 1, livePeriodSeconds: 60 },
  serial: { port: undefined, baudRate: 9600 },
  mesh: {
    enabled: true,
    listen: undefined,
    peers: [],
    mdns: false,
    observer: undefined,
    privacyBudget: 20_300,
  },
  billing: { minPeriodDays: 28 },
  circuit: 'test',
  timeZone: systemTimeZone(),
  dev: true,
}

type Raw = Record<string, unknown>

interface KeySpec {
  path: string
  env: string
  flag: string
  parse: (value: unknown, where: string) => unknown
}

const text = (value: unknown, where: string) => {
  if (typeof value !== 'string' || value.length === 0)
    throw new ConfigError(`${where} must be a non-empty string`)
  return value
}
const port = (value: unknown, where: string) => {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${where} must be a TCP port number 0..65535, got ${JSON.stringify(value)}`)
  }
  return n
}
const positive = (value: unknown, where: string) => {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`${where} must be a positive number, got ${JSON.stringify(value)}`)
  }
  return n
}
const days = (value: unknown, where: string) => {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 31) {
    throw new ConfigError(`${where} must be a whole number of days 0..31 (0 = calendar month)`)
  }
  return n
}
const bool = (value: unknown, where: string) => {
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(value)}`)
}
const url = (protocols: string[]) => (value: unknown, where: string) => {
  const s = text(value, where)
  let parsed: URL
  try {
    parsed = new URL(s)
  } catch {
    throw new ConfigError(`${where} must be a URL, got ${JSON.stringify(s)}`)
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${where} must use ${protocols.join(' or ')}, got ${parsed.protocol}`)
  }
  return s
}
const address = (value: unknown, where: string) => {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    throw new ConfigError(`${where} must be a 0x-prefixed 20-byte contract address`)
  }
  return value.toLowerCase()
}
const ipAddress = (value: unknown, where: string) => {
  const s = text(value, where)
  if (isIP(s) === 0) {
    throw new ConfigError(
      `${where} must be an IP address (0.0.0.0 for every interface), got ${JSON.stringify(s)}`,
    )
  }
  return s
}
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/
/** Plain HTTP carries session cookies and readings in the clear: never beyond this machine. */
function checkPlainHttpIsLocal(http: NodeConfig['http']): void {
  if (!LOOPBACK.test(http.host)) {
    throw new ConfigError(
      `plain HTTP serves only this machine (--host 127.0.0.1 or ::1), got --host ${http.host}: to open the node to the home network use --listen ${http.host} (HTTPS with the node's own certificate, docs/security.md)`,
    )
  }
}
const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]
const baud = (value: unknown, where: string) => {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !BAUD_RATES.includes(n)) {
    throw new ConfigError(
      `${where} must be a standard baud rate (${BAUD_RATES.join(', ')}), got ${JSON.stringify(value)}`,
    )
  }
  return n
}
const timeZone = (value: unknown, where: string) => {
  try {
    return checkTimeZone(text(value, where))
  } catch (error) {
    if (error instanceof InvalidTimeZoneError) throw new ConfigError(`${where}: ${error.message}`)
    throw error
  }
}
const billingAsset = (value: unknown, where: string) => {
  if (value !== 'eth' && value !== 'token') {
    throw new ConfigError(
      `${where} must be "eth" (bills in Ether) or "token" (bills in the dev chain's test stablecoin), got ${JSON.stringify(value)}`,
    )
  }
  return value
}
const profile = (value: unknown, where: string) => {
  if (value !== 'test' && value !== 'production') {
    throw new ConfigError(`${where} must be "test" or "production", got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * A list of libp2p multiaddrs: a JSON array in the config file, comma-separated in a flag or the
 * environment. Each must parse as a multiaddr; `requirePeerId` for static peers (libp2p needs the
 * peer id to authenticate the neighbour it dials).
 */
const multiaddrs =
  (requirePeerId: boolean) =>
  (value: unknown, where: string): string[] => {
    const list =
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : value
    if (!Array.isArray(list) || list.some((a) => typeof a !== 'string')) {
      throw new ConfigError(`${where} must be a list of multiaddrs (comma-separated, or a JSON array)`)
    }
    for (const addr of list as string[]) {
      let ok: boolean
      try {
        ok = multiaddr(addr).getComponents().length > 0
      } catch {
        ok = false
      }
      if (!ok) throw new ConfigError(`${where}: ${JSON.stringify(addr)} is not a multiaddr`)
      if (requirePeerId && !/\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(addr)) {
        throw new ConfigError(`${where}: ${JSON.stringify(addr)} must end in /p2p/<peer id>`)
      }
    }
    return list as string[]
  }

const KEYS: KeySpec[] = [
  { path: 'dataDir', env: 'ZKMETER_DATA_DIR', flag: 'data-dir', parse: text },
  { path: 'http.host', env: 'ZKMETER_HTTP_HOST', flag: 'host', parse: text },
  { path: 'http.port', env: 'ZKMETER_HTTP_PORT', flag: 'port', parse: port },
  { path: 'http.listen', env: 'ZKMETER_LISTEN', flag: 'listen', parse: ipAddress },
  { path: 'http.httpsPort', env: 'ZKMETER_HTTPS_PORT', flag: 'https-port', parse: port },
  { path: 'chain.rpcUrl', env: 'RPC_URL', flag: 'rpc-url', parse: url(['http:', 'https:', 'ws:', 'wss:']) },
  { path: 'chain.embeddedPort', env: 'ZKMETER_CHAIN_PORT', flag: 'chain-port', parse: port },
  { path: 'chain.ledger', env: 'ZKMETER_LEDGER', flag: 'ledger', parse: address },
  { path: 'chain.asset', env: 'ZKMETER_ASSET', flag: 'asset', parse: billingAsset },
  {
    path: 'mqtt.url',
    env: 'ZKMETER_MQTT_URL',
    flag: 'mqtt-url',
    parse: url(['mqtt:', 'mqtts:', 'ws:', 'wss:']),
  },
  { path: 'mqtt.embeddedPort', env: 'ZKMETER_MQTT_PORT', flag: 'mqtt-port', parse: port },
  { path: 'mqtt.tlsPort', env: 'ZKMETER_MQTT_TLS_PORT', flag: 'mqtt-tls-port', parse: port },
  { path: 'meter.simulated', env: 'ZKMETER_SIMULATED_METER', flag: 'simulated-meter', parse: bool },
  { path: 'meter.speed', env: 'ZKMETER_METER_SPEED', flag: 'meter-speed', parse: positive },
  { path: 'meter.periodDays', env: 'ZKMETER_PERIOD_DAYS', flag: 'period-days', parse: days },
  {
    path: 'meter.livePeriodSeconds',
    env: 'ZKMETER_METER_LIVE_PERIOD',
    flag: 'meter-live-period',
    parse: (value, where) => {
      const n = typeof value === 'string' ? Number(value) : value
      // The meter samples on whole simulated seconds and closes an interval every 900 s.
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || 900 % n !== 0) {
        throw new ConfigError(
          `${where} must be a whole number of seconds dividing 900 (the interval), got ${JSON.stringify(value)}`,
        )
      }
      return n
    },
  },
  {
    path: 'meter.pvPeakW',
    env: 'ZKMETER_PV_PEAK_W',
    flag: 'pv-peak-w',
    parse: (value, where) => {
      const n = typeof value === 'string' ? Number(value) : value
      // The virtual meter's own bound (options.pv.peakW): far below a reading's 131 kW.
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000) {
        throw new ConfigError(
          `${where} must be a whole number of watts 1..100000, got ${JSON.stringify(value)}`,
        )
      }
      return n
    },
  },
  { path: 'serial.port', env: 'ZKMETER_SERIAL_PORT', flag: 'serial-port', parse: text },
  { path: 'serial.baudRate', env: 'ZKMETER_SERIAL_BAUD', flag: 'serial-baud', parse: baud },
  { path: 'mesh.enabled', env: 'ZKMETER_MESH', flag: 'mesh', parse: bool },
  { path: 'mesh.listen', env: 'ZKMETER_MESH_LISTEN', flag: 'mesh-listen', parse: multiaddrs(false) },
  { path: 'mesh.peers', env: 'ZKMETER_MESH_PEERS', flag: 'mesh-peers', parse: multiaddrs(true) },
  { path: 'mesh.mdns', env: 'ZKMETER_MESH_MDNS', flag: 'mesh-mdns', parse: bool },
  { path: 'mesh.observer', env: 'ZKMETER_MESH_OBSERVER', flag: 'mesh-observer', parse: bool },
  {
    path: 'billing.minPeriodDays',
    env: 'ZKMETER_MIN_BILLING_DAYS',
    flag: 'min-billing-days',
    parse: (value, where) => {
      const n = typeof value === 'string' ? Number(value) : value
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 31) {
        throw new ConfigError(`${where} must be a whole number of days 0..31 (0 = no minimum)`)
      }
      return n
    },
  },
  { path: 'mesh.privacyBudget', env: 'ZKMETER_PRIVACY_BUDGET', flag: 'privacy-budget', parse: positive },
  { path: 'circuit', env: 'ZKMETER_CIRCUIT', flag: 'circuit', parse: profile },
  { path: 'timeZone', env: 'ZKMETER_TIME_ZONE', flag: 'time-zone', parse: timeZone },
  { path: 'dev', env: 'ZKMETER_DEV', flag: 'dev', parse: bool },
]

/** Sets a dotted key of KEYS (every parent exists in DEFAULT_CONFIG) to its parsed value. */
function setPath(target: object, path: string, value: unknown): void {
  const parts = path.split('.')
  const last = parts.pop()
  let node: unknown = target
  for (const part of parts)
    node = typeof node === 'object' && node !== null ? Reflect.get(node, part) : undefined
  if (last === undefined || typeof node !== 'object' || node === null) {
    throw new ConfigError(`internal error: the config has no section for key "${path}"`)
  }
  Reflect.set(node, last, value)
}

function getPath(source: Raw, path: string): unknown {
  let node: unknown = source
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Raw)[part]
  }
  return node
}

/** Parses `--key value`, `--key=value` and bare `--flag` (true); returns flags and positionals. */
export function parseFlags(argv: readonly string[]): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>()
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1))
    } else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) {
      flags.set(arg.slice(2), argv[++i] as string)
    } else {
      flags.set(arg.slice(2), 'true')
    }
  }
  return { flags, positionals }
}

function flattenKeys(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => flattenKeys(v, prefix ? `${prefix}.${k}` : k))
}

export interface LoadConfigOptions {
  flags?: Map<string, string>
  env?: Record<string, string | undefined>
  /** Explicit config file; otherwise `<dataDir>/config.json` if it exists. */
  configFile?: string
}

export function loadConfig(options: LoadConfigOptions = {}): NodeConfig {
  const flags = options.flags ?? new Map()
  const env = options.env ?? {}
  const config: NodeConfig = structuredClone(DEFAULT_CONFIG)
  const knownFlags = new Set([...KEYS.map((k) => k.flag), 'config'])
  for (const flag of flags.keys()) {
    if (!knownFlags.has(flag)) {
      throw new ConfigError(
        `unknown option --${flag}; known options: ${[...knownFlags].map((f) => `--${f}`).join(', ')}`,
      )
    }
  }

  const fileFlag = flags.get('config') ?? env.ZKMETER_CONFIG ?? options.configFile
  const dataDirHint = flags.get('data-dir') ?? env.ZKMETER_DATA_DIR ?? DEFAULT_CONFIG.dataDir
  const file = fileFlag ?? resolve(dataDirHint, 'config.json')
  let fromFile: Raw = {}
  try {
    fromFile = JSON.parse(readFileSync(file, 'utf8')) as Raw
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    if (!(missing && fileFlag === undefined)) {
      throw new ConfigError(
        missing
          ? `config file ${file} does not exist`
          : `config file ${file} is not valid JSON: ${String(error)}`,
      )
    }
  }
  if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`)
  }
  const known = new Set(KEYS.map((k) => k.path))
  for (const key of flattenKeys(fromFile)) {
    if (key && !known.has(key)) throw new ConfigError(`config file ${file}: unknown key "${key}"`)
  }

  for (const spec of KEYS) {
    const sources: [unknown, string][] = [
      [getPath(fromFile, spec.path), `config file key "${spec.path}"`],
      [env[spec.env], `environment variable ${spec.env}`],
      [flags.get(spec.flag), `option --${spec.flag}`],
    ]
    for (const [value, where] of sources) {
      if (value !== undefined && value !== '') setPath(config, spec.path, spec.parse(value, where))
    }
  }
  checkPlainHttpIsLocal(config.http)
  if (config.chain.rpcUrl !== undefined && config.dev) {
    // An external chain is real money: the dev conveniences (funded dev wallets) do not exist there.
    config.dev = flags.get('dev') === 'true' || env.ZKMETER_DEV === 'true'
  }
  return config
}
