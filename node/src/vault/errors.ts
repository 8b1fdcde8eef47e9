import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'

/** Base of every error the vault throws on purpose. */
export class VaultError extends ZkMeterError {
  override name = 'VaultError'
}

/** The root key file does not exist where it was looked for. */
export class KeyFileMissingError extends VaultError {
  override name = 'KeyFileMissingError'
}

/** `createRootKeyFile` refuses to overwrite an existing key: that would orphan every stored batch. */
export class KeyFileExistsError extends VaultError {
  override name = 'KeyFileExistsError'
}

/** The key file is not a well-formed zkmeter root key file (truncated, edited, wrong format or version). */
export class CorruptKeyFileError extends VaultError {
  override name = 'CorruptKeyFileError'
}

/** The passphrase does not open the key file (or the sealed key was tampered with: AEAD cannot tell). */
export class WrongPassphraseError extends VaultError {
  override name = 'WrongPassphraseError'
}

/** The key file is sealed with a passphrase and none was given. */
export class PassphraseRequiredError extends VaultError {
  override name = 'PassphraseRequiredError'
}

/** The key file is an unprotected dev-mode key and the caller did not allow dev mode. */
export class InsecureDevKeyRefusedError extends VaultError {
  override name = 'InsecureDevKeyRefusedError'
}

/** Authenticated decryption failed: wrong key, tampered ciphertext or nonce, or the block belongs elsewhere. */
export class DecryptionError extends VaultError {
  override name = 'DecryptionError'
}

/** A batch's encoded size is above the hard limit (large blocks fail silently in bitswap). */
export class BatchTooLargeError extends InvalidInputError {
  override name = 'BatchTooLargeError'
}

/** The period was sealed: its manifest is final (and may be anchored on-chain), nothing more may be added. */
export class PeriodSealedError extends VaultError {
  override name = 'PeriodSealedError'
}

/** A block is not in the format this version writes (or is not a zkmeter vault block at all). */
export class InvalidBlockError extends VaultError {
  override name = 'InvalidBlockError'
}

/** A manifest block does not decode to a valid zkmeter period manifest. */
export class InvalidManifestError extends InvalidBlockError {
  override name = 'InvalidManifestError'
}

/** A block could not be read locally nor fetched from connected peers in time. */
export class BlockUnavailableError extends VaultError {
  override name = 'BlockUnavailableError'
}

/** A disclosure grant is malformed, or does not open with the given key. */
export class InvalidGrantError extends VaultError {
  override name = 'InvalidGrantError'
}

/** The vault or the storage node was used after `stop()`, or failed to start. */
export class StorageError extends VaultError {
  override name = 'StorageError'
}

/**
 * A manifest handed to adoptSealedPeriod was written under another root key (another household, or a
 * lost key replaced by a new one): its keyCheck does not match the period key derived from ours.
 * A DecryptionError, since that is what it amounts to: this vault cannot open it.
 */
export class ForeignManifestError extends DecryptionError {
  override name = 'ForeignManifestError'
}

/**
 * adoptSealedPeriod found this vault already holding something else for the same meter and period
 * start: a different sealed manifest, or open batches appended since. Adopting would hide or orphan
 * stored data, so it is refused; `details` names both sides.
 */
export class PeriodConflictError extends VaultError {
  override name = 'PeriodConflictError'
}
