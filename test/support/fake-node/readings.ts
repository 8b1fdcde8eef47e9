/**
 * The fake node's meter data: the latest reading from the fixture, a smooth synthetic history
 * (the same curve for any range, so charts are reproducible), today's fixed summary, and an
 * ingestor that has seen nothing unusual.
 */
import type { HistoryPoint } from '#protocol/api/types.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { DAY, type FakeNodeState, METER, NOW } from './fixtures.ts'

const STEP = { interval: 900, hour: 3600, day: DAY } as const

/** The history's points from `from` to `to`: a daily sine of 400–700 W average. */
function points(from: number, to: number, step: number): HistoryPoint[] {
  const out: HistoryPoint[] = []
  for (let t = from - (from % step) + step; t <= to; t += step) {
    const energyWh = Math.round((step / 3600) * (400 + 300 * Math.sin((t / 3600) * 0.5) ** 2))
    out.push({
      time: t,
      energyWh,
      costWei: String(BigInt(energyWh) * 1_000_000_000_000n),
      avgPowerW: energyWh,
      maxPowerW: energyWh * 2,
    })
  }
  return out
}

export function fakeReadings(state: FakeNodeState): Pick<RoutesContext, 'history' | 'ingestor'> {
  return {
    history: {
      add: () => {},
      fill: () => {},
      latest: () => state.latest,
      query: (from, to, resolution) => points(from, to, STEP[resolution]),
      today: () => ({ day: NOW - (NOW % DAY), energyWh: 8_421, costWei: '8421000000000000', powerW: 1500 }),
      intervals: () => [],
      absorb: () => {},
      loading: () => {},
      whenLoaded: () => Promise.resolve(),
    },
    ingestor: {
      status: () => [{ meter: METER, ackedSeq: state.latest?.seq ?? -1 }],
      counters: () => ({}),
      anomalies: () => [],
    },
  }
}
