import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'

/** A createVirtualMeter option is missing or out of range; `details.option` names it. */
export class InvalidMeterOptionError extends InvalidInputError {
  override name = 'InvalidMeterOptionError'
  constructor(option: string, problem: string) {
    super(`virtual meter option ${option} ${problem}`, { details: { option } })
  }
}

/** A command received over MQTT could not be applied; the meter logs it and keeps running. */
export class InvalidCommandError extends InvalidInputError {
  override name = 'InvalidCommandError'
}

/** The meter was used in a state that does not allow it (e.g. started twice, started after stop). */
export class MeterStateError extends ZkMeterError {
  override name = 'MeterStateError'
}
