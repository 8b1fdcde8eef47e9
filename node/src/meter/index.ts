/** The virtual meter's public surface: the meter, its clocks and the household model. */

export { maxPeriodDays, periodEndFor } from '#protocol/meter/period.ts'
export { readMeterCheckpoint } from './checkpoint.ts'
export {
  createManualClock,
  createScaledClock,
  type ManualClock,
  type ScaledClock,
  type SimClock,
} from './clock.ts'
export { createCommitmentAccumulator } from './commitment.ts'
export { InvalidCommandError, InvalidMeterOptionError, MeterStateError } from './errors.ts'
export { createHousehold } from './household.ts'
export {
  createVirtualMeter,
  type HazardKind,
  type MeterState,
  type VirtualMeter,
  type VirtualMeterOptions,
} from './virtual-meter.ts'
