import { ZkMeterError } from '#protocol/errors.ts'

/** A node on an external chain (RPC_URL) is missing what only the utility can give it. */
export class ExternalChainConfigError extends ZkMeterError {
  override name = 'ExternalChainConfigError'
}
