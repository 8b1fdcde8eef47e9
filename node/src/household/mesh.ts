/**
 * The household's place in the neighbourhood mesh (docs/mesh.md): builds and starts one mesh node for
 * this home and connects it to the rest of the household node.
 *
 *   alarm manager ── broadcast ──► signed alert to neighbours (ack + retry by the mesh)
 *   neighbours' alerts, utility notices ──► /api/notices + the live stream ('notice')
 *   ingestor 'record' (interval) ──► masked share of this interval's Wh (never the value itself)
 *   ingestor 'period' (sealed) ──► k neighbours pin the encrypted manifest (backup status per period)
 *   observer (the utility; on the dev chain this node) ──► area totals ──► forecast
 *
 * The mesh's libp2p host is also Helia's (one identity, one set of connections): the household node
 * starts the mesh first and stops Helia before it. Keys (libp2p peer key, X25519 aggregation key:
 * mesh-keys.ts) persist under `<dataDir>/mesh/keys.json` (0600) and are never logged.
 */
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import type { MeshBackup, MeshRestoredPeriod, MeshRestoreReport } from '#protocol/api/types.ts'
import type { Eip712Domain } from '#protocol/eip712.ts'
import type { Alarm } from '../automation/alarms.ts'
import type { Hazard } from '../automation/reading.ts'
import type { NodeConfig } from '../config.ts'
import { forecastLoad } from '../forecast/forecast.ts'
import type { SseHub } from '../http/server.ts'
import type { Ingestor, PeriodResult, RecordEvent } from '../ingest/ingestor.ts'
import type { HeliaWithLibp2p } from '../ipfs/helia.ts'
import { type BackupService, backupIdentity, createBackupService } from '../mesh/backup.ts'
import type { AlertKind, NoticeMessage } from '../mesh/codec.ts'
import type { MeshLogger } from '../mesh/context.ts'
import { MeshNotRunningError } from '../mesh/errors.ts'
import { createMeshNode, type MeshNode } from '../mesh/node.ts'
import type { Notice } from '../mesh/notices.ts'
import { ledgerRegistry, type MeterInfo } from '../mesh/registry.ts'
import type { Address, MeshIdentity, MeterSigner } from '../mesh/signing.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import type { AdoptResult, Vault, VaultRecord } from '../vault/index.ts'
import { loadOrCreateMeshKeys } from './mesh-keys.ts'
import { guardStrayDialErrors } from './stray-dial-errors.ts'

type Log = (entry: Record<string, unknown>) => void

/** The area the embedded dev chain registers its meter in (node.ts registers it after the first boundary). */
export const DEV_AREA_ID = 1
/** Neighbours asked to pin each sealed period. */
export const BACKUP_NEIGHBOURS = 2
/** A neighbour's alert stays relevant this long (the mesh re-sends it until every member acked or it expired). */
export const ALERT_TTL_S = 900
/** The aggregation's privacy floor (docs/aggregation.md §4): no round with fewer contributors. */
const MIN_MEMBERS = 3
/** Forecast horizon: the next six hours of 15-minute intervals. */
const FORECAST_HORIZON = 24
const MAX_LISTED = 100
const RETRY_BACKUPS_MS = 30_000
const SAVE_AGGREGATES_MS = 10_000
/** Isolated missing rounds (a failed collection) are interpolated for the forecast; longer gaps cut the series. */
const MAX_INTERPOLATED_GAP = 4

const HAZARD_ALERT: Record<Hazard, AlertKind> = { flame: 'fire', gas: 'gas', water: 'flood' }

// ── views ───────────────────────────────────────────────────────────────────────────────────────

export interface MeshNoticeView {
  source: 'utility' | 'neighbour'
  via: 'mesh'
  id: string
  kind: string
  message: string
  startsAt: number
  endsAt: number
  area: number
  /** Neighbour alerts: the sending meter (what every member of the area sees). */
  meter?: string
}

/** The API's shapes (protocol/api/types.ts, shared with the UI). */
export type BackupEntry = MeshBackup
export type RestoredPeriod = MeshRestoredPeriod
export type RestoreReport = MeshRestoreReport

export interface AggregatePoint {
  time: number
  totalWh: number
  /** How many homes the total covers (never fewer than the privacy floor). */
  households: number
}

// ── the household mesh ──────────────────────────────────────────────────────────────────────────

export interface HouseholdMeshOptions {
  dataDir: string
  config: NodeConfig['mesh']
  /** This meter's ledger areaId. */
  area: number
  domain: Eip712Domain
  ledger: { owner(): Promise<string>; meter(meter: string): Promise<MeterInfo> }
  meterAddress: Address
  /** The virtual meter's key: signs announcements, alerts and acks in-process. Absent for a hardware meter. */
  meterSigner: MeterSigner | undefined
  /**
   * The household account (the wallet the utility registered for this meter on the ledger). A hardware
   * meter keeps its key, so this account signs for the meter instead; receivers accept it because the
   * ledger binds it to this meter (docs/mesh.md §3). Absent (and no meter key): the node only listens.
   */
  householdSigner?: MeterSigner
  /** Whether the meter is registered on the ledger yet (the dev chain registers it after a boundary). */
  registered: boolean
  /** The vault root key: the backup owner key derives from it (a restore needs nothing else). */
  rootKey: Uint8Array
  observer: boolean
  /** The virtual meter runs on accelerated simulated time: rounds are simulated interval ends. */
  simulatedMeter: boolean
  intervalSeconds: number
  slots: number
  log: Log
}

export async function startHouseholdMesh(options: HouseholdMeshOptions) {
  const { log, config } = options
  const keys = await loadOrCreateMeshKeys(options.dataDir)
  const logger: MeshLogger = {
    warn: (message, details) => log({ level: 'warn', source: 'mesh', msg: message, ...details }),
  }
  const utility = (await options.ledger.owner()).toLowerCase() as Address
  // With a virtual meter its own key signs; a hardware meter keeps its key, so the household account
  // signs on its behalf (the ledger registers that account for this meter, which is what neighbours check).
  const speaksAs: MeterSigner | MeshIdentity | undefined =
    options.meterSigner ??
    (options.householdSigner ? { meter: options.meterAddress, signer: options.householdSigner } : undefined)
  const householdSigning = options.meterSigner === undefined && options.householdSigner !== undefined
  /**
   * Neighbours admit the household account only if the ledger registers it for this meter: say so once
   * when it does not (e.g. the utility registered another account), rather than be refused in silence.
   */
  let householdChecked = false
  const checkHousehold = (info: MeterInfo) => {
    if (!householdSigning || householdChecked || !info.registered) return
    householdChecked = true
    const registeredFor = info.household?.toLowerCase()
    const ours = options.householdSigner?.address.toLowerCase()
    if (registeredFor !== ours) {
      log({
        level: 'error',
        source: 'mesh',
        msg: 'the ledger registers another household account for this meter: neighbours will refuse what this node signs for it',
        meter: options.meterAddress,
        registeredHousehold: registeredFor ?? null,
        household: ours,
      })
    }
  }
  if (householdSigning && options.registered)
    await options.ledger.meter(options.meterAddress).then(checkHousehold, () => undefined)
  const mesh: MeshNode = await createMeshNode({
    area: options.area,
    domain: options.domain,
    utility,
    // Cached 10 s: a neighbour registered after we first looked it up is admitted soon after.
    registry: ledgerRegistry(options.ledger, { cacheMs: 10_000 }),
    ...(speaksAs ? { meter: speaksAs } : {}),
    privateKey: keys.privateKey,
    x25519PrivateKey: keys.x25519PrivateKey,
    ...(config.listen ? { listen: config.listen } : {}),
    peers: config.peers,
    mdns: config.mdns,
    aggregation: {
      minMembers: MIN_MEMBERS,
      // Rounds are held in memory until collected; homes' clocks differ by seconds, so keep a few
      // minutes' worth even at the virtual meter's speeds.
      maxRounds: 512,
      // A virtual meter's rounds are simulated interval ends, days or years away from the wall clock
      // at 1440×: the window (a bound on rounds a peer can make us track) cannot be wall-clock there.
      ...(options.simulatedMeter ? { roundWindowS: 100 * 365 * 86_400 } : {}),
    },
    logger,
  })
  const unguard = guardStrayDialErrors(log)
  const paths = {
    backups: join(options.dataDir, 'mesh', 'backups.json'),
    aggregates: join(options.dataDir, 'mesh', 'aggregates.json'),
  }

  // Notices and neighbours' alerts, newest last, bounded.
  const notices: MeshNoticeView[] = []
  let publishStream: ((event: string, data: unknown) => void) | undefined
  const counters = {
    alertsSent: 0,
    alertsReceived: 0,
    noticesReceived: 0,
    noticesRejected: 0,
    sharesContributed: 0,
    sharesSkipped: 0,
    roundsCollected: 0,
    roundsFailed: 0,
  }
  let lastAggregationError: string | null = null
  const remember = (view: MeshNoticeView) => {
    notices.push(view)
    if (notices.length > MAX_LISTED) notices.shift()
    publishStream?.('notice', view)
  }
  mesh.alerts.on('alert', (alert) => {
    counters.alertsReceived++
    remember({
      source: 'neighbour',
      via: 'mesh',
      id: alert.id,
      kind: alert.kind,
      message: `${alert.kind} alarm at a neighbour's home`,
      startsAt: alert.time,
      endsAt: alert.time + alert.ttl,
      area: alert.area,
      meter: alert.meter,
    })
    log({ level: 'warn', source: 'mesh', msg: 'a neighbour raised an alarm', kind: alert.kind, id: alert.id })
  })
  mesh.notices.on('notice', (notice: Notice) => {
    counters.noticesReceived++
    remember({
      source: 'utility',
      via: 'mesh',
      id: notice.id,
      kind: notice.kind,
      message: notice.text,
      startsAt: notice.startsAt,
      endsAt: notice.endsAt,
      area: notice.area,
    })
  })
  // The mesh module logs each rejection with its reason; here it is counted for /api/mesh.
  mesh.notices.on('rejected', () => void counters.noticesRejected++)

  try {
    await mesh.start()
  } catch (error) {
    // e.g. a listen address in use: undo what started, so the node's own unwinding has nothing left here.
    await mesh.stop().catch(() => undefined)
    await Promise.resolve(mesh.libp2p.stop()).catch(() => undefined)
    unguard()
    throw error
  }

  // The dev chain registers this meter only at its first interval boundary: until then neighbours
  // refuse our announcement. Watch for the registration and announce again at once.
  let registrationTimer: ReturnType<typeof setInterval> | undefined
  if (!options.registered) {
    registrationTimer = setInterval(() => {
      void options.ledger.meter(options.meterAddress).then(
        (info) => {
          if (!info.registered) return
          checkHousehold(info)
          clearInterval(registrationTimer)
          registrationTimer = undefined
          if (info.areaId !== options.area) {
            log({
              level: 'error',
              source: 'mesh',
              msg: `the meter was registered in area ${info.areaId}, not ${options.area}: restart the node to join that area`,
            })
            return
          }
          if (mesh.running) mesh.announce().catch(() => undefined)
        },
        () => undefined,
      )
    }, 2000)
  }

  // ── aggregation: contribute every interval; the observer sums each round ──
  const members = () => mesh.members.list().length
  function contribute(round: number, wh: number) {
    if (!mesh.running || mesh.meter === undefined) return
    if (members() < MIN_MEMBERS) {
      counters.sharesSkipped++
      return
    }
    mesh.aggregation.contribute(round, wh).then(
      () => void counters.sharesContributed++,
      (error: unknown) => {
        counters.sharesSkipped++
        // Only the error's name: a contribute() message may quote this home's own value.
        const name = error instanceof Error ? error.name : 'Error'
        if (name !== 'MeshNotRunningError')
          log({ level: 'warn', source: 'mesh', msg: 'share not contributed', round, error: name })
      },
    )
  }

  const series = new Map<number, AggregatePoint>()
  const maxSeries = options.slots * 28
  let seriesDirty = false
  if (options.observer) {
    const saved = (await readJsonFile(paths.aggregates).catch(() => undefined)) as
      | { area?: number; series?: AggregatePoint[] }
      | undefined
    if (saved?.area === options.area && Array.isArray(saved.series)) {
      for (const p of saved.series) {
        if (Number.isSafeInteger(p?.time) && Number.isSafeInteger(p?.totalWh) && p.households >= MIN_MEMBERS)
          series.set(p.time, { time: p.time, totalWh: p.totalWh, households: p.households })
      }
    }
  }
  let collecting = 0
  /**
   * Rounds already being collected or tried (bounded): a round learnt from shares is announced by every
   * member's share, and one collection per round is enough (a second would re-publish its recover).
   */
  const attempted = new Set<number>()
  async function collect(round: number) {
    if (!mesh.running || series.has(round) || attempted.has(round)) return
    if (members() < MIN_MEMBERS || collecting > 200) return
    attempted.add(round)
    if (attempted.size > 4 * maxSeries) attempted.delete(attempted.values().next().value as number)
    collecting++
    try {
      // Homes reach an interval's end within seconds of each other (virtual meters: a few seconds of
      // start-up apart); a share arriving after the wait cannot be summed for this round.
      const result = await mesh.aggregation.collect(round, {
        shareTimeoutMs: 8000,
        shareIdleMs: 8000,
        revealTimeoutMs: 4000,
      })
      if (result.contributors.length < MIN_MEMBERS) return
      series.set(round, {
        time: round,
        totalWh: Number(result.totalWh),
        households: result.contributors.length,
      })
      while (series.size > maxSeries) series.delete(Math.min(...series.keys()))
      seriesDirty = true
      counters.roundsCollected++
    } catch (error) {
      if (!mesh.running) return
      counters.roundsFailed++
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      // Aggregation errors name rounds, counts and meters, never values. Logged once per new reason.
      const reason = text.replace(/\d+/g, '#')
      if (reason !== lastAggregationError?.replace(/\d+/g, '#'))
        log({ level: 'warn', source: 'mesh', msg: 'an aggregation round failed', error: text })
      lastAggregationError = text
    } finally {
      collecting--
    }
  }
  // An observer that speaks for no meter has no interval records of its own to say which rounds run:
  // it collects each round it learns from the members' shares (the first share starts the collection).
  if (options.observer && mesh.meter === undefined)
    mesh.aggregation.on('share', ({ round }) => void collect(round))
  const saveAggregates = async () => {
    if (!seriesDirty) return
    seriesDirty = false
    const sorted = [...series.values()].sort((a, b) => a.time - b.time)
    await writeJsonAtomic(paths.aggregates, { area: options.area, series: sorted })
  }
  const saveTimer = options.observer
    ? setInterval(() => void saveAggregates().catch(() => undefined), SAVE_AGGREGATES_MS)
    : undefined

  let forecastCache:
    | { key: string; forecast: { time: number; wh: number; low: number; high: number }[] }
    | undefined
  /** The longest recent run of rounds one interval apart (short gaps interpolated), oldest first. */
  function recentRun(): AggregatePoint[] {
    const times = [...series.keys()].sort((a, b) => a - b)
    const last = times.at(-1)
    if (last === undefined) return []
    const step = options.intervalSeconds
    const out: AggregatePoint[] = []
    let gap = 0
    for (let t = last; t >= (times[0] as number); t -= step) {
      const point = series.get(t)
      if (point === undefined) {
        if (++gap > MAX_INTERPOLATED_GAP) break
        continue
      }
      // Fill the gap just crossed by linear interpolation between its two neighbours.
      const after = out.at(-1)
      for (let k = gap; k >= 1 && after; k--) {
        const wh = point.totalWh + ((after.totalWh - point.totalWh) * k) / (gap + 1)
        out.push({ time: t + k * step, totalWh: Math.round(wh), households: 0 })
      }
      gap = 0
      out.push(point)
    }
    return out.reverse()
  }
  function forecast() {
    const run = recentRun()
    const needed = 2 * options.slots + FORECAST_HORIZON
    if (run.length < needed) {
      return {
        forecast: [],
        forecastNote: `the forecast needs ${needed} consecutive intervals of area totals (two days and its horizon); ${run.length} so far`,
      }
    }
    const last = run.at(-1) as AggregatePoint
    const key = `${last.time}:${run.length}`
    if (forecastCache?.key !== key) {
      const f = forecastLoad(
        run.map((p) => p.totalWh),
        { period: options.slots, horizon: FORECAST_HORIZON },
      )
      forecastCache = {
        key,
        forecast: f.mean.map((wh, i) => ({
          time: last.time + (i + 1) * options.intervalSeconds,
          wh: Math.round(wh),
          low: Math.round(f.lower[i] as number),
          high: Math.round(f.upper[i] as number),
        })),
      }
    }
    return { forecast: forecastCache.forecast }
  }

  // ── backups ──
  const identity = backupIdentity(options.rootKey)
  let backup: BackupService | undefined
  let helia: HeliaWithLibp2p | undefined
  /** The vault backups read from and a restore adopts into (set by startBackups). */
  let backupVault: Vault | undefined
  const backups: BackupEntry[] = []
  const savedBackups = (await readJsonFile(paths.backups).catch(() => undefined)) as
    | { periods?: BackupEntry[] }
    | undefined
  if (Array.isArray(savedBackups?.periods)) backups.push(...savedBackups.periods)
  let pumping: Promise<void> | undefined
  let pumpAgain = false
  let retryTimer: ReturnType<typeof setInterval> | undefined

  async function pinPending() {
    for (const entry of backups) {
      const service = backup
      if (!mesh.running || service === undefined) return
      if (entry.pinnedBy.length >= BACKUP_NEIGHBOURS) continue
      const self = mesh.peerId
      const connected = new Set(mesh.libp2p.getConnections().map((c) => c.remotePeer.toString()))
      const candidates = mesh.members
        .list()
        .filter((m) => m.peerId !== self && !entry.pinnedBy.some((p) => p.peerId === m.peerId))
        // Connected neighbours first: no dial needed.
        .sort((a, b) => Number(connected.has(b.peerId)) - Number(connected.has(a.peerId)))
      for (const member of candidates) {
        if (entry.pinnedBy.length >= BACKUP_NEIGHBOURS || !mesh.running) break
        entry.attempts++
        try {
          await service.pinWith(peerIdFromString(member.peerId), identity, [entry.manifestCid])
          entry.pinnedBy.push({ peerId: member.peerId, meter: member.meter, at: new Date().toISOString() })
          entry.lastError = null
          log({
            level: 'info',
            source: 'mesh',
            msg: 'a neighbour pinned a sealed period',
            periodStart: entry.periodStart,
            peer: member.peerId,
          })
        } catch (error) {
          entry.lastError = error instanceof Error ? error.message : String(error)
        }
        if (backup === undefined) break // stopping: the request in flight failed or finished
      }
      entry.status =
        entry.pinnedBy.length >= BACKUP_NEIGHBOURS
          ? 'done'
          : entry.pinnedBy.length > 0
            ? 'partial'
            : 'pending'
      await writeJsonAtomic(paths.backups, { periods: backups })
    }
  }
  /** One pinning pass at a time; a request during a pass runs one more pass after it. */
  function pump(): void {
    if (backup === undefined) return
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = pinPending()
      .catch((error) =>
        log({ level: 'warn', source: 'mesh', msg: 'backup pass failed', error: String(error) }),
      )
      .finally(() => {
        pumping = undefined
        if (pumpAgain && mesh.running) {
          pumpAgain = false
          pump()
        }
      })
  }
  function enqueue(periodStart: number, periodEnd: number, manifestCid: string) {
    if (backups.some((b) => b.manifestCid === manifestCid)) return
    backups.push({
      periodStart,
      periodEnd,
      manifestCid,
      pinnedBy: [],
      status: 'pending',
      attempts: 0,
      lastError: null,
    })
    log({ level: 'info', source: 'mesh', msg: 'backing up a sealed period with neighbours', periodStart })
    pump()
  }
  mesh.members.on('member', () => {
    if (backups.some((b) => b.status !== 'done')) pump()
  })

  // ── wiring into the household node ──
  const onRecord = (event: RecordEvent) => {
    if (event.record.kind !== 1 || event.meter !== options.meterAddress) return
    const round = event.record.time
    contribute(round, event.record.intervalWh)
    if (options.observer) void collect(round)
  }
  const onPeriod = (period: PeriodResult) => {
    if (period.meter !== options.meterAddress || period.manifestCid === undefined) return
    enqueue(period.period.periodStart, period.period.periodEnd, period.manifestCid)
  }
  let detach: (() => void) | undefined

  return {
    mesh,
    libp2p: mesh.libp2p,
    peerId: mesh.peerId,
    area: options.area,
    observer: options.observer,
    get helia(): HeliaWithLibp2p | undefined {
      return helia
    },

    /**
     * Serves and requests encrypted backups over Helia (which runs on the mesh host). Periods sealed
     * before this start and not yet backed up are queued too.
     */
    async startBackups(node: HeliaWithLibp2p, vault: Vault): Promise<void> {
      helia = node
      backupVault = vault
      backup = createBackupService({
        helia: node,
        // Only area members (a registered meter, by their signed announcement) may use our disk.
        allowPin: (peer) => mesh.members.meterOfPeer(peer) !== undefined,
        logger,
      })
      await backup.start()
      for (const period of await vault.listPeriods()) {
        if (period.status === 'sealed' && period.manifestCid && period.periodEnd !== undefined)
          enqueue(period.periodStart, period.periodEnd, period.manifestCid.toString())
      }
      retryTimer = setInterval(() => {
        if (backups.some((b) => b.status !== 'done')) pump()
      }, RETRY_BACKUPS_MS)
      pump()
    },
    async stopBackups(): Promise<void> {
      clearInterval(retryTimer)
      const service = backup
      backup = undefined
      await service?.stop()
      // A pin in flight can last a neighbour's whole fetch (minutes): waited for a moment only; it
      // fails when the mesh host stops, and the period stays queued for the next start.
      if (pumping) await Promise.race([pumping, new Promise((r) => setTimeout(r, 2000).unref())])
    },

    /** Interval records feed aggregation, sealed periods feed backups, notices go on the stream. */
    attach(ingestor: Ingestor, stream: SseHub): void {
      ingestor.on('record', onRecord)
      ingestor.on('period', onPeriod)
      publishStream = (event, data) => stream.publish(event, data)
      detach = () => {
        ingestor.off('record', onRecord as never)
        ingestor.off('period', onPeriod as never)
        publishStream = undefined
      }
    },

    /**
     * The alarm manager's broadcast hook: a raised hazard alarm becomes a signed alert to the area.
     * Only 'raised' is sent: an escalation is the same hazard (neighbours already have it and would see
     * a second alert), and the wire format has no all-clear message.
     */
    broadcastAlarm(alarm: Alarm, event: 'raised' | 'escalated' | 'closed'): Promise<void> | undefined {
      if (event !== 'raised' || mesh.meter === undefined || !mesh.running) return undefined
      counters.alertsSent++
      const kind = HAZARD_ALERT[alarm.hazard]
      return mesh.alerts.raise(kind, ALERT_TTL_S).then((delivery) =>
        log({
          level: delivery.unacked.length === 0 ? 'info' : 'warn',
          source: 'mesh',
          msg: 'alarm sent to the neighbours',
          kind,
          id: delivery.id,
          acked: delivery.acked.length,
          unacked: delivery.unacked.length,
        }),
      )
    },

    /** Relays a notice the utility signed (any member may; receivers check the utility signature). */
    publishNotice(message: NoticeMessage): Promise<void> {
      if (!mesh.running) throw new MeshNotRunningError('the mesh is not running')
      return mesh.notices.publish(message)
    },

    notices(): MeshNoticeView[] {
      return [...notices]
    },

    status() {
      const connected = new Set(
        mesh.libp2p
          .getConnections()
          .map((c) => c.remotePeer.toString())
          .filter((peer) => mesh.members.meterOfPeer(peer) !== undefined),
      )
      return {
        enabled: true,
        running: mesh.running,
        peerId: mesh.peerId,
        area: options.area,
        listen: mesh.multiaddrs(),
        /** Members of the area this node knows (itself included once it signs for its meter). */
        members: members(),
        connectedAreaPeers: connected.size,
        signing: mesh.meter !== undefined,
        observer: options.observer,
        ...counters,
        lastAggregationError,
      }
    },

    backups(): BackupEntry[] {
      return structuredClone(backups)
    },

    /**
     * Restore after a disk loss, with only the root key: asks every area neighbour which manifests it
     * keeps for this home (by the backup owner key, derived from the root key), then has the vault
     * adopt each one (fetching the encrypted blocks over bitswap, checking they open under our root
     * key, pinning them) and hands the records of every newly adopted period to `addToHistory`, in
     * period order, as the node does when it loads the vault at start. One period's failure (a block
     * no neighbour sends, a conflicting local period) is reported and does not stop the others.
     */
    async restore(addToHistory: (records: readonly VaultRecord[]) => void): Promise<RestoreReport> {
      const service = backup
      const vault = backupVault
      if (service === undefined || vault === undefined)
        throw new MeshNotRunningError('backups are not running')
      const heldBy = new Map<string, string[]>()
      const neighbours: RestoreReport['neighbours'] = []
      for (const member of mesh.members.list()) {
        // Not ourselves, nor our own meter under the peer id we had before the loss (a neighbour may
        // still relay that old announcement): it is gone with the disk and never held our backups.
        if (member.peerId === mesh.peerId || member.meter === options.meterAddress) continue
        try {
          const cids = await service.listWith(peerIdFromString(member.peerId), identity)
          for (const cid of cids) heldBy.set(cid, [...(heldBy.get(cid) ?? []), member.peerId])
          neighbours.push({ peerId: member.peerId, meter: member.meter, listed: cids.length, error: null })
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          neighbours.push({ peerId: member.peerId, meter: member.meter, listed: null, error: message })
        }
      }
      const periods: RestoredPeriod[] = []
      const adopted: AdoptResult[] = []
      for (const [cid, peers] of [...heldBy].sort(([a], [b]) => a.localeCompare(b))) {
        try {
          const result = await vault.adoptSealedPeriod(cid)
          if (result.outcome === 'adopted') adopted.push(result)
          periods.push({
            manifestCid: cid,
            outcome: result.outcome === 'adopted' ? 'adopted' : 'present',
            meter: result.meter,
            periodStart: result.periodStart,
            periodEnd: result.periodEnd,
            records: result.records.length,
            reason: null,
            heldBy: peers,
          })
          // Back with neighbours again: backups.json went with the disk (a no-op if already queued).
          enqueue(result.periodStart, result.periodEnd, cid)
        } catch (error) {
          // Errors name CIDs, periods and meters, never record values or keys.
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
          periods.push({
            manifestCid: cid,
            outcome: 'refused',
            meter: null,
            periodStart: null,
            periodEnd: null,
            records: null,
            reason,
            heldBy: peers,
          })
          log({ level: 'warn', source: 'mesh', msg: 'a backed-up period was not restored', cid, reason })
        }
      }
      for (const result of adopted.sort(
        (a, b) => a.meter.localeCompare(b.meter) || a.periodStart - b.periodStart,
      )) {
        addToHistory(result.records)
      }
      periods.sort(
        (a, b) => (a.periodStart ?? Number.MAX_SAFE_INTEGER) - (b.periodStart ?? Number.MAX_SAFE_INTEGER),
      )
      const count = (outcome: RestoredPeriod['outcome']) =>
        periods.filter((p) => p.outcome === outcome).length
      log({
        level: 'info',
        source: 'mesh',
        msg: 'restore from neighbours finished',
        neighbours: neighbours.length,
        adopted: count('adopted'),
        present: count('present'),
        refused: count('refused'),
      })
      return {
        restored: periods
          .filter((p) => p.outcome !== 'refused')
          .map((p) => p.manifestCid)
          .sort(),
        periods,
        neighbours,
      }
    },

    /** What GET /api/utility/aggregates answers. */
    aggregates() {
      if (!options.observer) {
        return {
          available: false as const,
          reason:
            'this node does not run the utility observer (it runs where the node is the utility: the dev chain, or --mesh-observer true)',
        }
      }
      if (series.size === 0 && members() < MIN_MEMBERS) {
        return {
          available: false as const,
          reason: `area ${options.area} has ${members()} home(s) on the mesh so far; private aggregation needs at least ${MIN_MEMBERS}, and no total over fewer homes is computed`,
        }
      }
      const sorted = [...series.values()].sort((a, b) => a.time - b.time).slice(-4 * options.slots)
      return {
        available: true as const,
        area: options.area,
        members: members(),
        series: sorted,
        ...forecast(),
      }
    },

    async stop(): Promise<void> {
      clearInterval(registrationTimer)
      clearInterval(saveTimer)
      detach?.()
      await mesh.stop()
      await saveAggregates().catch(() => undefined)
      unguard()
    },
  }
}

export type HouseholdMesh = Awaited<ReturnType<typeof startHouseholdMesh>>
