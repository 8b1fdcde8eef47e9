/**
 * Test scaffolding for billing against the real ledger: meter-signed closed periods with their
 * private readings (what the ingestor and the vault would hand the biller), and a PeriodInputs over
 * them. Proofs come from the real circuit (test profile), the chain is EDR.
 */
import { keccak256, toUtf8Bytes } from 'ethers'
import { commit, deriveSalt } from '#protocol/commitment.ts'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { hexToBytes } from '#protocol/eip712.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { exportReadings, periodReadings } from '../../../contracts/test/bills.ts'
import {
  DAY,
  INTERVAL,
  type MeterKey,
  MIDNIGHT,
  signExportPeriod,
  signPeriod,
} from '../../../contracts/test/env.ts'
import type { ClosedPeriod, PeriodInputs } from '../../src/billing/biller.ts'
import type { BillRecord } from '../../src/billing/store.ts'

export { DAY, INTERVAL, MIDNIGHT }
/** The test circuit: 192 readings of 15 minutes, 96 tariff slots. */
export const N = 192
export const SLOTS = 96
export const REGISTERED_AT = MIDNIGHT + 4 * INTERVAL
export const START_COUNTER = 1_000_000

const PAIRING_KEY = hexToBytes(keccak256(toUtf8Bytes('zkmeter/test-billing-pairing-key')), 32)

export interface TestPeriod {
  period: ClosedPeriod
  readings: number[]
  salt: bigint
  /** The exported Wh per interval, for a close with an export half (closeNetPeriod). */
  exportReadings?: number[]
}

/** A period as the meter closes it: readings, salt, commitment and the meter's EIP-712 signature. */
export function closePeriod(
  meter: MeterKey,
  domain: Eip712Domain,
  options: { start: number; end: number; startCounter: number; seed: number },
): TestPeriod {
  const { start, end, startCounter, seed } = options
  const readings = periodReadings(start, end, N, seed)
  const salt = deriveSalt(PAIRING_KEY, hexToBytes(meter.address, 20), start)
  const commitment = commit(readings, salt, N)
  const endCounter = startCounter + readings.reduce((a, b) => a + b, 0)
  const signature = signPeriod(meter, domain, {
    meter: meter.address,
    periodStart: start,
    periodEnd: end,
    startCounter,
    endCounter,
    commitment,
  })
  return {
    period: {
      meter: meter.address,
      periodStart: start,
      periodEnd: end,
      startCounter,
      endCounter,
      commitment,
      meterSignature: signature,
      manifestCid: `bafy-test-manifest-${meter.address}-${start}`,
      cidDigest: keccak256(toUtf8Bytes(`bafy-test-manifest-${meter.address}-${start}`)) as `0x${string}`,
    },
    readings,
    salt,
  }
}

/** The first two daily periods of a meter registered at REGISTERED_AT with START_COUNTER. */
export function twoPeriods(meter: MeterKey, domain: Eip712Domain, seed: number): [TestPeriod, TestPeriod] {
  const first = closePeriod(meter, domain, {
    start: REGISTERED_AT,
    end: MIDNIGHT + DAY,
    startCounter: START_COUNTER,
    seed,
  })
  const second = closePeriod(meter, domain, {
    start: MIDNIGHT + DAY,
    end: MIDNIGHT + 2 * DAY,
    startCounter: first.period.endCounter,
    seed: seed + 1,
  })
  return [first, second]
}

/**
 * A period close with both halves (protocol §6): the import half as closePeriod signs it, and the
 * export half (ExportPeriod) over a midday PV bump scaled by `sun` (0: nothing exported), signed too.
 */
export function closeNetPeriod(
  meter: MeterKey,
  domain: Eip712Domain,
  options: {
    start: number
    end: number
    startCounter: number
    exportStartCounter: number
    seed: number
    sun: number
  },
): TestPeriod {
  const base = closePeriod(meter, domain, options)
  const exported = exportReadings(options.start, options.end, N, options.sun)
  const commitment = commit(exported, base.salt, N, SLOTS, 'export')
  const endCounter = options.exportStartCounter + exported.reduce((a, b) => a + b, 0)
  const signature = signExportPeriod(meter, domain, {
    meter: meter.address,
    periodStart: options.start,
    periodEnd: options.end,
    startCounter: options.exportStartCounter,
    endCounter,
    commitment,
  })
  return {
    ...base,
    period: {
      ...base.period,
      exportHalf: { startCounter: options.exportStartCounter, endCounter, commitment, signature },
    },
    exportReadings: exported,
  }
}

export class TestInputsMissingError extends ZkMeterError {
  override name = 'TestInputsMissingError'
}

/** PeriodInputs over known periods, as the ingestor/vault would answer for them. */
export function inputsOf(periods: readonly TestPeriod[]): PeriodInputs {
  return {
    async readingsFor(bill: BillRecord) {
      const found = periods.find(
        (p) =>
          p.period.meter.toLowerCase() === bill.meter.toLowerCase() &&
          p.period.periodStart === bill.periodStart,
      )
      if (!found) throw new TestInputsMissingError(`no readings for ${bill.id}`)
      return {
        readings: found.readings,
        salt: found.salt,
        ...(found.exportReadings ? { exportReadings: found.exportReadings } : {}),
      }
    },
  }
}
