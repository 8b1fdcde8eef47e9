/**
 * The team's virtual meter against the ingestor over the embedded broker: a simulated day of a
 * believable household (live samples every minute, interval closes, period closes) arrive without
 * a single rejection, the meter's buffer is freed by the node's acks, and the period assembles to
 * the meter's own commitment.
 */
import { expect, it } from 'vitest'
import { commit } from '#protocol/commitment.ts'
import { createManualClock } from '../../src/meter/index.ts'
import { DAY0, N, until } from './helpers.ts'
import { virtualMeterStack } from './virtual-meter-stack.ts'

const clock = createManualClock(DAY0)
const stack = virtualMeterStack({ keyFill: 9, pairingFill: 77, clock, firstPeriodStart: DAY0 })

it('ingests a simulated day of the virtual meter and reproduces its period commitment', async () => {
  for (let h = 1; h <= 25; h++) await clock.advanceTo(DAY0 + h * 3600)
  await until(() => stack.ingestor.periods().length === 1, 60_000)
  expect(stack.ingestor.anomalies().filter((a) => a.rejected)).toEqual([])
  for (const p of stack.ingestor.periods()) {
    expect(commit(p.readings, p.salt, N)).toBe(p.period.commitment)
    const sum = p.readings.reduce((a, b) => a + b, 0)
    expect(sum).toBe(p.period.endCounter - p.period.startCounter)
    expect(sum).toBeGreaterThan(0)
  }
  expect(stack.ingestor.periods().map((p) => [p.period.periodStart, p.period.periodEnd])).toEqual([
    [DAY0, DAY0 + 86_400],
  ])
  const [status] = stack.ingestor.status()
  expect(status?.gaps).toEqual([])
  expect(status?.ackedSeq).toBeGreaterThan(96)
})
