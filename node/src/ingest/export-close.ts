/**
 * The export half of a period close (ExportPeriod, docs/protocol.md §6) as the journal and the
 * checkpoint store it: its commitment as 0x + 64 hex digits, so it survives JSON. One codec for
 * both, so a change of the format is one reviewable diff.
 */
import type { ExportClose } from '#protocol/records.ts'

export interface ExportCloseJson {
  startCounter: number
  endCounter: number
  commitment: string
  signature: `0x${string}`
}

export const exportCloseJson = (x: ExportClose): ExportCloseJson => ({
  ...x,
  commitment: `0x${x.commitment.toString(16).padStart(64, '0')}`,
})

/** Back from the journal or the checkpoint (both written by this node, sealed or CRC-checked). */
export const exportCloseFromJson = (j: ExportCloseJson): ExportClose => ({
  ...j,
  commitment: BigInt(j.commitment),
})

/** Two copies of a close's export half are the same signed values (a replayed close). */
export const sameExportClose = (a: ExportClose | undefined, b: ExportClose | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.startCounter === b.startCounter && a.endCounter === b.endCounter && a.commitment === b.commitment
