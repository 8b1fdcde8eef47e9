/**
 * MQTT payloads a meter publishes (docs/protocol.md §7): the Tasmota-style SENSOR record with its
 * signed `ZK` block, the signed PERIOD close, the signed GONE notice (records the meter no longer
 * holds), and the unsigned STATE report's open-period fields. Encoders are shared by the virtual meter and the
 * tests; parsers are the node's boundary check, so they are strict: a size cap before JSON.parse,
 * exact key sets, integer ranges per the EIP-712 field types, and every failure a named error with
 * the offending field path — never a raw SyntaxError/TypeError escaping into the ingestor.
 */
import { COMMITMENT_VERSION, FIELD_ORDER, MAX_READING } from './commitment.ts'
import {
  type BillingPeriodMessage,
  billingPeriodDigest,
  type Eip712Domain,
  type ExportPeriodMessage,
  exportPeriodDigest,
  InvalidSignatureError,
  type MeterRecordMessage,
  meterRecordDigest,
  type RecordsGoneMessage,
  recordsGoneDigest,
  recoverSigner,
  signDigest,
} from './eip712.ts'
import { InvalidInputError } from './errors.ts'
import { parseMeterTopic } from './topics.ts'

/** Version of the GONE payload. */
export const PAYLOAD_VERSION = 1
/**
 * Version of the SENSOR payload's `ZK` block: 2 since records carry the export counter
 * (`exportedWh`, `intervalExportedWh`, protocol §6); a version-1 record is refused (its signature
 * covers a different MeterRecord type).
 */
export const SENSOR_PAYLOAD_VERSION = 2
/**
 * The PERIOD payload's `v` is the commitment version (protocol §3): a period committed in another
 * form cannot be billed by this circuit, so it is refused when it arrives, not at proving.
 */
export const PERIOD_PAYLOAD_VERSION = COMMITMENT_VERSION
/** A real record is ~600 bytes; 4 KiB leaves room for display fields and rejects floods early. */
export const MAX_PAYLOAD_BYTES = 4096
export const DEFAULT_INTERVAL_SECONDS = 900
/** A period spans at most 31 calendar days from its UTC-midnight anchor (protocol §2, §7). */
export const MAX_PERIOD_SECONDS = 31 * 86_400
const MAX_SAFE = Number.MAX_SAFE_INTEGER

export type Address = `0x${string}`
export type Hex = `0x${string}`

/** A MeterRecord as parsed: every field is a JS number (all are below 2^53 by the schema). */
export type MeterRecord = { [K in keyof MeterRecordMessage]: number }
/** A BillingPeriod as parsed: counters and times are numbers, the commitment a bigint below r. */
export interface BillingPeriod {
  meter: Address
  periodStart: number
  periodEnd: number
  startCounter: number
  endCounter: number
  commitment: bigint
}

export interface SensorPayload {
  meter: Address
  record: MeterRecord
  signature: Hex
}

/**
 * The export half of a close (protocol §6 ExportPeriod): the export counter at the period's
 * boundaries and the commitment to its exported readings, signed as its own message.
 */
export interface ExportClose {
  startCounter: number
  endCounter: number
  commitment: bigint
  signature: Hex
}

export interface PeriodPayload {
  meter: Address
  period: BillingPeriod
  signature: Hex
  export: ExportClose
}

/** The meter's signed notice that records fromSeq..toSeq are gone (protocol §6, §7). */
export interface RecordsGone {
  meter: Address
  fromSeq: number
  toSeq: number
}

export interface GonePayload {
  meter: Address
  gone: RecordsGone
  signature: Hex
}

/** What the node reads from tele/<meter>/STATE: the meter's open billing period (unsigned: a hint). */
export interface StatePayload {
  meter: Address
  /** The meter's clock at the report (unix seconds). */
  time: number
  /** Start of the period the meter has open (unix seconds, on an interval boundary). */
  periodStart: number
  /** The meter's PeriodDays setting (0 = calendar month). */
  periodDays: number
}

export interface ParseOptions {
  /** Seconds per interval (86400 / SLOTS); interval records must end on a multiple of it. */
  intervalSeconds?: number
}

export class MalformedPayloadError extends InvalidInputError {
  override name = 'MalformedPayloadError'
}
export class PayloadTooLargeError extends InvalidInputError {
  override name = 'PayloadTooLargeError'
}
/** The payload is JSON but does not match the schema; `path` names the offending field. */
export class SchemaError extends InvalidInputError {
  override name = 'SchemaError'
  readonly path: string
  constructor(path: string, problem: string) {
    super(`payload field ${path} ${problem}`, { details: { path } })
    this.path = path
  }
}
/**
 * A record whose counters cannot describe one interval of one supply: an interval's exported Wh
 * above the export counter itself, or more energy through the line in one interval (both
 * directions together) than the 15-bit reading bound allows (protocol §6).
 */
export class ImpossibleIntervalError extends SchemaError {
  override name = 'ImpossibleIntervalError'
}
/** A well-formed signature that was made by some other key than the meter's. */
export class WrongSignerError extends InvalidSignatureError {
  override name = 'WrongSignerError'
}

// ---------------------------------------------------------------- schema helpers

type Json = Record<string, unknown>

function decodeJson(payload: Uint8Array | string): unknown {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload?.byteLength
  if (typeof size !== 'number') throw new MalformedPayloadError('a payload must be bytes or a string')
  if (size > MAX_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(`payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`, {
      details: { size, limit: MAX_PAYLOAD_BYTES },
    })
  }
  let text: string
  try {
    text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload)
  } catch (cause) {
    throw new MalformedPayloadError('payload is not valid UTF-8', { cause })
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new MalformedPayloadError('payload is not valid JSON', { cause })
  }
}

function object(
  value: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SchemaError(path, 'must be a JSON object')
  }
  const json = value as Json
  for (const key of Object.keys(json)) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw new SchemaError(`${path}.${key}`, 'is not a known field (remove it)')
    }
  }
  for (const key of required) {
    if (!(key in json)) throw new SchemaError(`${path}.${key}`, 'is missing')
  }
  return json
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40))
  if (typeof value === 'object')
    return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}

function int(json: Json, key: string, path: string, min: number, max: number): number {
  const value = json[key]
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new SchemaError(`${path}.${key}`, `must be an integer, got ${describe(value)}`)
  }
  if (value < min || value > max) {
    throw new SchemaError(`${path}.${key}`, `must be in [${min}, ${max}], got ${value}`)
  }
  // JSON "-0" parses to -0; normalise so the signed integer is the one the meter meant.
  return value === 0 ? 0 : value
}

function hex(json: Json, key: string, path: string, digits: number): Hex {
  const value = json[key]
  if (typeof value !== 'string' || value.length !== digits + 2 || !/^0x[0-9a-fA-F]*$/.test(value)) {
    throw new SchemaError(`${path}.${key}`, `must be 0x followed by ${digits} hex digits`)
  }
  return value.toLowerCase() as Hex
}

function finite(json: Json, key: string, path: string): void {
  const value = json[key]
  if (key in json && (typeof value !== 'number' || !Number.isFinite(value))) {
    throw new SchemaError(`${path}.${key}`, 'must be a finite number')
  }
}

/** Range of each MeterRecord field: the EIP-712 type, tightened where protocol §6 says so. */
const RECORD_RANGES: { readonly [K in keyof MeterRecord]: readonly [number, number] } = {
  seq: [0, MAX_SAFE],
  kind: [0, 1],
  time: [0, MAX_SAFE],
  energyWh: [0, MAX_SAFE],
  intervalWh: [0, 0xffff_ffff],
  exportedWh: [0, MAX_SAFE],
  intervalExportedWh: [0, 0xffff_ffff],
  powerW: [0, 0xffff_ffff],
  voltageMv: [0, 0xffff_ffff],
  currentMa: [0, 0xffff_ffff],
  powerFactor: [0, 1000],
  temperatureCenti: [-0x8000_0000, 0x7fff_ffff],
  light: [0, 1000],
  gas: [0, 1000],
  water: [0, 1000],
  hazards: [0, 7],
  relays: [0, 0xff],
  fanSpeed: [0, 3],
}
export const RECORD_KEYS = Object.keys(RECORD_RANGES) as readonly (keyof MeterRecord)[]

function intervalOption(options: ParseOptions | undefined): number {
  const interval = options?.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS
  if (!Number.isSafeInteger(interval) || interval <= 0 || 86_400 % interval !== 0) {
    throw new InvalidInputError(`intervalSeconds must divide 86400 (86400 / SLOTS), got ${interval}`)
  }
  return interval
}

/** Checks a record object against the schema; returns a normalised copy of numbers. */
export function validateRecord(value: unknown, options?: ParseOptions, path = 'ZK'): MeterRecord {
  const interval = intervalOption(options)
  const json = object(value, path, RECORD_KEYS)
  const record = {} as MeterRecord
  for (const key of RECORD_KEYS) {
    const [min, max] = RECORD_RANGES[key]
    const raw = json[key]
    record[key] = int(
      { [key]: typeof raw === 'bigint' && raw <= BigInt(MAX_SAFE) ? Number(raw) : raw },
      key,
      path,
      min,
      max,
    )
  }
  if (record.kind === 1 && record.time % interval !== 0) {
    throw new SchemaError(
      `${path}.time`,
      `of an interval record (kind 1) must be a multiple of ${interval} s`,
    )
  }
  checkPossible(record, path)
  return record
}

/**
 * The physical rules of protocol §6 for two counters. The export counter counts every exported Wh,
 * so the Wh exported in the current interval cannot exceed it. A supply carries energy one way at
 * a time, and the reading bound (2^15 − 1 Wh a 15-minute interval, 131 kW) is the line's limit in
 * either direction, so an interval record's imported and exported Wh together stay within it: an
 * interval can hold both (a cloud over the panels at noon), never more than the line can carry.
 */
function checkPossible(record: MeterRecord, path: string): void {
  if (record.intervalExportedWh > record.exportedWh) {
    throw new ImpossibleIntervalError(
      `${path}.intervalExportedWh`,
      `(${record.intervalExportedWh} Wh) exceeds the export counter exportedWh (${record.exportedWh} Wh)`,
    )
  }
  if (record.kind === 1 && record.intervalWh + record.intervalExportedWh > MAX_READING) {
    throw new ImpossibleIntervalError(
      `${path}.intervalExportedWh`,
      `plus intervalWh is ${record.intervalWh + record.intervalExportedWh} Wh in one interval; a supply carries at most ${MAX_READING} Wh an interval in both directions together`,
    )
  }
}

// ---------------------------------------------------------------- SENSOR

function displayFields(r: MeterRecord): Json {
  // Date covers ±8.64e12 s; a later (absurd but in-schema) time simply has no display Time.
  const date = new Date(r.time * 1000)
  return {
    ...(Number.isNaN(date.getTime()) ? {} : { Time: date.toISOString().replace(/\.\d{3}Z$/, 'Z') }),
    ENERGY: {
      Total: r.energyWh / 1000,
      ExportActive: r.exportedWh / 1000,
      Power: r.powerW,
      Voltage: r.voltageMv / 1000,
      Current: r.currentMa / 1000,
      Factor: r.powerFactor / 1000,
    },
    LM35: { Temperature: r.temperatureCenti / 100 },
    LDR: { Light: r.light },
    MQ6: { Gas: r.gas },
    WATER: { Level: r.water },
    HAZARD: { Flame: r.hazards & 1, Gas: (r.hazards >> 1) & 1, Water: (r.hazards >> 2) & 1 },
  }
}

/** The JSON text a meter publishes on tele/<meter>/SENSOR for a signed record. */
export function encodeSensorPayload(record: MeterRecordMessage | MeterRecord, signature: string): string {
  const r = validateRecord(record, { intervalSeconds: 1 }, 'record')
  const sig = hex({ sig: signature }, 'sig', 'signature', 130)
  const zk: Json = { v: SENSOR_PAYLOAD_VERSION }
  for (const key of RECORD_KEYS) zk[key] = r[key]
  zk.sig = sig
  return JSON.stringify({ ...displayFields(r), ZK: zk })
}

const DISPLAY_SCHEMA: Readonly<Record<string, readonly string[]>> = {
  ENERGY: ['Total', 'ExportActive', 'Power', 'Voltage', 'Current', 'Factor'],
  LM35: ['Temperature'],
  LDR: ['Light'],
  MQ6: ['Gas'],
  WATER: ['Level'],
  HAZARD: ['Flame', 'Gas', 'Water'],
}

/** Parses and schema-checks a SENSOR message. The signature is checked separately (it needs the domain). */
export function parseSensorPayload(
  topic: string,
  payload: Uint8Array | string,
  options?: ParseOptions,
): SensorPayload {
  const meter = parseMeterTopic(topic, 'tele', 'SENSOR')
  const root = object(decodeJson(payload), '$', ['ZK'], ['Time', ...Object.keys(DISPLAY_SCHEMA)])
  // Display fields are for humans and Home Assistant, never for billing: shape-checked only.
  if ('Time' in root && (typeof root.Time !== 'string' || root.Time.length > 40)) {
    throw new SchemaError('$.Time', 'must be a short ISO-8601 string')
  }
  for (const [group, keys] of Object.entries(DISPLAY_SCHEMA)) {
    if (!(group in root)) continue
    const json = object(root[group], `$.${group}`, [], keys)
    for (const key of keys) finite(json, key, `$.${group}`)
  }
  const zk = object(root.ZK, '$.ZK', ['v', ...RECORD_KEYS, 'sig'])
  if (zk.v !== SENSOR_PAYLOAD_VERSION) {
    throw new SchemaError(
      '$.ZK.v',
      `must be ${SENSOR_PAYLOAD_VERSION} (records with the export counter, protocol §6): a meter on an older firmware signs a record the node cannot check`,
    )
  }
  const signature = hex(zk, 'sig', '$.ZK', 130)
  const fields: Json = {}
  for (const key of RECORD_KEYS) fields[key] = zk[key]
  return { meter, record: validateRecord(fields, options, '$.ZK'), signature }
}

// ---------------------------------------------------------------- PERIOD

function commitmentField(json: Json, path: string): bigint {
  const c = json.commitment
  const commitment = typeof c === 'bigint' ? c : BigInt(hex(json, 'commitment', path, 64))
  if (commitment < 0n || commitment >= FIELD_ORDER) {
    throw new SchemaError(`${path}.commitment`, 'must be below the BN254 scalar field order')
  }
  return commitment
}

const EXPORT_KEYS = ['startCounter', 'endCounter', 'commitment', 'sig'] as const

/** The export block's counters and commitment (its signature is read by the caller). */
function validateExport(value: unknown, path: string): Omit<ExportClose, 'signature'> {
  const json = object(value, path, EXPORT_KEYS)
  const startCounter = int(json, 'startCounter', path, 0, MAX_SAFE)
  const endCounter = int(json, 'endCounter', path, 0, MAX_SAFE)
  const commitment = commitmentField(json, path)
  if (endCounter < startCounter) {
    throw new SchemaError(
      `${path}.endCounter`,
      'must not be below startCounter (the export counter never goes back)',
    )
  }
  return { startCounter, endCounter, commitment }
}

const hex32 = (value: bigint): Hex => `0x${value.toString(16).padStart(64, '0')}`

/** The ExportPeriod message a close's export block signs: the period's meter and boundaries with it. */
export function exportPeriodMessage(
  period: BillingPeriod,
  close: Omit<ExportClose, 'signature'>,
): ExportPeriodMessage {
  return {
    meter: period.meter,
    periodStart: period.periodStart,
    periodEnd: period.periodEnd,
    startCounter: close.startCounter,
    endCounter: close.endCounter,
    commitment: close.commitment,
  }
}

function validatePeriod(value: unknown, path: string, options: ParseOptions | undefined): BillingPeriod {
  const interval = intervalOption(options)
  const json = value as Json
  const meter = hex(json, 'meter', path, 40) as Address
  const periodStart = int(json, 'periodStart', path, 0, MAX_SAFE)
  const periodEnd = int(json, 'periodEnd', path, 0, MAX_SAFE)
  const startCounter = int(json, 'startCounter', path, 0, MAX_SAFE)
  const endCounter = int(json, 'endCounter', path, 0, MAX_SAFE)
  const commitment = commitmentField(json, path)
  if (periodStart % interval !== 0)
    throw new SchemaError(`${path}.periodStart`, `must be a multiple of ${interval} s`)
  if (periodEnd % interval !== 0)
    throw new SchemaError(`${path}.periodEnd`, `must be a multiple of ${interval} s`)
  if (periodEnd <= periodStart) throw new SchemaError(`${path}.periodEnd`, 'must be after periodStart')
  if (periodEnd - (periodStart - (periodStart % 86_400)) > MAX_PERIOD_SECONDS) {
    throw new SchemaError(
      `${path}.periodEnd`,
      'is more than 31 days after the UTC midnight anchor of periodStart',
    )
  }
  if (endCounter < startCounter) throw new SchemaError(`${path}.endCounter`, 'must not be below startCounter')
  return { meter, periodStart, periodEnd, startCounter, endCounter, commitment }
}

/** The JSON text a meter publishes (retained) on tele/<meter>/PERIOD: the import close and its export block. */
export function encodePeriodPayload(
  period: BillingPeriod | BillingPeriodMessage,
  signature: string,
  exportClose: ExportClose,
): string {
  const object_ = { ...period, commitment: BigInt(period.commitment) } as unknown
  const p = validatePeriod(object_, 'period', { intervalSeconds: 1 })
  const x = validateExport(
    {
      startCounter: exportClose?.startCounter,
      endCounter: exportClose?.endCounter,
      commitment: exportClose?.commitment,
      sig: exportClose?.signature,
    },
    'export',
  )
  return JSON.stringify({
    v: PERIOD_PAYLOAD_VERSION,
    meter: p.meter,
    periodStart: p.periodStart,
    periodEnd: p.periodEnd,
    startCounter: p.startCounter,
    endCounter: p.endCounter,
    commitment: hex32(p.commitment),
    sig: hex({ sig: signature }, 'sig', 'signature', 130),
    export: {
      startCounter: x.startCounter,
      endCounter: x.endCounter,
      commitment: hex32(x.commitment),
      sig: hex({ sig: exportClose.signature }, 'sig', 'export.signature', 130),
    },
  })
}

export function parsePeriodPayload(
  topic: string,
  payload: Uint8Array | string,
  options?: ParseOptions,
): PeriodPayload {
  const meter = parseMeterTopic(topic, 'tele', 'PERIOD')
  const json = object(decodeJson(payload), '$', [
    'v',
    'meter',
    'periodStart',
    'periodEnd',
    'startCounter',
    'endCounter',
    'commitment',
    'sig',
    'export',
  ])
  if (json.v !== PERIOD_PAYLOAD_VERSION) {
    throw new SchemaError(
      '$.v',
      `must be ${PERIOD_PAYLOAD_VERSION} (commitment version ${COMMITMENT_VERSION}, protocol §3): a meter on an older firmware commits in a form the bill circuit cannot open`,
    )
  }
  const signature = hex(json, 'sig', '$', 130)
  const period = validatePeriod(json, '$', options)
  if (period.meter !== meter) throw new SchemaError('$.meter', 'must be the meter named in the topic')
  const x = validateExport(json.export, '$.export')
  const exportSignature = hex(json.export as Json, 'sig', '$.export', 130)
  return { meter, period, signature, export: { ...x, signature: exportSignature } }
}

// ---------------------------------------------------------------- GONE

function validateGone(json: Json, path: string): RecordsGone {
  const meter = hex(json, 'meter', path, 40) as Address
  const fromSeq = int(json, 'fromSeq', path, 0, MAX_SAFE)
  const toSeq = int(json, 'toSeq', path, 0, MAX_SAFE)
  if (toSeq < fromSeq) throw new SchemaError(`${path}.toSeq`, 'must not be below fromSeq')
  return { meter, fromSeq, toSeq }
}

/** The JSON text a meter publishes on tele/<meter>/GONE (QoS 1, not retained). */
export function encodeGonePayload(gone: RecordsGone | RecordsGoneMessage, signature: string): string {
  const g = validateGone(
    { meter: gone.meter, fromSeq: Number(gone.fromSeq), toSeq: Number(gone.toSeq) },
    'gone',
  )
  return JSON.stringify({
    v: PAYLOAD_VERSION,
    meter: g.meter,
    fromSeq: g.fromSeq,
    toSeq: g.toSeq,
    sig: hex({ sig: signature }, 'sig', 'signature', 130),
  })
}

export function parseGonePayload(topic: string, payload: Uint8Array | string): GonePayload {
  const meter = parseMeterTopic(topic, 'tele', 'GONE')
  const json = object(decodeJson(payload), '$', ['v', 'meter', 'fromSeq', 'toSeq', 'sig'])
  if (json.v !== PAYLOAD_VERSION) throw new SchemaError('$.v', `must be ${PAYLOAD_VERSION}`)
  const signature = hex(json, 'sig', '$', 130)
  const gone = validateGone(json, '$')
  if (gone.meter !== meter) throw new SchemaError('$.meter', 'must be the meter named in the topic')
  return { meter, gone, signature }
}

// ---------------------------------------------------------------- STATE

const STATE_POWER_KEYS = Array.from({ length: 8 }, (_, i) => `POWER${i + 1}`)
const STATE_KEYS = ['Time', 'Uptime', ...STATE_POWER_KEYS, 'FanSpeed', 'PeriodStart', 'PeriodDays']
const ISO_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/

/**
 * Parses tele/<meter>/STATE strictly (every key of protocol §7, nothing else). STATE is not
 * signed: the node uses PeriodStart / PeriodDays only to file records before the signed close
 * arrives and to know which closes to ask for, never to bill.
 */
export function parseStatePayload(
  topic: string,
  payload: Uint8Array | string,
  options?: ParseOptions & { maxPeriodDays?: number },
): StatePayload {
  const interval = intervalOption(options)
  const maxDays = options?.maxPeriodDays ?? 31
  const meter = parseMeterTopic(topic, 'tele', 'STATE')
  const json = object(decodeJson(payload), '$', STATE_KEYS)
  const iso = typeof json.Time === 'string' ? ISO_TIME_RE.exec(json.Time) : null
  const time = iso === null ? Number.NaN : Date.parse(json.Time as string) / 1000
  if (iso === null || !Number.isSafeInteger(time) || time < 0) {
    throw new SchemaError('$.Time', 'must be an ISO-8601 UTC time like 2025-11-24T16:45:00Z')
  }
  if (typeof json.Uptime !== 'string' || !/^\d{1,6}T\d{2}:\d{2}:\d{2}$/.test(json.Uptime)) {
    throw new SchemaError('$.Uptime', 'must be days T hh:mm:ss')
  }
  for (const key of STATE_POWER_KEYS) {
    if (json[key] !== 'ON' && json[key] !== 'OFF') throw new SchemaError(`$.${key}`, 'must be "ON" or "OFF"')
  }
  int(json, 'FanSpeed', '$', 0, 3)
  const periodStart = int(json, 'PeriodStart', '$', 0, MAX_SAFE)
  const periodDays = int(json, 'PeriodDays', '$', 0, maxDays)
  if (periodStart % interval !== 0)
    throw new SchemaError('$.PeriodStart', `must be a multiple of ${interval} s`)
  // Ahead of Time only before the provisioning point, where STATE names the start the first period
  // will have (protocol §5); a provisioning point more than 31 days ahead is a broken clock.
  if (periodStart - time > MAX_PERIOD_SECONDS) {
    throw new SchemaError('$.PeriodStart', "is more than 31 days after the report's Time")
  }
  if (time - periodStart >= MAX_PERIOD_SECONDS + 86_400) {
    // A period never outlives 31 days from its anchor: an older open start is a stuck meter.
    throw new SchemaError('$.PeriodStart', "is more than 31 days before the report's Time")
  }
  return { meter, time, periodStart, periodDays }
}

// ---------------------------------------------------------------- signatures

/** Signs a record as a meter does (virtual meter, tests). */
export function signRecord(domain: Eip712Domain, privateKey: Uint8Array, record: MeterRecordMessage): Hex {
  return signDigest(privateKey, meterRecordDigest(domain, record))
}

export function signPeriod(
  domain: Eip712Domain,
  privateKey: Uint8Array,
  period: BillingPeriod | BillingPeriodMessage,
): Hex {
  return signDigest(
    privateKey,
    billingPeriodDigest(domain, { ...period, commitment: BigInt(period.commitment) }),
  )
}

/** Signs a close's export block (ExportPeriod, protocol §6) as a meter does (virtual meter, tests). */
export function signExportPeriod(
  domain: Eip712Domain,
  privateKey: Uint8Array,
  period: BillingPeriod,
  close: Omit<ExportClose, 'signature'>,
): Hex {
  return signDigest(privateKey, exportPeriodDigest(domain, exportPeriodMessage(period, close)))
}

export function signGone(
  domain: Eip712Domain,
  privateKey: Uint8Array,
  gone: RecordsGone | RecordsGoneMessage,
): Hex {
  return signDigest(privateKey, recordsGoneDigest(domain, gone))
}

function expectSigner(recovered: Address, meter: string, what: string): void {
  if (recovered !== meter.toLowerCase()) {
    throw new WrongSignerError(`the ${what} signature was not made by meter ${meter.toLowerCase()}`, {
      details: { meter: meter.toLowerCase(), recovered },
    })
  }
}

/**
 * Throws InvalidSignatureError (malformed, high S) or WrongSignerError unless `sig` is the meter's
 * signature of `record` under `domain`.
 */
export function verifyRecordSignature(
  domain: Eip712Domain,
  meter: string,
  record: MeterRecordMessage | MeterRecord,
  sig: string,
): void {
  expectSigner(recoverSigner(meterRecordDigest(domain, record), sig), meter, 'record')
}

export function verifyPeriodSignature(
  domain: Eip712Domain,
  meter: string,
  period: BillingPeriod | BillingPeriodMessage,
  sig: string,
): void {
  const digest = billingPeriodDigest(domain, { ...period, commitment: BigInt(period.commitment) })
  expectSigner(recoverSigner(digest, sig), meter, 'period')
}

/** Throws unless the export block's signature is the meter's ExportPeriod signature for this period. */
export function verifyExportSignature(
  domain: Eip712Domain,
  meter: string,
  period: BillingPeriod,
  close: ExportClose,
): void {
  const digest = exportPeriodDigest(domain, exportPeriodMessage(period, close))
  expectSigner(recoverSigner(digest, close.signature), meter, 'export period')
}

export function verifyGoneSignature(
  domain: Eip712Domain,
  meter: string,
  gone: RecordsGone | RecordsGoneMessage,
  sig: string,
): void {
  expectSigner(recoverSigner(recordsGoneDigest(domain, gone), sig), meter, 'records-gone')
}
