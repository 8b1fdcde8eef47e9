/**
 * The ingest checkpoint at rest. It must keep the last periods' readings and salts (a restarted
 * node proves their bills from it), so it is sealed under a key from the household root key: a
 * copy of the data directory shows no reading and no salt, a restart proves from it as before, and
 * a checkpoint an older version left in plain JSON is sealed at the next start.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createIngestor, type Ingestor, type PeriodResult } from '../../src/ingest/ingestor.ts'
import { SealedStateError, sealedStateKey } from '../../src/storage/sealed-json.ts'
import { createTestMeter, DAY0, oneMeterIngestorOptions, tempDir } from './helpers.ts'

const meter = createTestMeter(5)
const DAY = 86_400
const stateKey = sealedStateKey(new Uint8Array(32).fill(9), 'ingest-state')

let dir: Awaited<ReturnType<typeof tempDir>>
let ingestor: Ingestor | undefined

const make = (key: Uint8Array | null = stateKey): Ingestor =>
  createIngestor({ ...oneMeterIngestorOptions(join(dir.path, 'node'), meter), ...(key && { stateKey: key }) })

/** One day of intervals and its close: the checkpoint then holds that period's readings and salt. */
async function billOneDay(target: Ingestor): Promise<PeriodResult> {
  const records = meter.intervals(0, DAY0, 96 + 4, 3000)
  const periods: PeriodResult[] = []
  target.on('period', (p: PeriodResult) => periods.push(p))
  for (const r of records) await target.ingest(meter.sensor(r).topic, meter.sensor(r).payload)
  const close = meter.period(records, DAY0, DAY0 + DAY)
  await target.ingest(close.topic, close.payload)
  await target.stop()
  expect(periods).toHaveLength(1)
  return periods[0] as PeriodResult
}

const statePath = () => join(dir.path, 'node', 'ingest-state.json')

beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await ingestor?.stop()
  ingestor = undefined
  await dir.remove()
})

describe('ingest checkpoint at rest', () => {
  it('holds no reading or salt in the clear, is 0600, and restores the period after a restart', async () => {
    ingestor = make()
    await ingestor.start()
    const period = await billOneDay(ingestor)
    const text = await readFile(statePath(), 'utf8')
    expect(text).not.toContain(period.salt.toString())
    expect(text).not.toContain(JSON.stringify(period.readings.slice(0, 4)).slice(1, -1))
    expect(text).not.toContain('intervals')
    expect((await stat(statePath())).mode & 0o777).toBe(0o600)

    ingestor = make()
    await ingestor.start()
    const [restored] = ingestor.periods(meter.address)
    expect(restored?.salt).toBe(period.salt)
    expect(restored?.readings).toEqual(period.readings)
  })

  it('seals a checkpoint an older version left in plain JSON, and refuses another household key', async () => {
    ingestor = make(null) // as an older version: no key, plain JSON
    await ingestor.start()
    const period = await billOneDay(ingestor)
    expect(await readFile(statePath(), 'utf8')).toContain(period.salt.toString())

    ingestor = make()
    await ingestor.start()
    await ingestor.stop()
    expect(await readFile(statePath(), 'utf8')).not.toContain(period.salt.toString())

    ingestor = make(sealedStateKey(new Uint8Array(32).fill(1), 'ingest-state'))
    await expect(ingestor.start()).rejects.toBeInstanceOf(SealedStateError)
    ingestor = undefined
    await writeFile(statePath(), '{"format":"zkmeter-sealed-state","v":1,"purpose":"ingest-state"}')
    ingestor = make()
    await expect(ingestor.start()).rejects.toBeInstanceOf(SealedStateError)
    ingestor = undefined
  })
})
