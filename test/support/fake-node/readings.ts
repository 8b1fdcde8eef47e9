/**
 * The fake node's meter data: the latest reading from the fixture, and the node's own reading
 * history (node/src/history/readings.ts) over 60 days of reproducible 15-minute intervals (a daily
 * sine of 400–700 W average), so history, today and the Energy view come from one set of readings
 * as on the node. Today's intervals are scaled so that today, with the fixture's open interval
 * (312 Wh), is the fixture's 8,421 Wh. An ingestor that has seen nothing unusual, whose meter
 * reports a one-day billing period open since the fixture's midnight.
 */
import { createReadingHistory } from '../../../node/src/history/readings.ts'
import type { RoutesContext } from '../../../node/src/http/context.ts'
import { DAY, type FakeNodeState, METER, NOW } from './fixtures.ts'

const INTERVAL = 900
/** Energy today (UTC, the fake node's zone) with the fixture reading's open interval. */
export const FAKE_TODAY_WH = 8_421

const curve = (t: number) => Math.round((INTERVAL / 3600) * (400 + 300 * Math.sin((t / 3600) * 0.5) ** 2))

function fakeHistory() {
  const history = createReadingHistory({ intervalSeconds: INTERVAL })
  const midnight = NOW - (NOW % DAY)
  for (let t = midnight - 60 * DAY + INTERVAL; t <= midnight; t += INTERVAL) history.fill(t, curve(t))
  const today: number[] = []
  for (let t = midnight + INTERVAL; t <= NOW; t += INTERVAL) today.push(curve(t))
  const target = FAKE_TODAY_WH - 312
  const sum = today.reduce((a, b) => a + b, 0)
  const scaled = today.map((wh) => Math.floor((wh * target) / sum))
  scaled[scaled.length - 1]! += target - scaled.reduce((a, b) => a + b, 0)
  scaled.forEach((wh, i) => {
    history.fill(midnight + (i + 1) * INTERVAL, wh)
  })
  return history
}

export function fakeReadings(state: FakeNodeState): Pick<RoutesContext, 'history' | 'ingestor'> {
  const history = fakeHistory()
  return {
    // The fixture's latest reading, which tests change.
    history: { ...history, latest: () => state.latest },
    ingestor: {
      status: () => [
        {
          meter: METER,
          ackedSeq: state.latest?.seq ?? -1,
          openPeriod: { periodStart: NOW - (NOW % DAY), periodDays: 1 },
        },
      ],
      counters: () => ({}),
      anomalies: () => [],
    },
  }
}
