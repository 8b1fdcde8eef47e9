/**
 * What a copy of the data directory shows: after a household node sealed a period,
 * every directory is 0700 and every file 0600 (also the ones an older version left readable), and
 * no reading or salt is in the clear outside the ingest journal (the write-ahead log that must be
 * readable after a power cut before anything else is open) — the vault holds ciphertext, the ingest
 * checkpoint and the virtual meter's memory are sealed (docs/security.md, "Nothing plaintext at rest").
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../../test/support/wait.ts'
import { type HouseholdNode, startHouseholdNode } from '../../src/app/node.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/config.ts'
import { initHousehold } from '../../src/identity/identity.ts'
import type { PeriodResult } from '../../src/ingest/types.ts'
import { silentLogger } from '../../src/log/logger.ts'

let dataDir: string
let node: HouseholdNode | undefined
let periods: PeriodResult[] = []

async function entriesUnder(dir: string): Promise<{ path: string; mode: number; dir: boolean }[]> {
  const out: { path: string; mode: number; dir: boolean }[] = []
  for (const name of await readdir(dir)) {
    const path = join(dir, name)
    const info = await lstat(path)
    if (info.isSymbolicLink()) continue
    out.push({ path, mode: info.mode & 0o777, dir: info.isDirectory() })
    if (info.isDirectory()) out.push(...(await entriesUnder(path)))
  }
  return out
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'zkmeter-at-rest-'))
  const identity = await initHousehold(dataDir, { dev: true })
  // What an older version left: a world-readable directory and file.
  await mkdir(join(dataDir, 'legacy'), { mode: 0o755 })
  await writeFile(join(dataDir, 'legacy', 'old.json'), '{}', { mode: 0o644 })
  await chmod(dataDir, 0o755)
  const config: NodeConfig = {
    ...structuredClone(DEFAULT_CONFIG),
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    chain: { rpcUrl: undefined, embeddedPort: 0, ledger: undefined },
    mqtt: { url: undefined, embeddedPort: 0 },
    // One simulated day every 6 s, one live sample per interval: at 14,400× the default (a sample every simulated minute) is 240
    // signed samples a second for the node to verify, which a busy 2-core machine cannot keep up with,
    // and the backlog then grows without end (bills, alarms and all waited behind it in CI).
    meter: { simulated: true, speed: 14_400, periodDays: 1, livePeriodSeconds: 900 },
  }
  node = await startHouseholdNode(config, identity, { log: silentLogger })
  const ingestor = node.context.ingestor
  periods = await waitFor(
    'a sealed period',
    () => {
      const sealed = ingestor.periods()
      return sealed.length >= 1 ? sealed : undefined
    },
    240_000,
  )
  await node.stop()
  node = undefined
})

afterAll(async () => {
  await node?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('the data directory at rest', () => {
  it('is private to the node user: directories 0700, files 0600, old entries tightened', async () => {
    const entries = await entriesUnder(dataDir)
    expect(entries.length).toBeGreaterThan(10)
    expect((await lstat(dataDir)).mode & 0o777).toBe(0o700)
    const loose = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => relative(dataDir, e.path))
    expect(loose).toEqual([])
  })

  it('holds no reading or salt in the clear outside the ingest journal', async () => {
    expect(periods.length).toBeGreaterThanOrEqual(1)
    // Markers a plaintext copy would contain: the salts (decimal and hex), record field names and
    // runs of consecutive interval readings as JSON would write them.
    const markers: string[] = ['intervalWh', 'voltageMv']
    for (const p of periods) {
      markers.push(p.salt.toString(), p.salt.toString(16))
      const busy = p.readings.findIndex((wh, i) => wh > 0 && (p.readings[i + 1] ?? 0) > 0)
      markers.push(p.readings.slice(busy, busy + 4).join(','))
    }
    const offenders: string[] = []
    for (const entry of await entriesUnder(dataDir)) {
      if (entry.dir) continue
      const name = relative(dataDir, entry.path)
      if (name.startsWith(join('ingest', 'journal'))) continue
      const bytes = await readFile(entry.path)
      for (const marker of markers)
        if (bytes.includes(Buffer.from(marker))) offenders.push(`${name}: ${marker}`)
    }
    expect(offenders).toEqual([])
  })
})
