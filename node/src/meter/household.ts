/**
 * A believable household, as a pure function of (seed, simulated time, actuator state): appliance
 * loads by hour and weekday, supply voltage with sags under load, the aggregate power factor, and
 * the sensors the firmware reads (LM35 temperature, LDR light, MQ-6 gas, water level). Nothing is
 * stateful, so the same seed gives the same day however the clock is stepped; power is constant
 * within a `stepSeconds` cell so energy integrates identically for any split of time.
 */

import {
  RELAY_AC,
  RELAY_BUZZER,
  RELAY_CIRCUITS,
  RELAY_LIGHTS,
  RELAY_NIGHT_LIGHT,
  RELAY_SPRINKLER,
  RELAY_VENT,
  relayBit,
} from '#protocol/meter/relays.ts'
import { normal, smooth, uniform } from './noise.ts'

export interface Actuators {
  /** Relay outputs, bit (n−1) = POWER<n>. */
  relays: number
  fanSpeed: number
}

export interface Load {
  name: string
  powerW: number
  /** Power factor of this appliance (motors and electronics < 1, heaters = 1). */
  pf: number
}

export interface Electrical {
  powerW: number
  voltageMv: number
  currentMa: number
  /** × 1000 */
  powerFactor: number
}

export interface SensorLevels {
  temperatureCenti: number
  /** permille, 0 = dark */
  light: number
  gas: number
  water: number
}

/** Raw hazard stimuli injected by a test or the SimHazard command. */
export interface HazardStimuli {
  flame: boolean
  gas: boolean
  water: boolean
}

export interface HouseholdOptions {
  seed: number
  /** Power is held constant over cells of this many seconds (the integration step). */
  stepSeconds?: number
  /** Offset of the household's local time from UTC; load peaks follow local hours. */
  utcOffsetMinutes?: number
}

export interface Household {
  readonly stepSeconds: number
  loads(t: number, actuators: Actuators): Load[]
  electrical(t: number, actuators: Actuators): Electrical
  sensors(t: number, actuators: Actuators, stimuli: HazardStimuli): SensorLevels
  /** Outdoor air temperature in °C (drives the fridge duty cycle and the AC). */
  outdoorC(t: number): number
}

const NOMINAL_V = 230
/** Source impedance of the service drop: 10 A sags the voltage by ~4 V. */
const SOURCE_OHMS = 0.4
const FAN_WATTS = [0, 25, 45, 70] as const

// Noise streams: one per independent quantity so they never correlate by accident.
const S = {
  power: 1,
  voltageSlow: 2,
  voltageFast: 3,
  tempDay: 4,
  tempFast: 5,
  cloud: 6,
  gas: 7,
  water: 8,
  breakfast: 10,
  lunch: 11,
  dinner: 12,
  heater: 13,
  tv: 14,
  washer: 15,
  lamps: 16,
  stove: 17,
  fridgePhase: 18,
  standby: 19,
  office: 20,
} as const

const HOUR = 3600
const DAY = 86_400

interface Window {
  start: number
  end: number
}

export function createHousehold(options: HouseholdOptions): Household {
  const seed = options.seed >>> 0
  const step = options.stepSeconds ?? 10
  const offset = (options.utcOffsetMinutes ?? 0) * 60
  const fridgePeriod = 2400
  const fridgeOffset = Math.floor(uniform(seed, S.fridgePhase, 0) * fridgePeriod)

  const cellStart = (t: number) => Math.floor(t / step) * step
  const localDay = (t: number) => Math.floor((t + offset) / DAY)
  /** Seconds since local midnight. */
  const localSecond = (t: number) => (((t + offset) % DAY) + DAY) % DAY
  /** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
  const weekday = (day: number) => (((day + 4) % 7) + 7) % 7
  const isWeekend = (day: number) => weekday(day) === 0 || weekday(day) === 6

  /** A daily event: starts around `at` (± jitter), lasts between min and max; seeded per day. */
  const daily = (
    stream: number,
    day: number,
    at: number,
    jitter: number,
    min: number,
    max: number,
  ): Window => {
    const start = at + (uniform(seed, stream, day * 2) * 2 - 1) * jitter
    return { start, end: start + min + uniform(seed, stream, day * 2 + 1) * (max - min) }
  }
  const within = (s: number, w: Window) => s >= w.start && s < w.end

  function outdoorC(t: number): number {
    const day = (t + offset) / DAY
    const dayOfYear = ((day % 365.2425) + 365.2425) % 365.2425
    const seasonal = 27 + 5 * Math.cos((2 * Math.PI * (dayOfYear - 135)) / 365.2425)
    const hour = localSecond(t) / HOUR
    const diurnal = 5 * Math.cos((2 * Math.PI * (hour - 15)) / 24)
    return seasonal + diurnal + 2 * smooth(seed, S.tempDay, t, DAY) + 0.3 * smooth(seed, S.tempFast, t, 1800)
  }

  function loads(time: number, actuators: Actuators): Load[] {
    const t = cellStart(time)
    const s = localSecond(t)
    const day = localDay(t)
    const weekend = isWeekend(day)
    const out: Load[] = []
    const on = (n: number) => (actuators.relays & relayBit(n)) !== 0

    if (on(RELAY_CIRCUITS)) {
      out.push({ name: 'standby', powerW: 60 + 10 * smooth(seed, S.standby, t, HOUR), pf: 0.6 })
      // Compressor duty grows with the heat around the fridge.
      const duty = Math.min(0.6, Math.max(0.25, 0.35 + 0.015 * (outdoorC(t) - 25)))
      if ((t + fridgeOffset) % fridgePeriod < duty * fridgePeriod)
        out.push({ name: 'fridge', powerW: 120, pf: 0.75 })
      const heater = daily(S.heater, day, 6 * HOUR, 20 * 60, 30 * 60, 60 * 60)
      if (within(s, heater)) out.push({ name: 'water heater', powerW: 2000, pf: 1 })
      const breakfast = daily(
        S.breakfast,
        day,
        6.75 * HOUR + (weekend ? 1.5 * HOUR : 0),
        30 * 60,
        15 * 60,
        30 * 60,
      )
      if (within(s, breakfast)) out.push({ name: 'kettle and toaster', powerW: 1800, pf: 1 })
      // Lunch at home every weekend, on weekdays only some days.
      if (weekend || uniform(seed, S.lunch, day * 3 + 2) < 0.4) {
        const lunch = daily(S.lunch, day, 12.5 * HOUR, 30 * 60, 25 * 60, 40 * 60)
        if (within(s, lunch)) out.push({ name: 'cooking', powerW: 1500, pf: 1 })
      }
      const dinner = daily(S.dinner, day, 19 * HOUR, 45 * 60, 40 * 60, 70 * 60)
      // A stove's thermostat cycles: on in about 70 % of the cells.
      if (within(s, dinner) && uniform(seed, S.stove, t / step) < 0.7)
        out.push({ name: 'cooking', powerW: 2200, pf: 1 })
      const tvEvening = daily(S.tv, day, 19.5 * HOUR, 30 * 60, 3 * HOUR, 4 * HOUR)
      const tvAfternoon = weekend
        ? daily(S.tv, day + 100_000, 14 * HOUR, HOUR, 1.5 * HOUR, 3 * HOUR)
        : undefined
      if (within(s, tvEvening) || (tvAfternoon && within(s, tvAfternoon)))
        out.push({ name: 'tv', powerW: 110, pf: 0.95 })
      // Working from home on some weekdays: a computer and screen through office hours.
      if (!weekend && uniform(seed, S.office, day) < 0.6) {
        const office = daily(S.office, day + 200_000, 9 * HOUR, 30 * 60, 7 * HOUR, 8.5 * HOUR)
        if (within(s, office)) out.push({ name: 'computer', powerW: 120, pf: 0.95 })
      }
      const lamps = daily(S.lamps, day, 18.5 * HOUR, 20 * 60, 4.5 * HOUR, 5.5 * HOUR)
      if (within(s, lamps)) out.push({ name: 'lamps', powerW: 60, pf: 0.9 })
      if (weekend) {
        const wash = daily(S.washer, day, 10 * HOUR, HOUR, 85 * 60, 95 * 60)
        if (within(s, wash)) {
          const into = s - wash.start
          const left = wash.end - s
          if (into < 20 * 60) out.push({ name: 'washing machine', powerW: 2000, pf: 1 })
          else if (left < 10 * 60) out.push({ name: 'washing machine', powerW: 500, pf: 0.85 })
          else out.push({ name: 'washing machine', powerW: 300, pf: 0.85 })
        }
      }
    }
    if (actuators.fanSpeed > 0 && on(1)) {
      out.push({ name: 'ceiling fan', powerW: FAN_WATTS[actuators.fanSpeed as 1 | 2 | 3] ?? 0, pf: 0.85 })
    }
    if (on(RELAY_AC)) {
      // The compressor runs harder and longer the hotter it is; below 24 °C it only ventilates.
      const heat = outdoorC(t) - 24
      const duty = Math.min(1, Math.max(0.1, heat / 8))
      const runs = uniform(seed, S.power + 100, t / step) < duty
      out.push({
        name: 'air conditioner',
        powerW: heat > 0 && runs ? Math.min(1800, 900 + 60 * heat) : 60,
        pf: 0.9,
      })
    }
    if (on(RELAY_LIGHTS)) out.push({ name: 'main lights', powerW: 150, pf: 0.9 })
    if (on(RELAY_NIGHT_LIGHT)) out.push({ name: 'night light', powerW: 8, pf: 0.9 })
    if (on(RELAY_VENT)) out.push({ name: 'vent fan', powerW: 40, pf: 0.8 })
    if (on(RELAY_SPRINKLER)) out.push({ name: 'sprinkler valve', powerW: 8, pf: 0.9 })
    if (on(RELAY_BUZZER)) out.push({ name: 'buzzer', powerW: 3, pf: 1 })
    return out
  }

  function electrical(time: number, actuators: Actuators): Electrical {
    const t = cellStart(time)
    const cell = t / step
    const list = loads(t, actuators)
    // ±2 % measurement and appliance jitter, the same for the whole cell.
    const jitter = 1 + 0.02 * normal(seed, S.power, cell)
    let p = 0
    let apparent = 0
    for (const load of list) {
      p += load.powerW * jitter
      apparent += (load.powerW * jitter) / load.pf
    }
    const base =
      NOMINAL_V + 3 * smooth(seed, S.voltageSlow, t, HOUR) + 0.6 * normal(seed, S.voltageFast, cell)
    const volts = base - SOURCE_OHMS * (apparent / base)
    const pf = p >= 1 ? p / apparent : 0
    const amps = p >= 1 ? p / (volts * pf) : 0
    return {
      powerW: Math.round(p),
      voltageMv: Math.round(volts * 1000),
      currentMa: Math.round(amps * 1000),
      powerFactor: Math.round(pf * 1000),
    }
  }

  function sensors(time: number, actuators: Actuators, stimuli: HazardStimuli): SensorLevels {
    const t = cellStart(time)
    const s = localSecond(t)
    const on = (n: number) => (actuators.relays & relayBit(n)) !== 0
    let indoor = 0.7 * outdoorC(t) + 8
    if (on(RELAY_AC) && indoor > 24) indoor = 24 + (indoor - 24) * 0.3
    if (stimuli.flame) indoor += 15
    const hour = s / HOUR
    const sun = hour > 6 && hour < 18.5 ? Math.sin((Math.PI * (hour - 6)) / 12.5) : 0
    const cloud = 0.75 + 0.25 * smooth(seed, S.cloud, t, 2 * HOUR)
    let light = 900 * sun * cloud
    if (on(RELAY_LIGHTS)) light += 250
    if (on(RELAY_NIGHT_LIGHT)) light += 40
    const cooking = loads(t, actuators).some((l) => l.name === 'cooking')
    const gas = stimuli.gas ? 650 : 25 + 10 * smooth(seed, S.gas, t, HOUR) + (cooking ? 20 : 0)
    const water = stimuli.water ? 800 : 5 + 3 * smooth(seed, S.water, t, 6 * HOUR)
    const clamp = (v: number) => Math.min(1000, Math.max(0, Math.round(v)))
    return {
      temperatureCenti: Math.round(indoor * 100),
      light: clamp(light),
      gas: clamp(gas),
      water: clamp(water),
    }
  }

  return { stepSeconds: step, loads, electrical, sensors, outdoorC }
}
