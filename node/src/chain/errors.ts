import { ZkMeterError } from '#protocol/errors.ts'

/** A node on an external chain (RPC_URL) is missing what only the utility can give it. */
export class ExternalChainConfigError extends ZkMeterError {
  override name = 'ExternalChainConfigError'
}

/** `--asset` asks the dev chain for another asset than this data directory's meter is billed in. */
export class AssetConfigError extends ZkMeterError {
  override name = 'AssetConfigError'
}
