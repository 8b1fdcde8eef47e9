/**
 * The invariants the chaos harness checks (docs/reliability.md, Invariants), each returning what it
 * found broken as plain sentences: the harness counts them and prints them with the seed.
 *  - acknowledged records: every sequence number the node ever reported acknowledged is in the
 *    vault exactly once (read offline from the stopped node's data directory);
 *  - history and export equal the vault: every interval record the vault holds is exported with its
 *    energy, and the export holds nothing else but intervals rebuilt from signed counters;
 *  - billed energy: each billed period's exported energy equals the bill's energyWh;
 *  - bills: one per period, in the node and on the ledger, none failed for good.
 */
import { join } from 'node:path'
import { intervalsFromCounters } from '../../node/src/history/rebuilt.ts'
import { openHousehold } from '../../node/src/identity/identity.ts'
import { INGEST_STATE_PURPOSE } from '../../node/src/ingest/state-file.ts'
import { createHeliaNode } from '../../node/src/ipfs/helia.ts'
import { readSealedJsonFile, sealedStateKey } from '../../node/src/storage/sealed-json.ts'
import { createVault, type VaultRecord } from '../../node/src/vault/index.ts'

export interface BillRow {
  id: string
  periodStart: number
  periodEnd: number
  energyWh: number
  status: string
  nextAttemptAt: string | null
  failure: { kind: string } | null
}

export interface VaultContents {
  records: VaultRecord[]
  sealed: { periodStart: number; periodEnd: number }[]
  /**
   * Sequence ranges the meter signed gone (ingest-state.json): the node's acknowledged mark moves
   * past them without their records, so they are no acknowledged records. The virtual meter runs in
   * the node's process: a kill -9 of the node also loses the records the meter had published but the
   * node not yet journaled, and after the restart the meter signs them gone (docs/virtual-meter.md).
   */
  gone: [number, number][]
  /** The periods the meter closed, as the ingestor judged them (assembled, rejected, pending …). */
  periods: { periodStart: number; periodEnd: number; status: string; reason: string | null }[]
}

interface IngestMeterState {
  seq: { gone?: [number, number][] }
  periods: { period: { periodStart: number; periodEnd: number }; status: string; reason?: string }[]
}

/** Every record in the vault of a stopped node's data directory (open and sealed periods). */
export async function readVault(dataDir: string): Promise<VaultContents> {
  const identity = await openHousehold(dataDir, { dev: true })
  const state = (await readSealedJsonFile(
    join(dataDir, 'ingest', 'ingest-state.json'),
    sealedStateKey(identity.rootKey, INGEST_STATE_PURPOSE),
    INGEST_STATE_PURPOSE,
  )) as { value: { meters: Record<string, IngestMeterState> } } | undefined
  const meters = Object.values(state?.value.meters ?? {})
  const gone = meters.flatMap((m) => m.seq.gone ?? [])
  const periods = meters.flatMap((m) =>
    m.periods.map((p) => ({
      periodStart: p.period.periodStart,
      periodEnd: p.period.periodEnd,
      status: p.status,
      reason: p.reason ?? null,
    })),
  )
  const helia = await createHeliaNode({ dir: join(dataDir, 'ipfs'), listen: [] })
  try {
    const vault = createVault({ helia: helia.helia, rootKey: identity.rootKey })
    const records: VaultRecord[] = []
    const sealed: VaultContents['sealed'] = []
    for (const period of await vault.listPeriods()) {
      if (period.status === 'sealed' && period.manifestCid) {
        records.push(...(await vault.readPeriod(period.manifestCid)))
        sealed.push({ periodStart: period.periodStart, periodEnd: period.periodEnd as number })
      } else records.push(...(await vault.readOpenPeriod(period.meter, period.periodStart)))
    }
    return { records, sealed, gone, periods }
  } finally {
    await helia.stop()
  }
}

/** Every acknowledged sequence number (from the first record the vault holds to `ackedSeq`) once. */
export function checkAcknowledged(
  records: readonly VaultRecord[],
  ackedSeq: number,
  gone: readonly [number, number][],
): {
  lost: number[]
  duplicated: number[]
} {
  const count = new Map<number, number>()
  for (const r of records) count.set(r.seq, (count.get(r.seq) ?? 0) + 1)
  const first = Math.min(...count.keys())
  const lost: number[] = []
  const isGone = (seq: number) => gone.some(([from, to]) => seq >= from && seq <= to)
  for (let seq = first; seq <= ackedSeq; seq++) if (!count.has(seq) && !isGone(seq)) lost.push(seq)
  const duplicated = [...count].filter(([, n]) => n > 1).map(([seq]) => seq)
  return { lost, duplicated }
}

/** The CSV export as interval end time → Wh. */
export function parseExport(csv: string): Map<number, number> {
  const rows = new Map<number, number>()
  for (const line of csv.trim().split('\n').slice(1)) {
    const [, end, wh] = line.split(',')
    rows.set(Date.parse(end as string) / 1000, Number(wh))
  }
  return rows
}

/** The export against the vault, over interval end times up to `until` (what both had by then). */
export function checkExportAgainstVault(
  exported: Map<number, number>,
  records: readonly VaultRecord[],
  intervalSeconds: number,
  until: number,
): string[] {
  const problems: string[] = []
  const intervals = new Map<number, number>()
  for (const r of records) if (r.kind === 1) intervals.set(r.time, r.intervalWh)
  const rebuilt = new Map(
    intervalsFromCounters(records, intervalSeconds).map((i) => [i.time, i.intervalWh] as const),
  )
  for (const [time, wh] of intervals) {
    if (time > until) continue
    const got = exported.get(time)
    if (got === undefined)
      problems.push(`interval ending ${iso(time)} (${wh} Wh) is in the vault, not in the export`)
    else if (got !== wh) problems.push(`interval ending ${iso(time)}: export ${got} Wh, vault ${wh} Wh`)
  }
  for (const [time, wh] of exported) {
    if (time > until || intervals.has(time)) continue
    const expected = rebuilt.get(time)
    if (expected === undefined)
      problems.push(`interval ending ${iso(time)} (${wh} Wh) is exported but not in the vault nor rebuilt`)
    else if (expected !== wh)
      problems.push(`rebuilt interval ending ${iso(time)}: export ${wh} Wh, counters ${expected} Wh`)
  }
  return problems
}

/** Each billed period's exported energy equals its billed energyWh. */
export function checkBilledEnergy(exported: Map<number, number>, bills: readonly BillRow[]): string[] {
  const problems: string[] = []
  for (const bill of bills) {
    if (bill.status !== 'verified' && bill.status !== 'paid') continue
    let sum = 0
    for (const [time, wh] of exported) if (time > bill.periodStart && time <= bill.periodEnd) sum += wh
    if (sum !== bill.energyWh)
      problems.push(`period from ${iso(bill.periodStart)}: exported ${sum} Wh, billed ${bill.energyWh} Wh`)
  }
  return problems
}

/** One bill per period in the node and on the ledger; none failed without a retry planned. */
export function checkBills(bills: readonly BillRow[], ledgerStarts: readonly number[]): string[] {
  const problems: string[] = []
  const seen = new Set<number>()
  for (const bill of bills) {
    if (seen.has(bill.periodStart)) problems.push(`two bills for the period from ${iso(bill.periodStart)}`)
    seen.add(bill.periodStart)
    if (bill.status === 'failed' && bill.nextAttemptAt === null)
      problems.push(`bill ${bill.id} failed for good (${bill.failure?.kind ?? 'no reason'})`)
  }
  const onLedger = new Set<number>()
  for (const start of ledgerStarts) {
    if (onLedger.has(start)) problems.push(`the ledger holds two bills for the period from ${iso(start)}`)
    onLedger.add(start)
    if (!seen.has(start)) problems.push(`the ledger holds a bill from ${iso(start)} the node does not know`)
  }
  return problems
}

const iso = (t: number) => new Date(t * 1000).toISOString()
