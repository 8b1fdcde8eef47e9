/** createVirtualMeter options and their validation: every problem is a named, actionable error. */

import type { Eip712Domain } from '#protocol/eip712.ts'
import { maxPeriodDays } from '#protocol/meter/period.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import type { SimClock } from './clock.ts'
import { InvalidMeterOptionError } from './errors.ts'

export interface VirtualMeterOptions {
  /** The meter's secp256k1 private key (32 bytes); its address is the meter's identity. */
  privateKey: Uint8Array
  /** Secret shared with the household node at provisioning (32 bytes): keys the period salt. */
  pairingKey: Uint8Array
  /** EIP-712 domain: chain id and ledger contract the meter was provisioned with. */
  domain: Eip712Domain
  /** Broker to publish to, e.g. mqtt://127.0.0.1:1883. */
  mqttUrl: string
  /** The meter's broker password; its user name is its topic name (docs/broker.md). */
  mqttPassword?: string
  /** CA certificate(s) to trust for an mqtts:// broker (PEM); default: the system's. */
  mqttCa?: string
  /** Simulated time: createScaledClock() for a running system, createManualClock() for tests. */
  clock: SimClock
  /** Seed of the household model: the same seed gives the same household. Default 1. */
  seed?: number
  /** Readings per committed period, the circuit size N. Default 2976 (31 × 96). */
  periodSize?: number
  /** Tariff slots per UTC day; INTERVAL = 86400 / slots seconds. Default 96 (15 min). */
  slots?: number
  /** Period length in days, 0 = calendar month (capped by N). Default 0. */
  periodDays?: number
  /**
   * Start of the first billing period: the provisioning point registered on-chain. An interval
   * boundary at or after the clock's time at start(). Default: the first boundary at or after it.
   */
  firstPeriodStart?: number
  /** Cumulative counter (Wh) when the meter starts. Default 0. */
  initialEnergyWh?: number
  /** Cumulative export counter (OBIS 2.8.0, Wh) when the meter starts. Default 0. */
  initialExportedWh?: number
  /**
   * A rooftop PV array behind the meter (src/meter/pv.ts): sunny and cloudy days, seasons by day of
   * year; on a sunny day the meter exports at midday. Default: none (the household only imports).
   */
  pv?: PvConfig
  /** First sequence number to use (resume after a restart). Default 0. */
  initialSeq?: number
  /** Simulated seconds between live samples (kind 0); a divisor of INTERVAL. Default 60. */
  livePeriodSeconds?: number
  /** Simulated seconds between tele/<meter>/STATE messages. Default 300. */
  statePeriodSeconds?: number
  /** Records kept for Resend until acknowledged. Default 4096. */
  bufferCapacity?: number
  /** Integration step of the household model, simulated seconds (divides livePeriodSeconds). Default 10. */
  stepSeconds?: number
  /** Local time of the household relative to UTC (load peaks follow local hours). Default 0. */
  utcOffsetMinutes?: number
  /**
   * File holding the meter's non-volatile state (counter, seq, open period, relays). When it
   * exists, start() resumes from it and the counter/seq/period options are ignored. Without it
   * the meter forgets everything on stop.
   */
  stateFile?: string
  /** Longest gap (simulated seconds) start() replays after a restart. Default 35 days. */
  maxCatchUpSeconds?: number
  /** How long start() waits for the broker. Default 5000 ms. */
  connectTimeoutMs?: number
  /** Receives notable events (ignored commands, resend misses, period closes); never keys. Default: silent. */
  log?: Logger
}

export interface PvConfig {
  /** Nameplate peak power of the array, W (1 … 100,000). */
  peakW: number
  /** Latitude of the roof in degrees (−66 … 66; default 48). */
  latitudeDeg?: number
}

export type ResolvedOptions = Required<
  Omit<VirtualMeterOptions, 'firstPeriodStart' | 'stateFile' | 'mqttPassword' | 'mqttCa' | 'pv'>
> & {
  pv: Required<PvConfig> | undefined
  mqttPassword: string | undefined
  mqttCa: string | undefined
  firstPeriodStart: number | undefined
  stateFile: string | undefined
  intervalSeconds: number
}

function bytes(value: unknown, option: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new InvalidMeterOptionError(option, 'must be 32 bytes (a Uint8Array)')
  }
  return value
}

function integer(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidMeterOptionError(option, `must be an integer in [${min}, ${max}], got ${String(value)}`)
  }
  return value
}

function pvConfig(value: unknown): Required<PvConfig> | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMeterOptionError('pv', 'must be { peakW, latitudeDeg? }')
  }
  const extra = Object.keys(value).find((k) => k !== 'peakW' && k !== 'latitudeDeg')
  if (extra !== undefined) throw new InvalidMeterOptionError(`pv.${extra}`, 'is not a PV option')
  const pv = value as PvConfig
  // 100 kW keeps import and export together far below a reading's 15-bit bound (131 kW).
  const peakW = integer(pv.peakW, 'pv.peakW', 1, 100_000)
  const latitudeDeg = pv.latitudeDeg ?? 48
  if (typeof latitudeDeg !== 'number' || !Number.isFinite(latitudeDeg) || Math.abs(latitudeDeg) > 66) {
    throw new InvalidMeterOptionError(
      'pv.latitudeDeg',
      `must be a number of degrees in [-66, 66], got ${String(latitudeDeg)}`,
    )
  }
  return { peakW, latitudeDeg }
}

function stateFile(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidMeterOptionError('stateFile', 'must be a file path')
  }
  return value
}

export function resolveOptions(options: VirtualMeterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidMeterOptionError('options', 'must be an object')
  }
  const privateKey = bytes(options.privateKey, 'privateKey')
  const pairingKey = bytes(options.pairingKey, 'pairingKey')
  const domain = options.domain
  if (
    typeof domain !== 'object' ||
    domain === null ||
    typeof domain.chainId !== 'bigint' ||
    domain.chainId <= 0n ||
    typeof domain.verifyingContract !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(domain.verifyingContract)
  ) {
    throw new InvalidMeterOptionError(
      'domain',
      'must be { chainId: bigint > 0, verifyingContract: 0x + 40 hex }',
    )
  }
  if (typeof options.mqttUrl !== 'string' || options.mqttUrl.length === 0) {
    throw new InvalidMeterOptionError('mqttUrl', 'must be a broker URL such as mqtt://127.0.0.1:1883')
  }
  const clock = options.clock
  if (typeof clock?.now !== 'function' || typeof clock.subscribe !== 'function') {
    throw new InvalidMeterOptionError('clock', 'must come from createScaledClock() or createManualClock()')
  }
  const slots = integer(options.slots ?? 96, 'slots', 1, 86_400)
  if (86_400 % slots !== 0) throw new InvalidMeterOptionError('slots', `must divide 86400, got ${slots}`)
  const intervalSeconds = 86_400 / slots
  const periodSize = integer(options.periodSize ?? 2976, 'periodSize', slots, 31 * slots)
  const geometry = { intervalSeconds, n: periodSize }
  const periodDays = integer(options.periodDays ?? 0, 'periodDays', 0, maxPeriodDays(geometry))
  const stepSeconds = integer(options.stepSeconds ?? 10, 'stepSeconds', 1, intervalSeconds)
  const livePeriodSeconds = integer(options.livePeriodSeconds ?? 60, 'livePeriodSeconds', 1, intervalSeconds)
  if (intervalSeconds % livePeriodSeconds !== 0) {
    throw new InvalidMeterOptionError('livePeriodSeconds', `must divide the interval (${intervalSeconds} s)`)
  }
  const firstPeriodStart =
    options.firstPeriodStart === undefined
      ? undefined
      : integer(options.firstPeriodStart, 'firstPeriodStart', 0, Number.MAX_SAFE_INTEGER)
  if (firstPeriodStart !== undefined && firstPeriodStart % intervalSeconds !== 0) {
    throw new InvalidMeterOptionError(
      'firstPeriodStart',
      `must be a multiple of the interval (${intervalSeconds} s)`,
    )
  }
  return {
    privateKey,
    pairingKey,
    domain,
    mqttUrl: options.mqttUrl,
    mqttPassword: options.mqttPassword,
    mqttCa: options.mqttCa,
    clock,
    seed: integer(options.seed ?? 1, 'seed', 0, 2 ** 32 - 1),
    periodSize,
    slots,
    intervalSeconds,
    periodDays,
    firstPeriodStart,
    initialEnergyWh: integer(options.initialEnergyWh ?? 0, 'initialEnergyWh', 0, 2 ** 52),
    initialExportedWh: integer(options.initialExportedWh ?? 0, 'initialExportedWh', 0, 2 ** 52),
    pv: pvConfig(options.pv),
    initialSeq: integer(options.initialSeq ?? 0, 'initialSeq', 0, 2 ** 52),
    livePeriodSeconds,
    statePeriodSeconds: integer(options.statePeriodSeconds ?? 300, 'statePeriodSeconds', 1, 86_400),
    bufferCapacity: integer(options.bufferCapacity ?? 4096, 'bufferCapacity', 1, 1_000_000),
    stepSeconds,
    utcOffsetMinutes: integer(options.utcOffsetMinutes ?? 0, 'utcOffsetMinutes', -14 * 60, 14 * 60),
    stateFile: stateFile(options.stateFile),
    maxCatchUpSeconds: integer(
      options.maxCatchUpSeconds ?? 35 * 86_400,
      'maxCatchUpSeconds',
      0,
      366 * 86_400,
    ),
    connectTimeoutMs: integer(options.connectTimeoutMs ?? 5000, 'connectTimeoutMs', 1, 600_000),
    log: options.log ?? silentLogger,
  }
}
