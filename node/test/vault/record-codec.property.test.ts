import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { METER_RECORD_FIELDS } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  decodeVaultRecordBytes,
  decodeVaultRecords,
  encodeVaultRecords,
  InvalidBlockError,
  InvalidVaultRecordError,
  type VaultRecord,
} from '../../src/vault/index.ts'
import { meterRecords } from './helpers.ts'

const ranges: Record<string, { min: number; max: number }> = {
  uint8: { min: 0, max: 0xff },
  uint16: { min: 0, max: 0xffff },
  uint32: { min: 0, max: 0xffff_ffff },
  int32: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  uint64: { min: 0, max: Number.MAX_SAFE_INTEGER },
}
const vaultRecord: fc.Arbitrary<VaultRecord> = fc.record({
  ...Object.fromEntries(METER_RECORD_FIELDS.map(([key, type]) => [key, fc.integer(ranges[type]!)])),
  sig: fc
    .uint8Array({ minLength: 65, maxLength: 65 })
    .map((b) => `0x${Buffer.from(b).toString('hex')}` as const),
}) as fc.Arbitrary<VaultRecord>

/** Decoding must either succeed or fail with the codec's named error: never a crash of another kind. */
function decodesOrNamesIt(run: () => unknown): void {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidVaultRecordError)
    expect(err).toBeInstanceOf(InvalidBlockError)
  }
}

describe('vault record codec', () => {
  it('round-trips every valid record through encode and decode', () => {
    fc.assert(
      fc.property(fc.array(vaultRecord, { minLength: 1, maxLength: 20 }), (records) => {
        expect(decodeVaultRecordBytes(encodeVaultRecords(records), 'batch 0')).toEqual(records)
      }),
    )
  })

  it('decodes the records ingestion stores', () => {
    const records = meterRecords(10, 5, 3)
    expect(decodeVaultRecordBytes(encodeVaultRecords(records), 'batch 0')).toEqual(records)
  })

  it('turns any decoded value into a record or InvalidVaultRecordError, never another crash', () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 5 }), (values) => {
        decodesOrNamesIt(() => decodeVaultRecords(values, 'batch 0'))
      }),
    )
  })

  it('turns garbage bytes into InvalidVaultRecordError, never another crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodesOrNamesIt(() => decodeVaultRecordBytes(bytes, 'batch 0'))
      }),
    )
    fc.assert(
      fc.property(fc.anything(), (value) => {
        let bytes: Uint8Array
        try {
          bytes = dagCbor.encode(value)
        } catch {
          return // not encodable: nothing to decode
        }
        decodesOrNamesIt(() => decodeVaultRecordBytes(bytes, 'batch 0'))
      }),
    )
  })

  it('refuses a record with a field missing, out of range, of the wrong type or unknown', () => {
    const [good] = meterRecords(1)
    const broken: unknown[] = [
      { ...good, powerW: undefined },
      { ...good, kind: 256 },
      { ...good, temperatureCenti: 2 ** 31 },
      { ...good, seq: -1 },
      { ...good, energyWh: 1.5 },
      { ...good, time: '1764000000' },
      { ...good, sig: '0xab' },
      { ...good, extra: 1 },
      null,
      [good],
    ]
    for (const value of broken) {
      expect(() => decodeVaultRecords([value], 'batch 0')).toThrow(InvalidVaultRecordError)
      expect(() => encodeVaultRecords([value as VaultRecord])).toThrow(InvalidInputError)
    }
  })

  it('reads a batch sealed before record format 2 as nothing exported, and never writes one', () => {
    const records = meterRecords(4, 3, 2)
    const format1 = records.map(({ exportedWh: _x, intervalExportedWh: _y, ...rest }) => rest)
    const decoded = decodeVaultRecordBytes(dagCbor.encode(format1), 'batch 0')
    expect(decoded).toEqual(records.map((r) => ({ ...r, exportedWh: 0, intervalExportedWh: 0 })))
    // Half of the export fields is no format at all; and new batches always carry both.
    const [one] = format1
    expect(() => decodeVaultRecords([{ ...one, exportedWh: 5 }], 'batch 0')).toThrow(InvalidVaultRecordError)
    expect(() => encodeVaultRecords(format1 as unknown as VaultRecord[])).toThrow(InvalidInputError)
  })
})
