/**
 * The private inputs of a bill (readings + salt). Normally the ingestor still holds the assembled
 * period; after a restart they are rebuilt from the vault — the encrypted records are the durable
 * copy — and re-checked against the meter's signed commitment by assemblePeriod.
 */

import { ZkMeterError } from '#protocol/errors.ts'
import type { Ingestor } from '../ingest/ingestor.ts'
import { assembleExport, assemblePeriod, type IntervalEntry, intervalEntryOf } from '../ingest/period.ts'
import type { Vault } from '../vault/index.ts'
import type { PeriodInputs } from './biller.ts'
import type { BillRecord } from './store.ts'

export class PeriodInputsUnavailableError extends ZkMeterError {
  override name = 'PeriodInputsUnavailableError'
  override readonly category = 'unavailable'
}

export function periodInputs(options: {
  ingestor: Ingestor
  vault: Vault
  intervalSeconds: number
  n: number
  pairingKey: Uint8Array
}): PeriodInputs {
  return {
    async readingsFor(bill: BillRecord) {
      const held = options.ingestor
        .periods(bill.meter)
        .find((p) => p.period.periodStart === bill.periodStart && p.period.periodEnd === bill.periodEnd)
      if (held) {
        return {
          readings: held.readings,
          salt: held.salt,
          ...(held.exportReadings === undefined ? {} : { exportReadings: held.exportReadings }),
        }
      }

      const records = await options.vault.readPeriod(bill.manifestCid)
      const intervals = new Map<number, IntervalEntry>()
      for (const r of records) {
        if (r.kind === 1) intervals.set(r.time, intervalEntryOf(r))
      }
      const period = {
        meter: bill.meter,
        periodStart: bill.periodStart,
        periodEnd: bill.periodEnd,
        startCounter: bill.startCounter,
        endCounter: bill.endCounter,
        commitment: BigInt(bill.commitment),
      }
      const assembly = {
        intervalSeconds: options.intervalSeconds,
        n: options.n,
        pairingKey: options.pairingKey,
      }
      const outcome = assemblePeriod(period, intervals, assembly)
      if (outcome.status !== 'ok') {
        throw new PeriodInputsUnavailableError(
          `the vault's records for period ${bill.periodStart} do not reproduce the signed period (${outcome.status})`,
          { details: { bill: bill.id } },
        )
      }
      const half = bill.exportHalf
      if (half === undefined) return { readings: outcome.readings, salt: outcome.salt }
      // The export readings, checked against the export half the meter signed (a net bill needs them).
      const exported = assembleExport(
        period,
        { ...half, commitment: BigInt(half.commitment) },
        intervals,
        assembly,
      )
      if (exported.status !== 'ok') {
        throw new PeriodInputsUnavailableError(
          `the vault's records for period ${bill.periodStart} do not reproduce the signed export half (${exported.status})`,
          { details: { bill: bill.id } },
        )
      }
      return { readings: outcome.readings, salt: outcome.salt, exportReadings: exported.readings }
    },
  }
}
