/**
 * The virtual meter: a TypeScript twin of the firmware speaking docs/protocol.md over MQTT. It
 * integrates the household's power into a cumulative Wh counter, publishes a signed record at
 * every interval boundary and a live sample every livePeriodSeconds of simulated time, folds each
 * closed interval into the period commitment as it goes, and signs and publishes the period close
 * at its UTC midnight. Relays, fan and hazard reactions follow the firmware's RelayController.
 *
 * All simulation work is synchronous and driven by the clock; MQTT publishing is the only async
 * part, tracked so that a manual clock's advance() resolves after the broker has accepted every
 * message it caused.
 */
import type { MqttClient } from 'mqtt'
import { deriveSalt } from '#protocol/commitment.ts'
import { addressOfPrivateKey, hexToBytes, type MeterRecordMessage } from '#protocol/eip712.ts'
import { anchorOf, maxPeriodDays, periodEndFor, rescheduledEnd } from '#protocol/meter/period.ts'
import {
  createAlarms,
  createRelayController,
  RELAY_COUNT,
  RELAY_FAN,
  relayBit,
} from '#protocol/meter/relays.ts'
import { encodeState, isoTime, onOff } from '#protocol/meter/status.ts'
import {
  type BillingPeriod,
  encodeGonePayload,
  encodePeriodPayload,
  encodeSensorPayload,
  goneTopic,
  signGone,
  signPeriod,
  signRecord,
} from '#protocol/records.ts'
import { type MeterTopics, meterTopicName, meterTopics } from '#protocol/topics.ts'
import { closeMqtt, connectMqtt } from '../mqtt/client.ts'
import {
  CHECKPOINT_VERSION,
  type KeptClose,
  type MeterCheckpoint,
  readCheckpoint,
  readKeptCloses,
  writeCheckpoint,
  writeKeptCloses,
} from './checkpoint.ts'
import type { SimClock } from './clock.ts'
import { type Command, commandName, parseCommand } from './commands.ts'
import {
  type CommitmentAccumulator,
  createCommitmentAccumulator,
  restoreCommitmentAccumulator,
} from './commitment.ts'
import { InvalidCommandError, MeterStateError } from './errors.ts'
import { createHousehold, type HazardStimuli } from './household.ts'
import { resolveOptions, type VirtualMeterOptions } from './options.ts'
import { createRecordBuffer } from './record-buffer.ts'

export type { VirtualMeterOptions } from './options.ts'

/**
 * Signed period closes the meter keeps for ResendPeriod, as many as the firmware keeps
 * (PERIOD_CLOSES_KEPT, docs/protocol.md §7): the retained PERIOD carries only the last one.
 */
export const RECENT_PERIODS = 48
export type HazardKind = 'flame' | 'gas' | 'water'

export interface OpenPeriod {
  start: number
  end: number
  anchor: number
  startCounter: number
}

export interface MeterState {
  /** Simulated time the meter has processed up to (unix seconds). */
  time: number
  /** The seq the next record will carry. */
  nextSeq: number
  energyWh: number
  /** Wh so far in the current interval. */
  intervalWh: number
  relays: number
  fanSpeed: number
  hazards: number
  periodDays: number
  period: OpenPeriod | undefined
  /** Records kept for Resend (not yet acknowledged). */
  buffered: number
  /** Periods closed since start. */
  periodsClosed: number
  /** Starts of the signed closes kept for ResendPeriod, oldest first. */
  recentPeriods: number[]
  running: boolean
}

export interface VirtualMeter {
  start(): Promise<void>
  stop(): Promise<void>
  /** Lowercase 0x address of the meter key. */
  readonly address: `0x${string}`
  /** Tasmota topic name: zkm_<40 hex>. */
  readonly topic: string
  readonly topics: MeterTopics
  readonly clock: SimClock
  /** Sets or clears a hazard stimulus now; resolves when the reaction has been published. */
  injectHazard(kind: HazardKind, on: boolean): Promise<void>
  state(): MeterState
  /** Resolves when every message published so far has been accepted by the broker. */
  flush(): Promise<void>
}

export function createVirtualMeter(options: VirtualMeterOptions): VirtualMeter {
  const o = resolveOptions(options)
  const address = addressOfPrivateKey(o.privateKey)
  const addressBytes = hexToBytes(address, 20)
  const topic = meterTopicName(address)
  const topics = meterTopics(address)
  const interval = o.intervalSeconds
  const geometry = { intervalSeconds: interval, n: o.periodSize }
  const household = createHousehold({
    seed: o.seed,
    stepSeconds: o.stepSeconds,
    utcOffsetMinutes: o.utcOffsetMinutes,
  })
  let relays = createRelayController()
  let alarms = createAlarms()
  const buffer = createRecordBuffer(o.bufferCapacity)
  const stimuli: HazardStimuli = { flame: false, gas: false, water: false }
  const log = o.log

  let phase: 'idle' | 'starting' | 'running' | 'stopped' = 'idle'
  let client: MqttClient | undefined
  let unsubscribeClock: (() => void) | undefined
  const pending = new Set<Promise<unknown>>()

  // Simulation state. Energy is kept in whole joules (W × s): integer arithmetic makes the
  // counter independent of how time was split into steps.
  let t = 0
  let startedAt = 0
  let joules = 0
  // Counter value that `joules` adds to: initialEnergyWh, or the counter restored from the state file.
  let baseWh = o.initialEnergyWh
  let seq = o.initialSeq
  let intervalStartCounter = o.initialEnergyWh
  // Live samples and STATE are skipped while replaying a gap after a restart (see start()).
  let catchUpUntil = 0
  let periodDays = o.periodDays
  let firstPeriodStart = 0
  let period: (OpenPeriod & { acc: CommitmentAccumulator }) | undefined
  let periodsClosed = 0
  let recentPeriods: KeptClose[] = []

  const energyWh = () => baseWh + Math.floor(joules / 3600)
  const actuators = () => ({ relays: relays.outputs(), fanSpeed: relays.fanSpeed() })

  function checkpoint(withBuffer = false): MeterCheckpoint {
    return {
      v: CHECKPOINT_VERSION,
      meter: address,
      time: t,
      seq,
      energyWh: energyWh(),
      joulesRemainder: joules % 3600,
      intervalStartCounter,
      periodDays,
      firstPeriodStart,
      periodsClosed,
      ...(period && {
        period: {
          start: period.start,
          end: period.end,
          anchor: period.anchor,
          startCounter: period.startCounter,
          acc: period.acc.snapshot(),
        },
      }),
      relays: relays.snapshot(),
      stimuli: { ...stimuli },
      hazards: alarms.hazards(),
      ...(withBuffer && { buffer: buffer.range(0, Number.MAX_SAFE_INTEGER) }),
    }
  }

  /** Saves the state before anything that depends on it leaves the meter. */
  function persist(withBuffer = false): void {
    if (o.stateFile) writeCheckpoint(o.stateFile, checkpoint(withBuffer))
  }

  function restore(saved: MeterCheckpoint): void {
    if (saved.meter !== address) {
      throw new MeterStateError(
        `the state file ${o.stateFile} belongs to meter ${saved.meter}, not ${address}; use another stateFile`,
      )
    }
    t = saved.time
    seq = saved.seq
    baseWh = saved.energyWh
    joules = saved.joulesRemainder
    intervalStartCounter = saved.intervalStartCounter
    periodDays = Math.min(saved.periodDays, maxPeriodDays(geometry))
    firstPeriodStart = saved.firstPeriodStart
    periodsClosed = saved.periodsClosed
    recentPeriods = readKeptCloses(o.stateFile as string)
    period = saved.period && {
      start: saved.period.start,
      end: saved.period.end,
      anchor: saved.period.anchor,
      startCounter: saved.period.startCounter,
      acc: restoreCommitmentAccumulator(saved.period.acc),
    }
    relays = createRelayController(saved.relays)
    alarms = createAlarms(saved.hazards)
    Object.assign(stimuli, saved.stimuli)
    for (const r of saved.buffer ?? []) buffer.push(r)
  }

  function publish(topicName: string, payload: string, retain = false): void {
    const c = client
    if (!c) return
    const p = c.publishAsync(topicName, payload, { qos: 1, retain }).catch((error: Error) => {
      log(`publish to ${topicName} failed: ${error.message}`)
    })
    pending.add(p)
    void p.finally(() => pending.delete(p))
  }

  async function flush(): Promise<void> {
    while (pending.size > 0) await Promise.all([...pending])
  }

  function record(kind: 0 | 1, intervalWh: number): void {
    const act = actuators()
    const message: MeterRecordMessage = {
      seq,
      kind,
      time: t,
      energyWh: energyWh(),
      intervalWh,
      ...household.electrical(t, act),
      ...household.sensors(t, act, stimuli),
      hazards: alarms.hazards(),
      relays: act.relays,
      fanSpeed: act.fanSpeed,
    }
    const payload = encodeSensorPayload(message, signRecord(o.domain, o.privateKey, message))
    buffer.push({ seq, payload })
    seq++
    persist()
    publish(topics.sensor, payload)
  }

  function openPeriod(start: number): void {
    const salt = deriveSalt(o.pairingKey, addressBytes, start)
    period = {
      start,
      end: periodEndFor(start, periodDays, geometry),
      anchor: anchorOf(start),
      startCounter: energyWh(),
      acc: createCommitmentAccumulator(salt, o.periodSize),
    }
  }

  /** Closes the running period at its end and opens the next one; persists before publishing. */
  function closePeriod(current: OpenPeriod & { acc: CommitmentAccumulator }): void {
    const closed: BillingPeriod = {
      meter: address,
      periodStart: current.start,
      periodEnd: current.end,
      startCounter: current.startCounter,
      endCounter: energyWh(),
      commitment: current.acc.finish(),
    }
    const payload = encodePeriodPayload(closed, signPeriod(o.domain, o.privateKey, closed))
    periodsClosed++
    // A close replayed after a crash is byte-identical (RFC 6979): keep one copy.
    recentPeriods = [
      ...recentPeriods.filter((p) => p.periodStart !== closed.periodStart),
      { periodStart: closed.periodStart, payload },
    ].slice(-RECENT_PERIODS)
    if (o.stateFile) writeKeptCloses(o.stateFile, recentPeriods)
    openPeriod(current.end)
    persist()
    publish(topics.period, payload, true)
    log(
      `period ${isoTime(current.start)} – ${isoTime(current.end)} closed: ${closed.endCounter - closed.startCounter} Wh`,
    )
  }

  function closeInterval(): void {
    const counter = energyWh()
    const intervalWh = counter - intervalStartCounter
    intervalStartCounter = counter
    if (period && t - interval >= period.start && t <= period.end) {
      period.acc.add((t - interval - period.anchor) / interval, intervalWh)
    }
    record(1, intervalWh)
    settleBoundary()
  }

  /**
   * Period transitions due at the current time. Also run at start: a meter killed between an
   * interval record and its period close closes the period when it comes back.
   */
  function settleBoundary(): void {
    if (period && t >= period.end) closePeriod(period)
    if (!period && t === firstPeriodStart) {
      openPeriod(t)
      persist()
    }
  }

  function publishState(): void {
    publish(
      topics.state,
      encodeState({
        time: t,
        uptime: t - startedAt,
        relays: relays.outputs(),
        fanSpeed: relays.fanSpeed(),
        // Before the provisioning point the first period is not open yet: report where it will start.
        periodStart: period?.start ?? firstPeriodStart,
        periodDays,
      }),
    )
  }

  /** Publishes stat/ for every relay whose output changed, and RESULT with `extra` keys. */
  function reportRelays(before: number, extra: Record<string, string | number> = {}): void {
    const after = relays.outputs()
    const result: Record<string, string | number> = {}
    for (let n = 1; n <= RELAY_COUNT; n++) {
      const bit = relayBit(n)
      if ((before & bit) !== (after & bit)) result[`POWER${n}`] = onOff((after & bit) !== 0)
    }
    Object.assign(result, extra)
    if (Object.keys(result).length === 0) return
    publish(topics.result, JSON.stringify(result))
    for (const [key, value] of Object.entries(result)) {
      if (key.startsWith('POWER')) publish(topics.power(Number(key.slice(5))), String(value))
    }
  }

  /**
   * Re-reads the sensors, applies the alarm hysteresis and the local safety reaction. Returns
   * true when the hazard bits changed and a live record announcing it was published.
   */
  function evaluateHazards(): boolean {
    const levels = household.sensors(t, actuators(), stimuli)
    const previous = alarms.hazards()
    const bits = alarms.update({ flame: stimuli.flame, gas: levels.gas, water: levels.water })
    const before = relays.outputs()
    relays.apply(bits)
    reportRelays(before)
    // An alarm goes out at once, as a live sample, not at the next scheduled one.
    if (bits !== previous) {
      log(`hazards changed to ${bits} at ${isoTime(t)}`)
      record(0, energyWh() - intervalStartCounter)
      return true
    }
    return false
  }

  const nextMultiple = (value: number, step: number) => (Math.floor(value / step) + 1) * step

  /** Advances the simulation to `target` (whole seconds), emitting every event on the way. */
  function processUntil(target: number): void {
    while (t < target) {
      const next = Math.min(
        nextMultiple(t, o.stepSeconds),
        nextMultiple(t, interval),
        nextMultiple(t, o.livePeriodSeconds),
        nextMultiple(t, o.statePeriodSeconds),
        target,
      )
      joules += household.electrical(t, actuators()).powerW * (next - t)
      t = next
      if (t % interval === 0) closeInterval()
      if (t < catchUpUntil) continue
      if (t % o.livePeriodSeconds === 0 && !evaluateHazards()) record(0, energyWh() - intervalStartCounter)
      if (t % o.statePeriodSeconds === 0) publishState()
    }
  }

  /** Runs simulation work; an unexpected failure is logged and stops the meter's clock, never throws. */
  function safely(what: string, work: () => void): void {
    try {
      work()
    } catch (error) {
      log(`${what} failed: ${(error as Error).message}`)
      if (!(error instanceof InvalidCommandError)) {
        unsubscribeClock?.()
        unsubscribeClock = undefined
        log('the virtual meter stopped simulating after an internal error')
      }
    }
  }

  function applyCommand(command: Command): void {
    const before = relays.outputs()
    switch (command.kind) {
      case 'power': {
        const bit = relayBit(command.relay)
        const key = `POWER${command.relay}`
        const fanBefore = relays.fanSpeed()
        if (command.action !== 'query' && !relays.command(command.relay, command.action)) {
          log(
            `refused ${key} ${command.action}: the appliance circuits stay off while gas or water is detected`,
          )
        }
        const extra: Record<string, string | number> = { [key]: onOff((relays.outputs() & bit) !== 0) }
        if (command.relay === RELAY_FAN && relays.fanSpeed() !== fanBefore) extra.FanSpeed = relays.fanSpeed()
        reportRelays(before, extra)
        return
      }
      case 'fanSpeed': {
        if (command.speed !== 'query') relays.setFanSpeed(command.speed)
        reportRelays(before, { FanSpeed: relays.fanSpeed() })
        return
      }
      case 'periodDays': {
        if (command.days !== 'query') {
          periodDays = command.days
          if (period) period.end = rescheduledEnd(period.start, periodDays, t, geometry)
        }
        publish(topics.result, JSON.stringify({ PeriodDays: periodDays }))
        return
      }
      case 'resend': {
        // Held records are one contiguous run ending at seq − 1: what lies below it is gone for good
        // (acknowledged, or dropped when the buffer overflowed, or lost with the RAM in a crash).
        const held = buffer.oldest ?? seq
        const goneTo = Math.min(command.to, held - 1, seq - 1)
        if (command.from <= goneTo) {
          const gone = { meter: address, fromSeq: command.from, toSeq: goneTo }
          log(`Resend ${command.from}..${command.to}: records ${command.from}..${goneTo} are no longer held`)
          publish(goneTopic(address), encodeGonePayload(gone, signGone(o.domain, o.privateKey, gone)))
        }
        for (const r of buffer.range(command.from, command.to)) publish(topics.sensor, r.payload)
        return
      }
      case 'resendPeriod': {
        const kept = recentPeriods.find((p) => p.periodStart === command.periodStart)
        if (kept === undefined) {
          log(`ResendPeriod ${command.periodStart}: no such close among the last ${RECENT_PERIODS}`)
          return
        }
        // Not retained: the retained PERIOD stays the latest close.
        publish(topics.period, kept.payload)
        return
      }
      case 'simHazard': {
        for (const [kind, on] of Object.entries(command.hazards)) stimuli[kind as HazardKind] = on as boolean
        evaluateHazards()
        return
      }
    }
  }

  function onAck(payload: Buffer): void {
    // An empty retained message is how a node clears its ack: nothing to free.
    if (payload.length === 0) return
    let seqAcked: unknown
    try {
      seqAcked = (JSON.parse(payload.toString('utf8')) as { seq?: unknown })?.seq
    } catch {
      seqAcked = undefined
    }
    if (!Number.isSafeInteger(seqAcked) || (seqAcked as number) < 0) {
      throw new InvalidCommandError('an ack is {"seq":<non-negative integer>}')
    }
    buffer.ack(seqAcked as number)
  }

  function onMessage(topicName: string, payload: Buffer): void {
    safely(`message on ${topicName}`, () => {
      // A command applies at the current simulated time: catch up first.
      if (phase === 'running') processUntil(Math.floor(o.clock.now()))
      if (topicName === topics.ack) {
        onAck(payload)
        return
      }
      const name = commandName(topicName, topic)
      if (name === undefined) return
      applyCommand(parseCommand(name, payload, maxPeriodDays(geometry)))
      persist()
    })
  }

  /** Fresh meter, or the state saved by the previous run; throws MeterStateError if unusable. */
  function prepare(now: number): void {
    const saved = o.stateFile ? readCheckpoint(o.stateFile) : undefined
    if (saved) {
      restore(saved)
      if (now < t) {
        // Simulated time never runs backwards: the meter holds (publishes nothing new) until the
        // clock passes its saved time. Normal after a crash when the clock's own saved time lags
        // the meter's by a tick; start the clock at readMeterCheckpoint(stateFile).time to avoid it.
        log(`the clock (${now}) is ${t - now} s behind the meter's saved time (${t}); waiting for it`)
      }
      if (now - t > o.maxCatchUpSeconds) {
        throw new MeterStateError(
          `the clock (${now}) is ${now - t} s past the meter's saved time (${t}), more than maxCatchUpSeconds ` +
            `(${o.maxCatchUpSeconds}); start the clock at readMeterCheckpoint(stateFile).time or raise the limit`,
          { details: { clock: now, saved: t } },
        )
      }
      catchUpUntil = now
      return
    }
    t = now
    firstPeriodStart = o.firstPeriodStart ?? Math.ceil(t / interval) * interval
    if (firstPeriodStart < t) {
      throw new MeterStateError(
        `firstPeriodStart ${firstPeriodStart} is before the meter's start ${t}: the meter cannot know its counter then`,
      )
    }
    period = undefined
  }

  async function start(): Promise<void> {
    if (phase !== 'idle') throw new MeterStateError(`the virtual meter cannot start: it is ${phase}`)
    phase = 'starting'
    const now = Math.floor(o.clock.now())
    try {
      prepare(now)
      client = await connectMqtt(o.mqttUrl, {
        clientId: topic,
        timeoutMs: o.connectTimeoutMs,
        will: { topic: topics.lwt, payload: Buffer.from('Offline'), qos: 1, retain: true },
      })
    } catch (error) {
      phase = 'idle'
      throw error
    }
    startedAt = now
    const c = client
    c.on('message', onMessage)
    // Tasmota announces itself on every (re)connect.
    c.on('connect', () => publish(topics.lwt, 'Online', true))
    await c.subscribeAsync([topics.commands, topics.ack], { qos: 1 })
    // stop() may have been called while connecting: it found no client to close, so close it here.
    if (phase !== 'starting') {
      client = undefined
      await closeMqtt(c, true)
      return
    }
    publish(topics.lwt, 'Online', true)
    safely('restart', () => {
      settleBoundary()
      // After a restart: replay the gap (interval records and period closes, no live samples).
      processUntil(now)
      persist()
    })
    publishState()
    phase = 'running'
    unsubscribeClock = o.clock.subscribe(async (time) => {
      if (phase !== 'running') return
      safely('simulation', () => processUntil(Math.floor(time)))
      await flush()
    })
    await flush()
  }

  let stopping: Promise<void> | undefined
  function stop(): Promise<void> {
    stopping ??= (async () => {
      const wasRunning = phase === 'running' || phase === 'starting'
      phase = 'stopped'
      unsubscribeClock?.()
      unsubscribeClock = undefined
      const c = client
      if (!c || !wasRunning) return
      c.off('message', onMessage)
      safely('saving state', () => persist(true))
      if (c.connected) {
        publish(topics.lwt, 'Offline', true)
        await flush()
      }
      client = undefined
      await closeMqtt(c, !c.connected)
    })()
    return stopping
  }

  return {
    start,
    stop,
    address,
    topic,
    topics,
    clock: o.clock,
    flush,
    async injectHazard(kind, on) {
      if (kind !== 'flame' && kind !== 'gas' && kind !== 'water') {
        throw new InvalidCommandError(`hazard kind must be flame, gas or water, got ${String(kind)}`)
      }
      if (typeof on !== 'boolean') throw new InvalidCommandError('injectHazard takes a boolean on/off')
      stimuli[kind] = on
      if (phase === 'running') {
        safely('hazard injection', () => {
          processUntil(Math.floor(o.clock.now()))
          evaluateHazards()
          persist()
        })
        await flush()
      }
    },
    state: () => ({
      time: t,
      nextSeq: seq,
      energyWh: energyWh(),
      intervalWh: energyWh() - intervalStartCounter,
      relays: relays.outputs(),
      fanSpeed: relays.fanSpeed(),
      hazards: alarms.hazards(),
      periodDays,
      period: period && {
        start: period.start,
        end: period.end,
        anchor: period.anchor,
        startCounter: period.startCounter,
      },
      buffered: buffer.size,
      periodsClosed,
      recentPeriods: recentPeriods.map((p) => p.periodStart),
      running: phase === 'running',
    }),
  }
}
