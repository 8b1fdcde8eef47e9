/**
 * Where flushed records go. The household vault (node/src/vault) satisfies RecordSink as is; the
 * file-backed sink below is a plain-disk implementation with the same semantics (batch index per
 * period, idempotent re-seal), for tools and tests that run without Helia. It writes plaintext:
 * never point it at storage that leaves the node.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { writeFileAtomic } from '../storage/json-file.ts'

export interface SinkPeriodInfo {
  meter: string
  periodStart: number
  status: 'open' | 'sealed'
  batchCount: number
}

export interface RecordSink {
  appendBatch(meter: string, periodStart: number, records: readonly unknown[]): Promise<{ index: number }>
  sealPeriod(
    meter: string,
    periodStart: number,
    periodEnd: number,
  ): Promise<{ manifestCid: { toString(): string }; cidDigest: `0x${string}` }>
  listPeriods(): Promise<SinkPeriodInfo[]>
}

export class SinkPeriodSealedError extends ZkMeterError {
  override name = 'PeriodSealedError'
}

/** Batches as `<dir>/<meter>/<periodStart>/<index>.json`, a seal as `sealed.json` beside them. */
export function createFileSink(
  dir: string,
): RecordSink & { readAll(meter: string, periodStart: number): Promise<unknown[]> } {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new InvalidInputError('the file sink needs a directory')
  const periodDir = (meter: string, periodStart: number) =>
    join(dir, meter.toLowerCase(), String(periodStart))
  const batchFiles = async (path: string): Promise<string[]> => {
    try {
      return (await readdir(path))
        .filter((f) => /^\d+\.json$/.test(f))
        .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
  }
  const sealedInfo = async (
    path: string,
  ): Promise<{ periodEnd: number; manifestCid: string } | undefined> => {
    try {
      return JSON.parse(await readFile(join(path, 'sealed.json'), 'utf8'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }
  return {
    async appendBatch(meter, periodStart, records) {
      if (!Array.isArray(records) || records.length === 0)
        throw new InvalidInputError('a batch needs records')
      const path = periodDir(meter, periodStart)
      await mkdir(path, { recursive: true, mode: 0o700 })
      if ((await sealedInfo(path)) !== undefined) {
        throw new SinkPeriodSealedError(`period ${periodStart} of meter ${meter} is sealed`)
      }
      const index = (await batchFiles(path)).length
      await writeFileAtomic(join(path, `${index}.json`), JSON.stringify(records))
      return { index }
    },
    async sealPeriod(meter, periodStart, periodEnd) {
      const path = periodDir(meter, periodStart)
      await mkdir(path, { recursive: true, mode: 0o700 })
      const sealed = await sealedInfo(path)
      if (sealed !== undefined) {
        if (sealed.periodEnd !== periodEnd) throw new SinkPeriodSealedError(`period ${periodStart} is sealed`)
        const digest = createHash('sha256').update(sealed.manifestCid).digest('hex')
        return { manifestCid: sealed.manifestCid, cidDigest: `0x${digest}` }
      }
      const hash = createHash('sha256').update(`${meter}/${periodStart}/${periodEnd}`)
      for (const file of await batchFiles(path)) hash.update(await readFile(join(path, file)))
      const manifestCid = `file-sha256-${hash.digest('hex')}`
      await writeFileAtomic(join(path, 'sealed.json'), JSON.stringify({ periodEnd, manifestCid }))
      return { manifestCid, cidDigest: `0x${createHash('sha256').update(manifestCid).digest('hex')}` }
    },
    async listPeriods() {
      const out: SinkPeriodInfo[] = []
      let meters: string[]
      try {
        meters = await readdir(dir)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out
        throw error
      }
      for (const meter of meters) {
        for (const start of await readdir(join(dir, meter))) {
          const path = join(dir, meter, start)
          out.push({
            meter,
            periodStart: Number(start),
            status: (await sealedInfo(path)) === undefined ? 'open' : 'sealed',
            batchCount: (await batchFiles(path)).length,
          })
        }
      }
      return out
    },
    async readAll(meter, periodStart) {
      const path = periodDir(meter, periodStart)
      const out: unknown[] = []
      for (const file of await batchFiles(path))
        out.push(...JSON.parse(await readFile(join(path, file), 'utf8')))
      return out
    },
  }
}
