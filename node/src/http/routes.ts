/**
 * The household node's HTTP API (docs/api.md): thin handlers that validate input, call the
 * services in the context and shape the answer. No business rules live here.
 */
import { join } from 'node:path'
import type { MeshReport } from '#protocol/api/types.ts'
import { hexToBytes } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { meterTopicName } from '#protocol/records.ts'
import type { HouseholdContext } from '../app/node.ts'
import { isChannel, MAX_FAN_SPEED, RELAY_COUNT, type RelayCommand } from '../automation/reading.ts'
import { validateRuleSet } from '../automation/rule-schema.ts'
import { BillNotFailedError } from '../billing/failures.ts'
import { intervalsToCsv, type Resolution } from '../history/readings.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'
import { answer, commandsFor } from '../voice/answer.ts'
import { parse as parseCommand } from '../voice/grammar.ts'
import { type HttpApi, HttpError, NotFoundError } from './server.ts'
import { alarmView, billView } from './views.ts'

const RELAY_NAMES = [
  'Ceiling fan',
  'Air conditioner',
  'Main lights',
  'Night light',
  'Vent fan',
  'Sprinkler valve',
  'Buzzer',
  'Appliance circuits',
]

function time(query: URLSearchParams, key: string, fallback: number): number {
  const raw = query.get(key)
  if (raw === null) return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`query parameter ${key} must be unix seconds, got ${JSON.stringify(raw)}`)
  }
  return value
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** The mesh in /api/status: is it up, and how many of the area's homes are we connected to. */
function meshSummary(ctx: HouseholdContext) {
  if (!ctx.mesh) return { enabled: false }
  const s = ctx.mesh.status()
  return {
    enabled: true,
    running: s.running,
    area: s.area,
    peerId: s.peerId,
    members: s.members,
    connectedAreaPeers: s.connectedAreaPeers,
  }
}

export function registerRoutes(api: HttpApi, ctx: HouseholdContext): void {
  const meter = ctx.identity.meter.address
  const findBill = (id: string) => {
    const bill = ctx.bills.get(id)
    if (!bill) throw new NotFoundError(`no bill with id ${id}`)
    return bill
  }
  const grantsFile = join(ctx.config.dataDir, 'grants.json')

  // ── status ────────────────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/status', () => {
    const latest = ctx.history.latest()
    const lastSeen = ctx.ingestor.status().find((m) => m.meter === meter)
    return {
      ready: true,
      version: '0.1.0',
      dev: ctx.config.dev,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      meter: {
        address: meter,
        topic: meterTopicName(meter),
        online: latest !== undefined,
        lastSeq: latest?.seq ?? null,
        ackedSeq: lastSeen?.ackedSeq ?? null,
        simulated: ctx.meter !== undefined,
        simulatedTime: ctx.meter ? Math.floor(ctx.meter.clock.now()) : null,
      },
      chain: {
        chainId: ctx.chainId.toString(),
        rpcUrl: ctx.rpcUrl,
        ledger: ctx.ledger.address,
        household: ctx.wallet.address,
        devWallet: ctx.config.dev && ctx.utility !== undefined,
      },
      mqtt: { url: ctx.mqttUrl },
      circuit: { profile: ctx.circuit.profile, n: ctx.circuit.n, slots: ctx.circuit.slots },
      mesh: meshSummary(ctx),
    }
  })

  api.route('GET', '/api/chain', () => ({
    chainId: ctx.chainId.toString(),
    chainIdHex: `0x${ctx.chainId.toString(16)}`,
    chainName: ctx.utility ? 'zkmeter dev chain' : `chain ${ctx.chainId}`,
    rpcUrl: ctx.rpcUrl,
    ledger: ctx.ledger.address,
    payBillAbi: 'function payBill(bytes32 billId) payable',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  }))

  // ── readings ──────────────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/readings/latest', () => {
    const reading = ctx.history.latest()
    if (!reading) throw new NotFoundError('no reading has arrived from the meter yet')
    return { reading }
  })

  api.route('GET', '/api/readings', ({ query }) => {
    const now = ctx.history.latest()?.time ?? Math.floor(Date.now() / 1000)
    const to = time(query, 'to', now + 1)
    const from = time(query, 'from', to - 86_400)
    const resolution = (query.get('resolution') ?? 'interval') as Resolution
    if (!['interval', 'hour', 'day'].includes(resolution)) {
      throw new InvalidInputError('resolution must be interval, hour or day')
    }
    if (to < from || to - from > 400 * 86_400) {
      throw new InvalidInputError('from must be before to, and the range at most 400 days')
    }
    return { from, to, resolution, points: ctx.history.query(from, to, resolution, ctx.priceAt) }
  })

  api.route('GET', '/api/summary/today', () => ctx.history.today(ctx.priceAt))

  api.route('GET', '/api/export.csv', ({ query, res }) => {
    const now = ctx.history.latest()?.time ?? Math.floor(Date.now() / 1000)
    const to = time(query, 'to', now + 1)
    const from = time(query, 'from', 0)
    const csv = intervalsToCsv(ctx.history.intervals(from, to), ctx.circuit.intervalSeconds)
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="zkmeter-readings.csv"',
      'cache-control': 'no-store',
    })
    res.end(csv)
  })

  api.route('GET', '/api/anomalies', ({ query }) => ({
    counters: ctx.ingestor.counters(),
    anomalies: ctx.ingestor.anomalies({ since: time(query, 'since', 0) }),
  }))

  // ── bills ─────────────────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/bills', () => ({ bills: ctx.bills.list().map(billView) }))
  api.route('GET', '/api/bills/:id', ({ params }) => ({ bill: billView(findBill(params.id as string)) }))
  api.route('POST', '/api/bills/:id/pay', async ({ params }) => {
    if (!ctx.config.dev || ctx.utility === undefined) {
      throw new HttpError(403, 'the node pays only on the embedded dev chain; pay from your wallet in the UI')
    }
    const bill = findBill(params.id as string)
    if (bill.status !== 'verified' || !bill.chainBillId || bill.total === undefined) {
      throw new HttpError(409, `bill ${bill.id} is ${bill.status}: only a verified, unpaid bill can be paid`)
    }
    const receipt = await ctx.ledger.payBill(bill.chainBillId, BigInt(bill.total))
    const paid = await ctx.biller.markPaid(
      bill.chainBillId,
      receipt.hash as `0x${string}`,
      ctx.wallet.address as `0x${string}`,
    )
    return { txHash: receipt.hash, bill: billView(paid ?? bill) }
  })
  // The resident's retry of a failed bill: 404 unknown, 409 not failed (in progress, waiting or done).
  api.route('POST', '/api/bills/:id/retry', async ({ params }) => {
    const bill = findBill(params.id as string)
    try {
      return { bill: billView(await ctx.biller.retry(bill.id)) }
    } catch (error) {
      if (error instanceof BillNotFailedError) {
        throw new HttpError(409, error.message, { status: error.details.status })
      }
      throw error
    }
  })

  // ── home ──────────────────────────────────────────────────────────────────────────────────
  const outputs = () => {
    const reported = ctx.automation.commander.outputs()
    const fromRecord = ctx.history.latest()
    return {
      relays: Array.from({ length: RELAY_COUNT }, (_, i) => ({
        channel: i + 1,
        name: RELAY_NAMES[i] as string,
        on: reported.relays[i] ?? fromRecord?.relays[i] ?? false,
        known: reported.relays[i] !== undefined || fromRecord !== undefined,
      })),
      fanSpeed: reported.fanSpeed ?? fromRecord?.fanSpeed ?? 0,
    }
  }
  const sendConfirmed = async (command: RelayCommand) => {
    const result = await ctx.automation.send(command)
    if (result.status !== 'confirmed') {
      throw new HttpError(504, `the meter did not confirm the command (${result.reason ?? 'failed'})`, {
        reason: result.reason ?? 'failed',
      })
    }
    return result
  }
  api.route('GET', '/api/relays', outputs)
  api.route('POST', '/api/relays/:channel', async (r) => {
    const channel = Number(r.params.channel)
    if (!isChannel(channel)) throw new InvalidInputError(`relay channel must be 1..${RELAY_COUNT}`)
    const body = object(await r.json())
    if (typeof body.on !== 'boolean') throw new InvalidInputError('body must be { "on": true | false }')
    await sendConfirmed({ kind: 'power', channel, on: body.on })
    return { channel, on: body.on, confirmed: true }
  })
  api.route('POST', '/api/fan', async (r) => {
    const body = object(await r.json())
    const speed = body.speed
    if (!Number.isInteger(speed) || (speed as number) < 0 || (speed as number) > MAX_FAN_SPEED) {
      throw new InvalidInputError(`body must be { "speed": 0..${MAX_FAN_SPEED} }`)
    }
    await sendConfirmed({ kind: 'fanSpeed', speed: speed as number })
    return { speed, confirmed: true }
  })

  api.route('GET', '/api/rules', () => ctx.rules.current())
  // Replace the whole document: validated first, applied against the revision the client read
  // (a concurrent edit is a 409, not a silent overwrite).
  api.route('PUT', '/api/rules', async (r) => {
    const wanted = validateRuleSet(await r.json())
    let set = ctx.rules.current()
    if (wanted.revision !== set.revision) {
      throw new HttpError(
        409,
        `the rules changed since you read them (revision ${set.revision}): reload and retry`,
      )
    }
    const keep = new Set(wanted.rules.map((rule) => rule.id))
    for (const rule of set.rules) if (!keep.has(rule.id)) set = await ctx.rules.delete(rule.id, set.revision)
    for (const rule of wanted.rules) set = await ctx.rules.put(rule, set.revision)
    set = await ctx.rules.setSettings(
      { utcOffsetMinutes: wanted.utcOffsetMinutes, overrideS: wanted.overrideS },
      set.revision,
    )
    ctx.automation.engine.setRules(set)
    return set
  })
  api.route('PUT', '/api/rules/:id', async (r) => {
    const body = object(await r.json())
    if (body.id !== r.params.id) throw new InvalidInputError('the rule id in the body must match the URL')
    const set = await ctx.rules.put(body)
    ctx.automation.engine.setRules(set)
    return set
  })
  api.route('DELETE', '/api/rules/:id', async (r) => {
    const set = await ctx.rules.delete(r.params.id as string)
    ctx.automation.engine.setRules(set)
    return set
  })

  api.route('POST', '/api/command', async (r) => {
    const body = object(await r.json())
    if (typeof body.text !== 'string' || body.text.length > 500) {
      throw new InvalidInputError('body must be { "text": "<at most 500 characters>" }')
    }
    const intent = parseCommand(body.text, ctx.devices)
    const failures: string[] = []
    for (const command of commandsFor(intent)) {
      const result = await ctx.automation.send(command)
      if (result.status !== 'confirmed')
        failures.push(command.kind === 'power' ? `relay ${command.channel}` : 'fan')
    }
    const latest = ctx.history.latest()
    const open = ctx.bills.list().at(-1)
    const state = outputs()
    const reply = answer(intent, {
      devices: ctx.devices,
      relays: state.relays.reduce((bits, r) => bits | (r.on ? 1 << (r.channel - 1) : 0), 0),
      fanSpeed: state.fanSpeed,
      ...(latest ? { powerW: latest.powerW, temperatureCenti: Math.round(latest.temperatureC * 100) } : {}),
      ...(open?.total ? { bill: { energyWh: open.energyWh, totalWei: BigInt(open.total) } } : {}),
    })
    return {
      intent,
      answer: failures.length ? `${reply} (The meter did not confirm: ${failures.join(', ')}.)` : reply,
    }
  })

  // ── safety ────────────────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/alarms', ({ query }) => ({
    alarms: ctx.automation.alarms.list({ includeClosed: query.get('all') === 'true' }).map(alarmView),
  }))
  api.route('POST', '/api/alarms/:id/ack', ({ params }) => ({
    alarm: alarmView(ctx.automation.alarms.acknowledge(params.id as string, 'resident')),
  }))
  // Utility notices from the chain, then what the mesh delivered: utility notices (signature checked
  // against the ledger owner) and neighbours' alerts, oldest first.
  api.route('GET', '/api/notices', async () => ({
    notices: [
      ...(await ctx.ledger.notices()).map((n) => ({
        source: 'utility',
        via: 'chain',
        kind: n.kind,
        area: n.areaId,
        message: n.message,
        startsAt: Number(n.startsAt),
        endsAt: Number(n.endsAt),
      })),
      ...(ctx.mesh?.notices() ?? []),
    ],
  }))

  // ── neighbourhood mesh ────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/mesh', (): MeshReport => {
    if (!ctx.mesh) return { enabled: false }
    return { ...ctx.mesh.status(), backups: ctx.mesh.backups() }
  })
  api.route('POST', '/api/mesh/restore', async () => {
    if (!ctx.mesh) throw new HttpError(409, 'the mesh is disabled (--mesh false): no neighbour holds backups')
    // Adopted periods join the in-memory history at once, as the vault's periods do at start.
    return ctx.mesh.restore((records) => {
      for (const record of records) ctx.history.add(record as never)
    })
  })

  // ── privacy ───────────────────────────────────────────────────────────────────────────────
  api.route('GET', '/api/privacy', async () => {
    const grants = ((await readJsonFile(grantsFile)) as { grants?: unknown[] } | undefined)?.grants ?? []
    return {
      published: ctx.bills
        .list()
        .filter((b) => b.chainBillId)
        .map((b) => ({
          id: b.id,
          billId: b.chainBillId,
          periodStart: b.periodStart,
          periodEnd: b.periodEnd,
          commitment: b.commitment,
          cidDigest: b.cidDigest,
          manifestCid: b.manifestCid,
          total: b.total,
          energyWh: b.energyWh,
          submitTx: b.submitTx,
          proof: b.proof,
        })),
      private: [
        'every interval reading and live sample (encrypted in the vault; the key never leaves this node)',
        'the load profile by time of day',
        'sensor readings (temperature, light, gas, water) and relay history',
        'the salt of each period commitment',
      ],
      grants,
    }
  })
  api.route('POST', '/api/grants', async (r) => {
    const body = object(await r.json())
    const bill = findBill(String(body.billId))
    const recipient = hexToBytes(String(body.recipientPublicKey), 32)
    const grant = await ctx.vault.grant(bill.manifestCid, recipient)
    const existing = ((await readJsonFile(grantsFile)) as { grants?: unknown[] } | undefined)?.grants ?? []
    await writeJsonAtomic(grantsFile, {
      grants: [
        ...existing,
        {
          manifestCid: bill.manifestCid,
          billId: bill.id,
          recipient: body.recipientPublicKey,
          createdAt: new Date().toISOString(),
        },
      ],
    })
    return { grant }
  })

  // ── utility console (dev chain: this node holds the dev utility key) ──────────────────────
  const asUtility = () => {
    if (!ctx.utility) {
      throw new HttpError(
        403,
        'utility actions need the utility key: use the console with your wallet, or `zkmeter utility`',
      )
    }
    return ctx.ledger.connect(ctx.utility)
  }
  api.route('GET', '/api/utility/meters', async () => {
    const state = await ctx.ledger.meter(meter)
    return { meters: [state] }
  })
  api.route('POST', '/api/utility/meters', async (r) => {
    const b = object(await r.json())
    const receipt = await asUtility().registerMeter({
      meter: String(b.meter),
      household: String(b.household),
      areaId: Number(b.areaId),
      startTime: Number(b.startTime),
      startCounter: Number(b.startCounter ?? 0),
    })
    return { txHash: receipt.hash }
  })
  api.route('GET', '/api/utility/tariffs', async () => {
    const count = await ctx.ledger.tariffCount()
    const tariffs = []
    for (let id = 1n; id <= count; id++) tariffs.push(await ctx.ledger.tariff(id))
    return { tariffs }
  })
  api.route('POST', '/api/utility/tariffs', async (r) => {
    const b = object(await r.json())
    if (!Array.isArray(b.prices) || b.prices.length !== ctx.circuit.slots) {
      throw new InvalidInputError(`prices must be ${ctx.circuit.slots} decimal strings (wei per Wh per slot)`)
    }
    const prices = b.prices.map((p, i) => {
      if (typeof p !== 'string' || !/^\d{1,20}$/.test(p))
        throw new InvalidInputError(`prices[${i}] must be a decimal string`)
      return BigInt(p)
    })
    const result = await asUtility().publishTariff({ effectiveFrom: Number(b.effectiveFrom), prices })
    return { tariffId: result.tariffId, tariffHash: result.tariffHash, txHash: result.receipt.hash }
  })
  api.route('GET', '/api/utility/bills', async () => ({
    bills: (await ctx.ledger.bills()).map((b) => ({
      billId: b.billId,
      meter: b.meter,
      household: b.household,
      areaId: b.areaId,
      periodStart: Number(b.period.periodStart),
      periodEnd: Number(b.period.periodEnd),
      energyWh: b.energyWh,
      total: b.total,
      paid: b.paid,
      transactionHash: b.transactionHash,
    })),
  }))
  api.route('GET', '/api/utility/balance', async () => ({ withdrawable: await ctx.ledger.withdrawable() }))
  api.route('POST', '/api/utility/withdraw', async (r) => {
    const b = object(await r.json())
    const receipt = await asUtility().withdraw(String(b.to))
    return { txHash: receipt.hash }
  })
  api.route('POST', '/api/utility/notices', async (r) => {
    const b = object(await r.json())
    const receipt = await asUtility().publishNotice({
      areaId: Number(b.areaId),
      kind: Number(b.kind),
      startsAt: Number(b.startsAt),
      endsAt: Number(b.endsAt),
      message: String(b.message ?? ''),
    })
    return { txHash: receipt.hash }
  })
  // Area totals from private aggregation (sums of masked shares: no home's own value) and their forecast.
  api.route('GET', '/api/utility/aggregates', () =>
    ctx.mesh
      ? ctx.mesh.aggregates()
      : {
          available: false,
          reason: 'the neighbourhood mesh is disabled on this node (--mesh false): no area aggregates',
        },
  )

  api.sse('/api/stream', ctx.stream)
}
