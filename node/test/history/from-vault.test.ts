import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { loadReadingHistory } from '../../src/history/from-vault.ts'
import { createReadingHistory } from '../../src/history/readings.ts'
import type { PeriodInfo, Vault, VaultRecord } from '../../src/vault/index.ts'

const INTERVAL = 900
const METER = '0x00000000000000000000000000000000000000aa' as const
const MANIFEST = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
const SEALED_START = 1_800_000_000 - (1_800_000_000 % 86_400)
const OPEN_START = SEALED_START + 86_400

/** An interval (kind 1) or live (kind 0) record; the history reads only these fields. */
function record(seq: number, kind: 0 | 1, time: number, intervalWh = 10, powerW = 500): VaultRecord {
  return {
    seq,
    kind,
    time,
    energyWh: seq * 10,
    intervalWh,
    powerW,
    voltageMv: 230_000,
    currentMa: 1_000,
    powerFactor: 950,
    temperatureCenti: 2_000,
    light: 0,
    gas: 0,
    water: 0,
    hazards: 0,
    relays: 0,
    fanSpeed: 0,
    sig: '0x',
  } as unknown as VaultRecord
}

/** One sealed day (96 intervals) and an open day so far (4 intervals), the sealed read held until released. */
function fakeVault() {
  let release!: () => void
  const held = new Promise<void>((r) => {
    release = r
  })
  const sealed = Array.from({ length: 96 }, (_, i) => record(i + 1, 1, SEALED_START + (i + 1) * INTERVAL))
  const open = Array.from({ length: 4 }, (_, i) => record(97 + i, 1, OPEN_START + (i + 1) * INTERVAL, 20))
  const periods: PeriodInfo[] = [
    {
      meter: METER,
      periodStart: SEALED_START,
      status: 'sealed',
      batchCount: 1,
      recordCount: 96,
      manifestCid: MANIFEST,
    },
    { meter: METER, periodStart: OPEN_START, status: 'open', batchCount: 1, recordCount: 4 },
  ]
  const vault: Pick<Vault, 'listPeriods' | 'readPeriod' | 'readOpenPeriod'> = {
    listPeriods: async () => periods,
    readPeriod: async () => {
      await held
      return sealed
    },
    readOpenPeriod: async () => open,
  }
  return { vault, release }
}

const pending = Symbol('pending')
const settledSoon = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<typeof pending>((r) => setTimeout(() => r(pending), 200))])

describe('the chart history rebuilt from the vault at start', () => {
  it('is handed over before the sealed periods are read (a year of them took 5.6 s of an 8.65 s start), and history reads wait for them', async () => {
    const { vault, release } = fakeVault()
    const history = await settledSoon(loadReadingHistory(vault, INTERVAL))
    if (history === pending) throw new Error('loadReadingHistory waited for the sealed periods')
    // The open period is in at once: the latest reading and today.
    expect(history.latest()?.seq).toBe(100)
    expect(history.intervals(0, Number.MAX_SAFE_INTEGER)).toHaveLength(4)
    // Not complete yet: whoever reads the history waits.
    expect(await settledSoon(history.whenLoaded())).toBe(pending)
    release()
    await history.whenLoaded()
    const all = history.intervals(0, Number.MAX_SAFE_INTEGER)
    expect(all).toHaveLength(100)
    expect(all.map((s) => s.time)).toEqual([...all.map((s) => s.time)].sort((a, b) => a - b))
    const day = history.query(SEALED_START, OPEN_START + 1, 'day', () => 0n)
    expect(day).toEqual([expect.objectContaining({ time: SEALED_START, energyWh: 960 })])
  })

  it('a sealed period that cannot be read fails the history reads with its error, and is reported', async () => {
    const errors: unknown[] = []
    const vault: Pick<Vault, 'listPeriods' | 'readPeriod' | 'readOpenPeriod'> = {
      ...fakeVault().vault,
      readPeriod: async () => {
        throw new Error('block gone')
      },
    }
    const history = await loadReadingHistory(vault, INTERVAL, { onError: (e) => errors.push(e) })
    await expect(history.whenLoaded()).rejects.toThrow('block gone')
    expect(errors).toEqual([new Error('block gone')])
  })

  it('absorb merges by time in one pass: records that arrived meanwhile win, the newest reading stays', () => {
    const main = createReadingHistory({ intervalSeconds: INTERVAL, capacity: 5 })
    main.add(record(50, 1, 10 * INTERVAL, 99))
    main.add(record(60, 0, 10 * INTERVAL + 60))
    const older = createReadingHistory({ intervalSeconds: INTERVAL })
    for (let i = 1; i <= 10; i++) older.add(record(i, 1, i * INTERVAL))
    main.absorb(older)
    // Capacity 5 keeps the newest five; time 10·INTERVAL is ours (99 Wh), not theirs.
    expect(main.intervals(0, Number.MAX_SAFE_INTEGER).map((s) => [s.time / INTERVAL, s.intervalWh])).toEqual([
      [6, 10],
      [7, 10],
      [8, 10],
      [9, 10],
      [10, 99],
    ])
    expect(main.latest()?.seq).toBe(60)
  })
})
