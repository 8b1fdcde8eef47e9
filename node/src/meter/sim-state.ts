/**
 * The virtual meter's state, in one object the one-job modules share explicitly: simulated time, the
 * energy counter, sequence, the open period with its commitment accumulator, relays and alarms. Energy
 * is kept in whole joules (W × s): integer arithmetic makes the counter independent of how time was
 * split into steps.
 */

import { addressOfPrivateKey, hexToBytes } from '#protocol/eip712.ts'
import { createAlarms, createRelayController } from '#protocol/meter/relays.ts'
import { type MeterTopics, meterTopicName, meterTopics } from '#protocol/topics.ts'
import type { Logger } from '../log/logger.ts'
import type { KeptClose } from './checkpoint.ts'
import type { CommitmentAccumulator } from './commitment.ts'
import { createHousehold, type HazardStimuli, type Household } from './household.ts'
import type { ResolvedOptions } from './options.ts'
import type { Publisher } from './publisher.ts'
import { createRecordBuffer, type RecordBuffer } from './record-buffer.ts'

export type HazardKind = 'flame' | 'gas' | 'water'
export type Alarms = ReturnType<typeof createAlarms>
/** The relay board with its snapshot for the state file. */
export type Relays = ReturnType<typeof createRelayController>

export interface OpenPeriod {
  start: number
  end: number
  anchor: number
  startCounter: number
}

/** The open period with the commitment folded so far. */
export interface RunningPeriod extends OpenPeriod {
  acc: CommitmentAccumulator
}

export interface SimState {
  /** Simulated time the meter has processed up to (unix seconds). */
  t: number
  startedAt: number
  joules: number
  /** Counter value that `joules` adds to: initialEnergyWh, or the counter restored from the state file. */
  baseWh: number
  seq: number
  intervalStartCounter: number
  /** Live samples and STATE are skipped while replaying a gap after a restart (see the lifecycle). */
  catchUpUntil: number
  periodDays: number
  firstPeriodStart: number
  period: RunningPeriod | undefined
  periodsClosed: number
  recentPeriods: KeptClose[]
  relays: Relays
  alarms: Alarms
  stimuli: HazardStimuli
}

/** Who the meter is and what it works with: fixed at creation, shared by every module. */
export interface MeterContext {
  o: ResolvedOptions
  address: `0x${string}`
  addressBytes: Uint8Array
  /** Tasmota topic name: zkm_<40 hex>. */
  topic: string
  topics: MeterTopics
  interval: number
  geometry: { intervalSeconds: number; n: number }
  household: Household
  buffer: RecordBuffer
  sim: SimState
  publisher: Publisher
  log: Logger
}

export function createMeterContext(o: ResolvedOptions, publisher: Publisher): MeterContext {
  const address = addressOfPrivateKey(o.privateKey)
  return {
    o,
    address,
    addressBytes: hexToBytes(address, 20),
    topic: meterTopicName(address),
    topics: meterTopics(address),
    interval: o.intervalSeconds,
    geometry: { intervalSeconds: o.intervalSeconds, n: o.periodSize },
    household: createHousehold({
      seed: o.seed,
      stepSeconds: o.stepSeconds,
      utcOffsetMinutes: o.utcOffsetMinutes,
    }),
    buffer: createRecordBuffer(o.bufferCapacity),
    sim: {
      t: 0,
      startedAt: 0,
      joules: 0,
      baseWh: o.initialEnergyWh,
      seq: o.initialSeq,
      intervalStartCounter: o.initialEnergyWh,
      catchUpUntil: 0,
      periodDays: o.periodDays,
      firstPeriodStart: 0,
      period: undefined,
      periodsClosed: 0,
      recentPeriods: [],
      relays: createRelayController(),
      alarms: createAlarms(),
      stimuli: { flame: false, gas: false, water: false },
    },
    publisher,
    log: o.log,
  }
}

export const energyWh = (sim: SimState): number => sim.baseWh + Math.floor(sim.joules / 3600)
export const actuators = (sim: SimState) => ({
  relays: sim.relays.outputs(),
  fanSpeed: sim.relays.fanSpeed(),
})

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

/** The public view of the state (VirtualMeter.state()). */
export function viewState(sim: SimState, buffer: RecordBuffer, running: boolean): MeterState {
  const { period } = sim
  return {
    time: sim.t,
    nextSeq: sim.seq,
    energyWh: energyWh(sim),
    intervalWh: energyWh(sim) - sim.intervalStartCounter,
    relays: sim.relays.outputs(),
    fanSpeed: sim.relays.fanSpeed(),
    hazards: sim.alarms.hazards(),
    periodDays: sim.periodDays,
    period: period && {
      start: period.start,
      end: period.end,
      anchor: period.anchor,
      startCounter: period.startCounter,
    },
    buffered: buffer.size,
    periodsClosed: sim.periodsClosed,
    recentPeriods: sim.recentPeriods.map((p) => p.periodStart),
    running,
  }
}
