/**
 * The virtual meter: a TypeScript twin of the firmware speaking docs/protocol.md over MQTT. It
 * integrates the household's power into a cumulative Wh counter, publishes a signed record at
 * every interval boundary and a live sample every livePeriodSeconds of simulated time, folds each
 * closed interval into the period commitment as it goes, and signs and publishes the period close
 * at its UTC midnight. Relays, fan and hazard reactions follow the firmware's RelayController.
 *
 * All simulation work is synchronous and driven by the clock; checkpoint writes and MQTT publishing
 * are the async parts: each publish waits for the checkpoint that covers it, and both are tracked so
 * that a manual clock's advance() resolves after the broker has accepted every message it caused.
 */

import { maxPeriodDays } from '#protocol/meter/period.ts'
import type { MeterTopics } from '#protocol/topics.ts'
import { closeMqtt } from '../mqtt/client.ts'
import type { SimClock } from './clock.ts'
import { createCommandHandler } from './command-handler.ts'
import { commandName, parseCommand } from './commands.ts'
import { InvalidCommandError, MeterStateError } from './errors.ts'
import { checkHazardInjection, createHazardMonitor } from './hazards.ts'
import { resolveOptions, type VirtualMeterOptions } from './options.ts'
import { createPeriodCloser } from './period-closer.ts'
import { createPersistence } from './persistence.ts'
import { connectMeter, createPublisher } from './publisher.ts'
import { createRecorder } from './recorder.ts'
import { createMeterContext, type HazardKind, type MeterState, viewState } from './sim-state.ts'
import { createSimulation } from './simulation.ts'
import { createTelemetry } from './telemetry.ts'

export type { VirtualMeterOptions } from './options.ts'
export { RECENT_PERIODS } from './period-closer.ts'
export type { HazardKind, MeterState, OpenPeriod } from './sim-state.ts'

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

/** How long stop() waits for the broker to acknowledge what was published (see stop()). */
export const STOP_FLUSH_MS = 2_000

/** True if `work` settles within `ms`, false otherwise (the work goes on, unawaited). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Wires the one-job modules (docs/virtual-meter.md's table) and runs the meter's start/stop. */
export function createVirtualMeter(options: VirtualMeterOptions): VirtualMeter {
  const o = resolveOptions(options)
  const publisher = createPublisher(o.log)
  const ctx = createMeterContext(o, publisher)
  const { sim, topic, topics, log } = ctx
  const persistence = createPersistence(ctx)
  // Nothing leaves the meter before the checkpoint that covers it is on disk.
  publisher.gate = persistence.durable
  const telemetry = createTelemetry(ctx)
  const record = createRecorder(ctx, persistence)
  const periods = createPeriodCloser(ctx, { record, persistence })
  const evaluateHazards = createHazardMonitor(ctx, { record, telemetry })
  const processUntil = createSimulation(ctx, { periods, evaluateHazards, record, telemetry })
  const commands = createCommandHandler(ctx, { telemetry, evaluateHazards })
  const { persist } = persistence
  const { flush, publish } = publisher

  let phase: 'idle' | 'starting' | 'running' | 'stopped' = 'idle'
  let unsubscribeClock: (() => void) | undefined

  /** Runs simulation work; an unexpected failure is logged and stops the meter's clock, never throws. */
  function safely(what: string, work: () => void): void {
    try {
      work()
    } catch (error) {
      log.info(`${what} failed`, { error })
      if (!(error instanceof InvalidCommandError)) {
        unsubscribeClock?.()
        unsubscribeClock = undefined
        log.info('the virtual meter stopped simulating after an internal error')
      }
    }
  }

  function onMessage(topicName: string, payload: Buffer): void {
    safely(`message on ${topicName}`, () => {
      // A command applies at the current simulated time: catch up first.
      if (phase === 'running') processUntil(Math.floor(o.clock.now()))
      if (topicName === topics.ack) return commands.onAck(payload)
      const name = commandName(topicName, topic)
      if (name === undefined) return
      commands.apply(parseCommand(name, payload, maxPeriodDays(ctx.geometry)))
      persist()
    })
  }

  async function start(): Promise<void> {
    if (phase !== 'idle') throw new MeterStateError(`the virtual meter cannot start: it is ${phase}`)
    phase = 'starting'
    const now = Math.floor(o.clock.now())
    try {
      persistence.prepare(now)
      publisher.client = await connectMeter(o.mqttUrl, topic, topics, o.connectTimeoutMs, {
        password: o.mqttPassword,
        ca: o.mqttCa,
      })
    } catch (error) {
      phase = 'idle'
      throw error
    }
    sim.startedAt = now
    const c = publisher.client
    c.on('message', onMessage)
    // Tasmota announces itself on every (re)connect.
    c.on('connect', () => publish(topics.lwt, 'Online', true))
    await c.subscribeAsync([topics.commands, topics.ack], { qos: 1 })
    // stop() may have been called while connecting: it found no client to close, so close it here.
    if (phase !== 'starting') {
      publisher.client = undefined
      await closeMqtt(c, true)
      return
    }
    publish(topics.lwt, 'Online', true)
    safely('restart', () => {
      periods.settleBoundary()
      // After a restart: replay the gap (interval records and period closes, no live samples).
      processUntil(now)
      persist()
    })
    telemetry.publishState()
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
      const c = publisher.client
      if (!c || !wasRunning) return
      c.off('message', onMessage)
      safely('saving state', () => persist())
      let drained = false
      if (c.connected) {
        publish(topics.lwt, 'Offline', true)
        // Bounded, as a real meter losing power does not wait either: the checkpoint just saved
        // holds every record the broker has not acknowledged, and the next start resends them.
        // Waiting for a backlog the node acknowledges slowly held a household node's stop for 49 s
        // (14,400× time on a busy machine), the whole time ingesting what kept arriving.
        drained = await settlesWithin(flush(), STOP_FLUSH_MS)
      }
      publisher.client = undefined
      await closeMqtt(c, !c.connected || !drained)
      if (!drained) publisher.abandon()
      // The last checkpoint (with the undelivered records) is on disk before stop() resolves.
      await persistence.durable().catch((error: unknown) => log.info('saving state failed', { error }))
    })()
    return stopping
  }

  return {
    start,
    stop,
    address: ctx.address,
    topic,
    topics,
    clock: o.clock,
    flush,
    async injectHazard(kind, on) {
      checkHazardInjection(kind, on)
      sim.stimuli[kind] = on
      if (phase === 'running') {
        safely('hazard injection', () => {
          processUntil(Math.floor(o.clock.now()))
          evaluateHazards()
          persist()
        })
        await flush()
      }
    },
    state: () => viewState(sim, ctx.buffer, phase === 'running'),
  }
}
