/** Tasmota-style telemetry: the periodic STATE message, and stat/ + RESULT when relay outputs change. */
import { RELAY_COUNT, relayBit } from '#protocol/meter/relays.ts'
import { encodeState, onOff } from '#protocol/meter/status.ts'
import type { MeterContext } from './sim-state.ts'

type TelemetryContext = Pick<MeterContext, 'topics' | 'sim' | 'publisher'>

export interface Telemetry {
  publishState(): void
  /** Publishes stat/ for every relay whose output changed, and RESULT with `extra` keys. */
  reportRelays(before: number, extra?: Record<string, string | number>): void
}

export function createTelemetry(ctx: TelemetryContext): Telemetry {
  const { sim, topics, publisher } = ctx
  return {
    publishState() {
      publisher.publish(
        topics.state,
        encodeState({
          time: sim.t,
          uptime: sim.t - sim.startedAt,
          relays: sim.relays.outputs(),
          fanSpeed: sim.relays.fanSpeed(),
          // Before the provisioning point the first period is not open yet: report where it will start.
          periodStart: sim.period?.start ?? sim.firstPeriodStart,
          periodDays: sim.periodDays,
        }),
      )
    },
    reportRelays(before, extra = {}) {
      const after = sim.relays.outputs()
      const result: Record<string, string | number> = {}
      for (let n = 1; n <= RELAY_COUNT; n++) {
        const bit = relayBit(n)
        if ((before & bit) !== (after & bit)) result[`POWER${n}`] = onOff((after & bit) !== 0)
      }
      Object.assign(result, extra)
      if (Object.keys(result).length === 0) return
      publisher.publish(topics.result, JSON.stringify(result))
      for (const [key, value] of Object.entries(result)) {
        if (key.startsWith('POWER')) publisher.publish(topics.power(Number(key.slice(5))), String(value))
      }
    },
  }
}
