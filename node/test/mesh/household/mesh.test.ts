/**
 * Three household nodes as neighbours: one shared dev chain (served over JSON-RPC, as an external
 * chain), the ledger deployed once, the three meters registered in one area, real libp2p on loopback
 * with static peers (no mDNS), real Helia on the mesh host, virtual meters on accelerated time.
 *   - a flame at one home → its alarm → a signed alert at the neighbours' /api/notices;
 *   - a utility notice over the mesh is shown, a forged one is refused and counted;
 *   - a sealed period is pinned by neighbours (backup status per period in /api/mesh);
 *   - the utility observer's /api/utility/aggregates holds exact area totals and a forecast;
 *   - a home whose disk is wiped but for its key files restarts without its virtual meter (as with a
 *     hardware meter: no meter key in use), is admitted by the neighbours on its household account's
 *     signature, and gets its sealed periods back from them: vault, history and export as before the loss;
 *   - the nodes stop cleanly.
 * No tariff is published, so bills wait for one and nothing is proved or submitted: that keeps three
 * nodes within two cores, and means the registered start counters below are never checked.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hexToBytes } from '#protocol/eip712.ts'
import {
  type DevChain,
  devAccount,
  type JsonRpcServerHandle,
  jsonRpcProvider,
  serveJsonRpc,
  startDevChain,
} from '../../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../../contracts/ts/compile.ts'
import { deployLedger } from '../../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../../test/support/load.ts'
import { withToken } from '../../../../test/support/node-auth.ts'
import { reservePort as freePort } from '../../../../test/support/ports.ts'
import { waitFor } from '../../../../test/support/wait.ts'
import { type HouseholdNode, startHouseholdNode } from '../../../src/app/node.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../../../src/config.ts'
import { type HouseholdIdentity, initHousehold, openHousehold } from '../../../src/identity/identity.ts'
import { createLogger } from '../../../src/log/logger.ts'
import { loadOrCreateMeshKeys } from '../../../src/mesh/household/keys.ts'
import { createNotice } from '../../../src/mesh/notices.ts'
import { signerFromPrivateKey } from '../../../src/mesh/signing.ts'

const AREA = 5
const HOMES = 3
/** Simulated seconds per second: a day in 15 s, an interval (a mesh round) every ~160 ms. */
const SPEED = 5760

let chain: DevChain
let rpc: JsonRpcServerHandle
let provider: Awaited<ReturnType<typeof jsonRpcProvider>>
let ledgerAddress: string
const dirs: string[] = []
const nodes: HouseholdNode[] = []
const configs: NodeConfig[] = []
const logs: Record<string, unknown>[][] = []

async function api<T>(i: number, path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${nodes[i]?.urls.api}${path}`, withToken(nodes[i]?.adminToken, init))
  const body = await res.json()
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`)
  return body as T
}

interface NoticeView {
  source: string
  via?: string
  kind: string | number
  message: string
  meter?: string
}
interface MeshView {
  running: boolean
  members: number
  connectedAreaPeers: number
  noticesRejected: number
  backups: { periodStart: number; manifestCid: string; pinnedBy: { peerId: string }[]; status: string }[]
}
interface Aggregates {
  available: boolean
  area: number
  series: { time: number; totalWh: number; households: number }[]
  forecast: { time: number; wh: number; low: number; high: number }[]
}

beforeAll(async () => {
  chain = await startDevChain({ accounts: 4 })
  rpc = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0 })
  provider = await jsonRpcProvider(rpc.url)
  const utility = new Wallet(devAccount(0).privateKey, provider)
  const ledger = await deployLedger(utility, await compileLedger('test'), { slots: 96, maxIntervals: 192 })
  ledgerAddress = ledger.address.toLowerCase()

  // Each home: keys, mesh identity (so neighbours can list each other as static peers), a port.
  const now = Math.floor(Date.now() / 1000)
  const midnight = now - (now % 86_400)
  const homes: { dataDir: string; identity: HouseholdIdentity; peerId: string; port: number }[] = []
  for (let i = 0; i < HOMES; i++) {
    const dataDir = await mkdtemp(join(tmpdir(), `zkmeter-mesh-home${i}-`))
    dirs.push(dataDir)
    const identity = await initHousehold(dataDir, { dev: true })
    const keys = await loadOrCreateMeshKeys(dataDir)
    homes.push({ dataDir, identity, peerId: keys.peerId, port: await freePort() })
    // The virtual meter starts at midnight (fresh data dir); its first period starts an hour later.
    await ledger.registerMeter({
      meter: identity.meter.address,
      household: identity.walletAddress,
      areaId: AREA,
      startTime: midnight + 3600,
      startCounter: 0,
    })
  }
  configs.push(
    ...homes.map((home, i) => ({
      ...structuredClone(DEFAULT_CONFIG),
      dataDir: home.dataDir,
      http: { host: '127.0.0.1', port: 0 },
      chain: { rpcUrl: rpc.url, embeddedPort: 0, ledger: ledgerAddress },
      mqtt: { url: undefined, embeddedPort: 0 },
      // One live sample per interval: at 5760× a sample every simulated minute is 96 signed records a
      // second per home, each signed by its meter and verified by its node in this one process — most
      // of its CPU, and what this test does not look at.
      meter: { simulated: true, speed: SPEED, periodDays: 1, livePeriodSeconds: 900 },
      mesh: {
        enabled: true,
        listen: [`/ip4/127.0.0.1/tcp/${home.port}`],
        peers: homes
          .filter((_, j) => j !== i)
          .map((other) => `/ip4/127.0.0.1/tcp/${other.port}/p2p/${other.peerId}`),
        mdns: false,
        // Home 0 also runs the utility's observer (on the embedded dev chain that is the default).
        observer: i === 0,
        privacyBudget: DEFAULT_CONFIG.mesh.privacyBudget,
      },
      dev: true,
    })),
  )
  // Started together, so the virtual meters' simulated clocks (the aggregation rounds) stay close.
  const started = await Promise.all(
    homes.map((home, i) => {
      const entries: Record<string, unknown>[] = []
      logs.push(entries)
      return startHouseholdNode(configs[i] as NodeConfig, home.identity, {
        log: createLogger({ sink: (entry) => void entries.push({ at: Date.now(), ...entry }) }),
      })
    }),
  )
  nodes.push(...started)
}, 120_000)

afterAll(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
  provider?.destroy()
  await rpc?.close()
  await chain?.close()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('household nodes as neighbours on the mesh', () => {
  it('become members of one area, connected to each other', async () => {
    await waitFor(
      'every home to see the others',
      async () => {
        const all = await Promise.all(nodes.map((_, i) => api<MeshView>(i, '/api/mesh')))
        return all.every((m) => m.running && m.members === HOMES && m.connectedAreaPeers === HOMES - 1)
          ? true
          : undefined
      },
      30_000,
    )
    const status = await api<{ mesh: { enabled: boolean; area: number; connectedAreaPeers: number } }>(
      1,
      '/api/status',
    )
    expect(status.mesh).toMatchObject({ enabled: true, area: AREA, connectedAreaPeers: HOMES - 1 })
  })

  it('sends a fire alarm to the neighbours, who show it in /api/notices', async () => {
    const sender = nodes[1] as HouseholdNode
    // Home 0's live stream, read until the neighbour's alert is pushed on it.
    const abort = new AbortController()
    const streamed = (async () => {
      const res = await fetch(
        `${nodes[0]?.urls.api}/api/stream`,
        withToken(nodes[0]?.adminToken, { signal: abort.signal }),
      )
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      // Only the unfinished frame is kept: the stream carries every live reading at 5760× speed, and
      // re-splitting all text read so far (as this test did) cost seconds of CPU in this process.
      let tail = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return undefined
        const frames = (tail + decoder.decode(value, { stream: true })).split('\n\n')
        tail = frames.pop() ?? ''
        const frame = frames.find((f) => f.includes('event: notice'))
        if (frame) return JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as NoticeView
      }
    })()
    const started = Date.now()
    await sender.context.meter?.injectHazard('flame', true)
    const seen = await Promise.all(
      [0, 2].map((i) =>
        waitFor(
          `the alert at home ${i}`,
          async () => {
            const { notices } = await api<{ notices: NoticeView[] }>(i, '/api/notices')
            const alert = notices.find((n) => n.source === 'neighbour' && n.kind === 'fire')
            return alert ? { alert, at: Date.now() } : undefined
          },
          scaledBudget(10_000),
        ),
      ),
    )
    const alarms = await api<{ alarms: { kind: string; raisedAt: string }[] }>(1, '/api/alarms')
    const raisedAt = Date.parse(alarms.alarms.find((a) => a.kind === 'fire')?.raisedAt ?? '')
    for (const { alert, at } of seen) {
      expect(alert.meter).toBe(sender.context.identity.meter.address)
      // Measured: hazard injected → shown at a neighbour; alarm raised → shown at a neighbour.
      console.info(
        `alert latency: ${at - started} ms from the flame, ${at - raisedAt} ms from the alarm being raised`,
      )
      // Typically well under a second; the bound leaves room for a machine saturated by other runs.
      expect(at - started).toBeLessThan(scaledBudget(10_000))
    }
    expect(await streamed).toMatchObject({ source: 'neighbour', kind: 'fire' })
    abort.abort()
    await sender.context.meter?.injectHazard('flame', false)
    // Acknowledged by the mesh protocol (both neighbours acked), and surfaced once: no duplicates.
    await waitFor(
      'the sender to log full delivery',
      async () =>
        logs[1]?.find((e) => e.msg === 'alarm sent to the neighbours' && e.acked === 2 && e.unacked === 0),
      scaledBudget(10_000),
    )
    await new Promise((r) => setTimeout(r, 1000))
    for (const i of [0, 2]) {
      const { notices } = await api<{ notices: NoticeView[] }>(i, '/api/notices')
      expect(notices.filter((n) => n.source === 'neighbour')).toHaveLength(1)
    }
  })

  it(
    'has a sealed period pinned by neighbours',
    async () => {
      const owner = 2
      const entry = await waitFor(
        'a backed-up period',
        async () => {
          const { backups } = await api<MeshView>(owner, '/api/mesh')
          return backups.find((b) => b.status === 'done')
        },
        // A day's period must close first (the meter's accelerated day), then two neighbours pin it:
        // 44.5 s measured alone on a quiet machine, 69 s beside two other system files, over 120 s in
        // one whole-suite run (2026-12-07): three nodes prove, aggregate and gossip in this process.
        240_000,
      ).catch(async (error: unknown) => {
        // Say where it stopped: no period sealed, or sealed and not pinned (and why not).
        const periods = await nodes[owner]?.context.vault.listPeriods()
        const { backups } = await api<MeshView>(owner, '/api/mesh')
        const warnings = logs.flatMap((entries, home) =>
          entries
            .filter((e) => e.level !== 'debug' && e.level !== 'info' && e.source !== 'billing')
            .map((e) => ({ home, ...e }) as Record<string, unknown>),
        )
        console.error('backup wait failed', {
          homes: nodes.map((n) => n.context.mesh?.peerId),
          periods: periods?.map((p) => ({ start: p.periodStart, status: p.status })),
          backups: backups.slice(0, 4).map((b) => ({ ...b, pinnedBy: b.pinnedBy.map((p) => p.peerId) })),
          warnings: [
            ...warnings.filter((w) => !String(w.msg).startsWith('refused bitswap')).slice(-20),
            ...warnings.filter((w) => String(w.msg).startsWith('refused bitswap')).slice(0, 3),
          ],
        })
        throw error
      })
      expect(entry.pinnedBy).toHaveLength(2)
      // Measured: sealed → first and second neighbour pin.
      const sealedAt = logs[owner]?.find((e) => e.msg === 'backing up a sealed period with neighbours')
        ?.at as number
      const pinnedAt = logs[owner]
        ?.filter((e) => e.msg === 'a neighbour pinned a sealed period')
        .map((e) => (e.at as number) - sealedAt)
      console.info(`backup: pinned by neighbours ${pinnedAt?.join(' ms, ')} ms after sealing`)
      const cid = CID.parse(entry.manifestCid)
      for (const { peerId } of entry.pinnedBy) {
        const neighbour = nodes.find((n) => n.context.mesh?.peerId === peerId)
        expect(neighbour).toBeDefined()
        expect(neighbour).not.toBe(nodes[owner])
        expect(await neighbour?.context.mesh?.helia?.pins.isPinned(cid)).toBe(true)
      }
      // The owner can ask the neighbours what they keep for it (the restore path, by root key alone).
      const { restored } = await api<{ restored: string[] }>(owner, '/api/mesh/restore', { method: 'POST' })
      expect(restored).toContain(entry.manifestCid)
    },
    scaledBudget(300_000),
  )

  it('gives the utility noisy area totals and a forecast, never one home’s value', async () => {
    const aggregates = await waitFor(
      'area totals and a forecast',
      async () => {
        const a = await api<Aggregates>(0, '/api/utility/aggregates')
        return a.available && a.forecast.length > 0 ? a : undefined
      },
      90_000,
    )
    expect(aggregates.area).toBe(AREA)
    expect(aggregates.forecast).toHaveLength(24)
    for (const f of aggregates.forecast) expect(f.low).toBeLessThanOrEqual(f.high)
    // Every total covers all three homes, and equals the sum of their own interval readings.
    const full = aggregates.series.filter((p) => p.households === HOMES)
    expect(full.length).toBeGreaterThan(100)
    for (const point of full.slice(-20)) {
      const own = nodes.map(
        (n) => n.context.history.intervals(point.time, point.time + 1)[0]?.intervalWh as number,
      )
      expect(own.every((wh) => Number.isInteger(wh))).toBe(true)
      // Each share carries its home's noise (σ = 50 Wh, docs/aggregation.md §7): the total is the sum of
      // the readings within six standard deviations of three homes' noise, and no longer exact.
      const sum = own.reduce((a, b) => a + b, 0)
      expect(Math.abs(point.totalWh - sum)).toBeLessThanOrEqual(6 * 50 * Math.sqrt(HOMES))
    }
    // A home that is not the observer has no aggregates to give.
    expect((await api<Aggregates>(1, '/api/utility/aggregates')).available).toBe(false)
  })

  it('shows a utility-signed notice from the mesh and refuses a forged one', async () => {
    const domain = { chainId: 31337n, verifyingContract: ledgerAddress as `0x${string}` }
    const now = Math.floor(Date.now() / 1000)
    const window = { area: AREA, kind: 'maintenance' as const, startsAt: now, endsAt: now + 3600 }
    const utility = signerFromPrivateKey(hexToBytes(devAccount(0).privateKey))
    const impostor = signerFromPrivateKey(new Uint8Array(randomBytes(32)))
    const relay = nodes[2]?.context.mesh
    await relay?.publishNotice(
      await createNotice(impostor, domain, { ...window, text: 'forged: pay this address' }),
    )
    await relay?.publishNotice(
      await createNotice(utility, domain, { ...window, text: 'genuine maintenance' }),
    )
    for (const i of [0, 1]) {
      const { notices } = await waitFor(
        `the genuine notice at home ${i}`,
        async () => {
          const n = await api<{ notices: NoticeView[] }>(i, '/api/notices')
          return n.notices.some((x) => x.message === 'genuine maintenance') ? n : undefined
        },
        10_000,
      )
      expect(notices.find((x) => x.message === 'genuine maintenance')).toMatchObject({
        source: 'utility',
        via: 'mesh',
        kind: 'maintenance',
      })
      expect(notices.some((x) => x.message.startsWith('forged'))).toBe(false)
      expect((await api<MeshView>(i, '/api/mesh')).noticesRejected).toBeGreaterThanOrEqual(1)
      expect(logs[i]?.some((e) => e.msg === 'rejected a utility notice: forged')).toBe(true)
    }
  })

  it(
    'restores a wiped home’s sealed periods from its neighbours, with only its key files',
    async () => {
      const owner = 2
      const before = nodes[owner] as HouseholdNode
      // What the neighbours hold for it: every period at least one of them confirmed pinning.
      const { backups } = await api<MeshView>(owner, '/api/mesh')
      const held = backups.filter((b) => b.pinnedBy.length > 0)
      expect(held.length).toBeGreaterThan(0)
      const listedBefore = (await before.context.vault.listPeriods()).filter((p) =>
        held.some((b) => b.manifestCid === p.manifestCid?.toString()),
      )
      expect(listedBefore).toHaveLength(held.length)
      // Each period's interval range, and what the API showed for it before the loss.
      const ranges: { cid: string; from: number; to: number; csv: string; points: unknown }[] = []
      for (const period of listedBefore) {
        const times = (
          (await before.context.vault.readPeriod(period.manifestCid as CID)) as { time: number }[]
        )
          .map((r) => r.time)
          .sort((a, b) => a - b)
        const from = times[0] as number
        const to = (times.at(-1) as number) + 1
        const query = `from=${from}&to=${to}`
        ranges.push({
          cid: (period.manifestCid as CID).toString(),
          from,
          to,
          csv: await (
            await fetch(`${before.urls.api}/api/export.csv?${query}`, withToken(before.adminToken))
          ).text(),
          points: (await api<{ points: unknown }>(owner, `/api/readings?${query}&resolution=interval`))
            .points,
        })
      }
      expect(ranges.every((r) => r.csv.split('\n').length > 10)).toBe(true)

      // The disk is lost: everything but keys/ goes (vault, ingest journal, mesh keys and peer id,
      // backups.json, meter state, bills). The node restarts from the resident's key backup alone.
      // (stop() again in afterAll is a no-op if the restart below fails.)
      await before.stop()
      const config = configs[owner] as NodeConfig
      for (const entry of await readdir(config.dataDir)) {
        if (entry !== 'keys') await rm(join(config.dataDir, entry), { recursive: true, force: true })
      }
      const identity = await openHousehold(config.dataDir, { dev: true })
      const entries: Record<string, unknown>[] = []
      logs[owner] = entries
      // The meter stays unplugged (no virtual meter): what comes back is only what the neighbours held.
      // A new listen port: the neighbours' static entry for the old peer id must not find the new one.
      const restarted = await startHouseholdNode(
        {
          ...config,
          meter: { ...config.meter, simulated: false },
          mesh: { ...config.mesh, listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`] },
        },
        identity,
        { log: createLogger({ sink: (entry) => void entries.push({ at: Date.now(), ...entry }) }) },
      )
      nodes[owner] = restarted
      expect(restarted.context.mesh?.peerId).not.toBe(before.context.mesh?.peerId)
      expect(await restarted.context.vault.listPeriods()).toEqual([])
      expect(restarted.context.history.intervals(0, Number.MAX_SAFE_INTEGER)).toEqual([])
      await waitFor(
        'the restarted home to see both neighbours',
        async () => {
          const m = await api<MeshView>(owner, '/api/mesh')
          return m.members >= HOMES - 1 && m.connectedAreaPeers >= HOMES - 1 ? true : undefined
        },
        30_000,
      )
      // No virtual meter now, so no meter key in use (a hardware meter keeps its own): the node signs for
      // its meter with the household account the ledger registers for it, and the neighbours admit it
      // as that meter's member under the new peer id (docs/mesh.md §11 Identity).
      expect((await api<{ signing: boolean }>(owner, '/api/mesh')).signing).toBe(true)
      const ownMeter = restarted.context.identity.meter.address
      await waitFor(
        'the neighbours to list the restarted home as a member',
        async () =>
          [0, 1].every(
            (i) =>
              nodes[i]?.context.mesh?.mesh.members.get(ownMeter)?.peerId === restarted.context.mesh?.peerId,
          )
            ? true
            : undefined,
        30_000,
      )

      const started = Date.now()
      const report = await api<{
        restored: string[]
        periods: { manifestCid: string; outcome: string; records: number; heldBy: string[] }[]
        neighbours: { listed: number | null }[]
      }>(owner, '/api/mesh/restore', { method: 'POST' })
      console.info(`restore: ${report.periods.length} period(s) adopted in ${Date.now() - started} ms`)
      expect(report.neighbours).toHaveLength(HOMES - 1)
      for (const period of listedBefore) {
        const cid = (period.manifestCid as CID).toString()
        expect(report.restored).toContain(cid)
        expect(report.periods.find((p) => p.manifestCid === cid)).toMatchObject({
          outcome: 'adopted',
          records: period.recordCount,
        })
      }
      // The vault lists them as sealed, exactly as before the loss.
      const listedAfter = await restarted.context.vault.listPeriods()
      for (const period of listedBefore) expect(listedAfter).toContainEqual(period)
      // History and export show the same intervals as before, at once.
      for (const range of ranges) {
        const query = `from=${range.from}&to=${range.to}`
        expect(
          (await api<{ points: unknown }>(owner, `/api/readings?${query}&resolution=interval`)).points,
        ).toEqual(range.points)
        expect(
          await (
            await fetch(`${restarted.urls.api}/api/export.csv?${query}`, withToken(restarted.adminToken))
          ).text(),
        ).toBe(range.csv)
      }
      // Run again: nothing new, nothing refused.
      const again = await api<{ periods: { outcome: string }[] }>(owner, '/api/mesh/restore', {
        method: 'POST',
      })
      expect(again.periods.every((p) => p.outcome === 'present')).toBe(true)
      // Backed up again: the restored periods are back in the backup list (backups.json was lost).
      const { backups: rebacked } = await api<MeshView>(owner, '/api/mesh')
      for (const range of ranges) expect(rebacked.map((b) => b.manifestCid)).toContain(range.cid)
    },
    scaledBudget(240_000),
  )

  it('stops cleanly', async () => {
    const stopped = Date.now()
    await Promise.all(nodes.splice(0).map((n) => n.stop()))
    expect(Date.now() - stopped).toBeLessThan(30_000)
    for (const entries of logs) expect(entries.filter((e) => e.msg === 'error while stopping')).toEqual([])
  })
})
