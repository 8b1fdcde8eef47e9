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
import {
  type Actuators,
  createHousehold,
  type Electrical,
  type HazardStimuli,
  type Household,
} from './household.ts'
import type { ResolvedOptions } from './options.ts'
import type { Publisher } from './publisher.ts'
import { createPvArray, type PvArray } from './pv.ts'
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
  exportStartCounter: number
}

/** The open period with the commitments (import and export) folded so far. */
export interface RunningPeriod extends OpenPeriod {
  acc: CommitmentAccumulator
  exportAcc: CommitmentAccumulator
}

export interface SimState {
  /** Simulated time the meter has processed up to (unix seconds). */
  t: number
  startedAt: number
  joules: number
  /** Counter value that `joules` adds to: initialEnergyWh, or the counter restored from the state file. */
  baseWh: number
  /** Energy exported (PV output beyond the household's load), whole joules, and its counter's base. */
  exportJoules: number
  baseExportWh: number
  seq: number
  intervalStartCounter: number
  intervalStartExport: number
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
  /** The rooftop array, when the meter has one (options.pv). */
  pv: PvArray | undefined
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
    pv:
      o.pv &&
      createPvArray({
        peakW: o.pv.peakW,
        latitudeDeg: o.pv.latitudeDeg,
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
      exportJoules: 0,
      baseExportWh: o.initialExportedWh,
      seq: o.initialSeq,
      intervalStartCounter: o.initialEnergyWh,
      intervalStartExport: o.initialExportedWh,
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
export const exportedWh = (sim: SimState): number => sim.baseExportWh + Math.floor(sim.exportJoules / 3600)

/**
 * What the meter measures at `t`: the household's load less the array's output. Positive net power
 * is imported, negative exported; the SENSOR's powerW and currentMa are the magnitudes (the
 * direction shows in which counter moves), voltage and power factor the household's.
 */
export function meterFlow(
  ctx: Pick<MeterContext, 'household' | 'pv'>,
  t: number,
  act: Actuators,
): { importW: number; exportW: number; electrical: Electrical } {
  const load = ctx.household.electrical(t, act)
  const solar = ctx.pv?.powerW(t) ?? 0
  if (solar === 0) return { importW: load.powerW, exportW: 0, electrical: load }
  const net = load.powerW - solar
  const magnitude = Math.abs(net)
  const currentMa = Math.round((magnitude * 1e6) / Math.max(1, load.voltageMv))
  return {
    importW: Math.max(0, net),
    exportW: Math.max(0, -net),
    electrical: { ...load, powerW: magnitude, currentMa },
  }
}
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
  /** The export counter (OBIS 2.8.0) and the Wh exported so far in the current interval. */
  exportedWh: number
  intervalExportedWh: number
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
    exportedWh: exportedWh(sim),
    intervalExportedWh: exportedWh(sim) - sim.intervalStartExport,
    relays: sim.relays.outputs(),
    fanSpeed: sim.relays.fanSpeed(),
    hazards: sim.alarms.hazards(),
    periodDays: sim.periodDays,
    period: period && {
      start: period.start,
      end: period.end,
      anchor: period.anchor,
      startCounter: period.startCounter,
      exportStartCounter: period.exportStartCounter,
    },
    buffered: buffer.size,
    periodsClosed: sim.periodsClosed,
    recentPeriods: sim.recentPeriods.map((p) => p.periodStart),
    running,
  }
}
