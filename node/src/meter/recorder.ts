/**
 * Signed records: one SENSOR record (kind 1 at an interval boundary, kind 0 for a live sample) signed,
 * kept in the Resend buffer, persisted and published.
 */
import type { MeterRecordMessage } from '#protocol/eip712.ts'
import { encodeSensorPayload, signRecord } from '#protocol/records.ts'
import type { Persistence } from './persistence.ts'
import { actuators, energyWh, exportedWh, type MeterContext, meterFlow } from './sim-state.ts'

type RecorderContext = Pick<
  MeterContext,
  'o' | 'topics' | 'household' | 'pv' | 'buffer' | 'sim' | 'publisher'
>

/** Records kind 1 (an interval closed) or 0 (a live sample) with the interval's Wh so far, both ways. */
export type RecordFn = (kind: 0 | 1, intervalWh: number, intervalExportedWh: number) => void

export function createRecorder(ctx: RecorderContext, persistence: Pick<Persistence, 'persist'>): RecordFn {
  const { o, sim, household } = ctx
  return (kind, intervalWh, intervalExportedWh) => {
    const act = actuators(sim)
    const t = sim.t
    const message: MeterRecordMessage = {
      seq: sim.seq,
      kind,
      time: t,
      energyWh: energyWh(sim),
      intervalWh,
      exportedWh: exportedWh(sim),
      intervalExportedWh,
      ...meterFlow(ctx, t, act).electrical,
      ...household.sensors(t, act, sim.stimuli),
      hazards: sim.alarms.hazards(),
      relays: act.relays,
      fanSpeed: act.fanSpeed,
    }
    const payload = encodeSensorPayload(message, signRecord(o.domain, o.privateKey, message))
    ctx.buffer.push({ seq: sim.seq, payload })
    sim.seq++
    persistence.persist()
    ctx.publisher.publish(ctx.topics.sensor, payload)
  }
}
