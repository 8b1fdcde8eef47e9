/**
 * The one codec for what the vault stores: a verified meter record with the meter's signature, as
 * ingestion hands it in (docs/vault.md). Records are validated on the way in (a bad batch fails before
 * it takes an index, InvalidInputError) and again on the way out: a decrypted batch has crossed the disk (or a peer), and
 * nothing read back reaches history or billing before it has been checked to be a record again (InvalidVaultRecordError).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { METER_RECORD_FIELDS } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import type { Hex, MeterRecord } from '#protocol/records.ts'
import { encodeRecords } from './batch.ts'
import { InvalidBlockError } from './errors.ts'

/** A meter record as the vault keeps it: every signed field, and the meter's signature over them. */
export type VaultRecord = MeterRecord & { sig: Hex }

/** A stored value that is not a vault record: a damaged, foreign or older-format batch. */
export class InvalidVaultRecordError extends InvalidBlockError {
  override name = 'InvalidVaultRecordError'
}

const SIGNATURE_RE = /^0x[0-9a-fA-F]{130}$/
const FIELD_NAMES = new Set<string>([...METER_RECORD_FIELDS.map(([key]) => key), 'sig'])

function inRange(type: string, value: number): boolean {
  if (type === 'int32') return value >= -(2 ** 31) && value < 2 ** 31
  // uint64 values above 2^53 cannot be JSON numbers here: isSafeInteger has ruled them out already.
  const bits = Number(type.slice(4))
  return value >= 0 && (bits >= 53 || value < 2 ** bits)
}

/**
 * The fields record format 2 added (the export counter, docs/protocol.md §6). A batch sealed before
 * it holds format-1 records without them: read back, such a record had nothing exported (0), and
 * its signature is over the format-1 MeterRecord type. New batches always hold both.
 */
const EXPORT_FIELDS = ['exportedWh', 'intervalExportedWh'] as const

const isFormat1 = (fields: Record<string, unknown>): boolean => EXPORT_FIELDS.every((key) => !(key in fields))

/** Why `value` is not a VaultRecord, or undefined if it is one. */
function problemOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not an object'
  const fields = value as Record<string, unknown>
  return problemOfFields(fields)
}

function problemOfFields(fields: Record<string, unknown>): string | undefined {
  for (const [key, type] of METER_RECORD_FIELDS) {
    const v = fields[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || !inRange(type, v)) {
      return `field ${key} is not a ${type} (got ${typeof v === 'number' ? v : typeof v})`
    }
  }
  if (typeof fields.sig !== 'string' || !SIGNATURE_RE.test(fields.sig)) {
    return 'field sig is not a 65-byte 0x-hex signature'
  }
  const extra = Object.keys(fields).find((key) => !FIELD_NAMES.has(key))
  if (extra !== undefined) return `it has a field ${JSON.stringify(extra)} no meter record has`
  return undefined
}

export function isVaultRecord(value: unknown): value is VaultRecord {
  return problemOf(value) === undefined
}

/** Narrows one decoded value to a VaultRecord; `where` names it in the error (e.g. "batch 3, record 7"). */
export function decodeVaultRecord(value: unknown, where: string): VaultRecord {
  if (isVaultRecord(value)) return value
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    isFormat1(value as Record<string, unknown>)
  ) {
    const upgraded = { ...(value as object), exportedWh: 0, intervalExportedWh: 0 }
    if (isVaultRecord(upgraded)) return upgraded
  }
  throw new InvalidVaultRecordError(`${where} is not a signed meter record: ${problemOf(value)}`, {
    details: { where },
  })
}

/** Narrows the decoded values of one batch (see decryptBatch) to VaultRecords. */
export function decodeVaultRecords(values: readonly unknown[], batch: string): VaultRecord[] {
  return values.map((value, i) => decodeVaultRecord(value, `${batch}, record ${i}`))
}

/** Decodes the dag-cbor of a batch's plaintext; any garbage gives InvalidVaultRecordError. */
export function decodeVaultRecordBytes(cbor: Uint8Array, batch: string): VaultRecord[] {
  let values: unknown
  try {
    values = dagCbor.decode(cbor)
  } catch (err) {
    throw new InvalidVaultRecordError(`${batch} does not hold dag-cbor`, { details: { batch }, cause: err })
  }
  if (!Array.isArray(values)) throw new InvalidVaultRecordError(`${batch} does not hold an array of records`)
  return decodeVaultRecords(values, batch)
}

/**
 * Validates and encodes a batch's records (dag-cbor, within the batch size limit). A value that is not
 * a signed meter record is refused with InvalidVaultRecordError before anything is stored.
 */
export function encodeVaultRecords(records: readonly VaultRecord[]): Uint8Array {
  if (Array.isArray(records)) {
    records.forEach((record: unknown, i) => {
      const problem = problemOf(record)
      if (problem !== undefined) {
        throw new InvalidInputError(`record ${i} of the batch is not a signed meter record: ${problem}`, {
          details: { index: i },
        })
      }
    })
  }
  return encodeRecords(records)
}
