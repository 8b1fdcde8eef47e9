/**
 * The sampling and energy model's clock: advances simulated time step by step, integrating the
 * household's power into the counter and emitting every event due on the way (interval records and
 * period closes, live samples, STATE).
 */
import type { EvaluateHazards } from './hazards.ts'
import type { PeriodCloser } from './period-closer.ts'
import type { RecordFn } from './recorder.ts'
import { actuators, energyWh, exportedWh, type MeterContext, meterFlow } from './sim-state.ts'
import type { Telemetry } from './telemetry.ts'

const nextMultiple = (value: number, step: number) => (Math.floor(value / step) + 1) * step

/** Advances the simulation to `target` (whole seconds), emitting every event on the way. */
export type ProcessUntil = (target: number) => void

export function createSimulation(
  ctx: Pick<MeterContext, 'o' | 'interval' | 'household' | 'pv' | 'sim'>,
  deps: {
    periods: Pick<PeriodCloser, 'closeInterval'>
    evaluateHazards: EvaluateHazards
    record: RecordFn
    telemetry: Pick<Telemetry, 'publishState'>
  },
): ProcessUntil {
  const { o, sim, interval } = ctx
  return (target) => {
    while (sim.t < target) {
      const t = sim.t
      const next = Math.min(
        nextMultiple(t, o.stepSeconds),
        nextMultiple(t, interval),
        nextMultiple(t, o.livePeriodSeconds),
        nextMultiple(t, o.statePeriodSeconds),
        target,
      )
      // Two counters, as a bidirectional meter keeps them: net import and net export (PV beyond load).
      const flow = meterFlow(ctx, t, actuators(sim))
      sim.joules += flow.importW * (next - t)
      sim.exportJoules += flow.exportW * (next - t)
      sim.t = next
      if (next % interval === 0) deps.periods.closeInterval()
      if (next < sim.catchUpUntil) continue
      if (next % o.livePeriodSeconds === 0 && !deps.evaluateHazards()) {
        deps.record(0, energyWh(sim) - sim.intervalStartCounter, exportedWh(sim) - sim.intervalStartExport)
      }
      if (next % o.statePeriodSeconds === 0) deps.telemetry.publishState()
    }
  }
}
