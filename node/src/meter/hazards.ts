/** Hazard detection: the alarm hysteresis over the sensors and the relays' local safety reaction. */
import { isoTime } from '#protocol/meter/status.ts'
import { InvalidCommandError } from './errors.ts'
import type { RecordFn } from './recorder.ts'
import { actuators, energyWh, exportedWh, type MeterContext } from './sim-state.ts'
import type { Telemetry } from './telemetry.ts'

/**
 * Re-reads the sensors, applies the alarm hysteresis and the local safety reaction. Returns true when
 * the hazard bits changed and a live record announcing it was published.
 */
export type EvaluateHazards = () => boolean

export function createHazardMonitor(
  ctx: Pick<MeterContext, 'household' | 'sim' | 'log'>,
  deps: { record: RecordFn; telemetry: Pick<Telemetry, 'reportRelays'> },
): EvaluateHazards {
  const { sim } = ctx
  return () => {
    const { stimuli } = sim
    const levels = ctx.household.sensors(sim.t, actuators(sim), stimuli)
    const previous = sim.alarms.hazards()
    const bits = sim.alarms.update({ flame: stimuli.flame, gas: levels.gas, water: levels.water })
    const before = sim.relays.outputs()
    sim.relays.apply(bits)
    deps.telemetry.reportRelays(before)
    // An alarm goes out at once, as a live sample, not at the next scheduled one.
    if (bits !== previous) {
      ctx.log.info(`hazards changed to ${bits} at ${isoTime(sim.t)}`)
      deps.record(0, energyWh(sim) - sim.intervalStartCounter, exportedWh(sim) - sim.intervalStartExport)
      return true
    }
    return false
  }
}

/** Checks injectHazard's arguments (they may come from untyped callers); throws InvalidCommandError. */
export function checkHazardInjection(kind: unknown, on: unknown): void {
  if (kind !== 'flame' && kind !== 'gas' && kind !== 'water') {
    throw new InvalidCommandError(`hazard kind must be flame, gas or water, got ${String(kind)}`)
  }
  if (typeof on !== 'boolean') throw new InvalidCommandError('injectHazard takes a boolean on/off')
}
