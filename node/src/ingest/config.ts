/**
 * Configuration: validates createIngestor's options once (with named errors) and builds each
 * configured meter's runtime state (calendar, verifier, sequence trackers, empty indexes). Kept apart
 * so the pipeline modules receive checked values and never re-validate.
 */

import { type Eip712Domain, hexToBytes } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { DEFAULT_INTERVAL_SECONDS } from '#protocol/records.ts'
import { createMeterVerifier } from '#protocol/verifier.ts'
import { createPeriodCalendar } from './calendar.ts'
import { createSequenceTracker } from './sequence.ts'
import {
  DEFAULT_BATCH_RECORDS,
  DEFAULT_PERIOD_READINGS,
  type IngestorOptions,
  type MeterRuntime,
} from './types.ts'

function toBytes32(key: Uint8Array | string, what: string): Uint8Array {
  try {
    const bytes = typeof key === 'string' ? hexToBytes(key.startsWith('0x') ? key : `0x${key}`, 32) : key
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new Error('length')
    return Uint8Array.from(bytes)
  } catch (cause) {
    throw new InvalidInputError(`${what} must be 32 bytes (64 hex digits)`, { cause })
  }
}

export function checkOptions(options: IngestorOptions) {
  if (options === null || typeof options !== 'object')
    throw new InvalidInputError('createIngestor needs options')
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS
  if (!Number.isInteger(interval) || interval <= 0 || 86_400 % interval !== 0) {
    throw new InvalidInputError(`intervalSeconds must divide 86400, got ${interval}`)
  }
  const n = options.periodReadings ?? DEFAULT_PERIOD_READINGS
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidInputError(`periodReadings (N) must be a positive integer`)
  const flushEveryIntervals = options.flushEveryIntervals ?? 4
  if (!Number.isInteger(flushEveryIntervals) || flushEveryIntervals < 1) {
    throw new InvalidInputError('flushEveryIntervals must be a whole number of intervals ≥ 1')
  }
  const batchRecords = options.batchRecords ?? DEFAULT_BATCH_RECORDS
  if (!Number.isInteger(batchRecords) || batchRecords < 1)
    throw new InvalidInputError('batchRecords must be ≥ 1')
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new InvalidInputError('dataDir must name the directory for the journal and state')
  }
  if (!Array.isArray(options.meters)) throw new InvalidInputError('meters must be a list of { address }')
  const chainId = BigInt(options.domain?.chainId ?? -1)
  const verifyingContract = options.domain?.verifyingContract
  if (
    chainId < 0n ||
    typeof verifyingContract !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(verifyingContract)
  ) {
    throw new InvalidInputError('domain needs { chainId, verifyingContract } (the ledger address)')
  }
  const domain: Eip712Domain = { chainId, verifyingContract: verifyingContract as `0x${string}` }
  return {
    interval,
    n,
    batchRecords,
    flushEveryIntervals,
    domain,
    periodDays: options.periodDays ?? 0,
    resendIntervalMs: options.resendIntervalMs ?? 30_000,
    maxAnomalies: options.maxAnomalies ?? 1000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
  }
}

export type IngestorConfig = ReturnType<typeof checkOptions>

/** One runtime per configured meter, by lower-case address. */
export function createMeterRuntimes(
  options: IngestorOptions,
  cfg: IngestorConfig,
): Map<string, MeterRuntime> {
  const meters = new Map<string, MeterRuntime>()
  for (const m of options.meters) {
    const address = String(m?.address ?? '').toLowerCase() as `0x${string}`
    if (!/^0x[0-9a-f]{40}$/.test(address))
      throw new InvalidInputError(`meter address ${m?.address} is not 0x + 40 hex`)
    if (m.firstSeq !== undefined && (!Number.isSafeInteger(m.firstSeq) || m.firstSeq < 0)) {
      throw new InvalidInputError(`firstSeq of meter ${address} must be a non-negative integer`)
    }
    const calendar = createPeriodCalendar({
      periodDays: cfg.periodDays,
      firstPeriodStart: m.firstPeriodStart ?? 0,
      geometry: { intervalSeconds: cfg.interval, n: cfg.n },
    })
    meters.set(address, {
      address,
      ...(m.pairingKey === undefined
        ? {}
        : { pairingKey: toBytes32(m.pairingKey, `pairingKey of ${address}`) }),
      calendar,
      verifier: createMeterVerifier(cfg.domain, address),
      accepted: createSequenceTracker(undefined, m.firstSeq),
      durable: createSequenceTracker(undefined, m.firstSeq),
      pending: new Map(),
      intervals: new Map(),
      periods: new Map(),
      batches: new Map(),
      resendAttempts: new Map(),
      ...(m.firstPeriodStart === undefined ? {} : { firstPeriodStart: m.firstPeriodStart }),
      periodRequests: new Map(),
    })
  }
  return meters
}
