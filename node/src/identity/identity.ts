/**
 * The household's keys, created once by `zkmeter init` and opened at every start:
 *   keys/root-key.json   vault root key (passphrase-sealed; or an explicit insecure dev file)
 *   keys/wallet-key.json household account that submits bills (sealed the same way)
 *   keys/meter.json      the paired meter: address + pairing key (+ the virtual meter's signing key)
 * Key bytes never appear in logs or errors; files are created 0600 and never overwritten.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { addressOfPrivateKey, bytesToHex, hexToBytes } from '#protocol/eip712.ts'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { devAccount } from '../../../contracts/ts/chain.ts'
import { createRootKeyFile, openRootKeyFile } from '../vault/index.ts'

export class AlreadyInitializedError extends ZkMeterError {
  override name = 'AlreadyInitializedError'
}
export class NotInitializedError extends ZkMeterError {
  override name = 'NotInitializedError'
}

/** Dev chain accounts: 0 is the utility (ledger owner), 1 the household. Public keys: dev only. */
export const DEV_UTILITY_ACCOUNT = 0
export const DEV_HOUSEHOLD_ACCOUNT = 1

export interface MeterPairing {
  address: `0x${string}`
  pairingKey: Uint8Array
  /** Only for the virtual meter: a real meter keeps its key in firmware. */
  simulatedPrivateKey?: Uint8Array
}

export interface HouseholdIdentity {
  rootKey: Uint8Array
  walletKey: Uint8Array
  walletAddress: `0x${string}`
  meter: MeterPairing
  dev: boolean
}

export interface InitOptions {
  /** Dev mode: unencrypted key files and the chain's public dev household account. */
  dev: boolean
  passphrase?: string
  /** Pair with a real meter (its address and the pairing key provisioned into it). */
  meter?: { address: string; pairingKey: Uint8Array }
}

const paths = (dataDir: string) => ({
  dir: join(dataDir, 'keys'),
  root: join(dataDir, 'keys', 'root-key.json'),
  wallet: join(dataDir, 'keys', 'wallet-key.json'),
  meter: join(dataDir, 'keys', 'meter.json'),
})

function sealing(options: { dev: boolean; passphrase?: string }) {
  if (options.dev) return { insecureDev: true as const }
  if (!options.passphrase) {
    throw new InvalidInputError(
      'a passphrase is required outside dev mode (ZKMETER_PASSPHRASE or --passphrase-file)',
    )
  }
  return { passphrase: options.passphrase }
}

export async function initHousehold(dataDir: string, options: InitOptions): Promise<HouseholdIdentity> {
  const p = paths(dataDir)
  try {
    await readFile(p.meter)
    throw new AlreadyInitializedError(`${dataDir} is already initialised; its keys are never overwritten`)
  } catch (error) {
    if (error instanceof AlreadyInitializedError) throw error
  }
  await mkdir(p.dir, { recursive: true, mode: 0o700 })
  const seal = sealing(options)
  const rootKey = await createRootKeyFile(p.root, seal)
  const walletKey = options.dev
    ? hexToBytes(devAccount(DEV_HOUSEHOLD_ACCOUNT).privateKey)
    : new Uint8Array(randomBytes(32))
  await createRootKeyFile(p.wallet, { ...seal, rootKey: walletKey })

  let meter: MeterPairing
  if (options.meter) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(options.meter.address) || options.meter.pairingKey.length !== 32) {
      throw new InvalidInputError('a meter pairing needs the meter address and a 32-byte pairing key')
    }
    meter = {
      address: options.meter.address.toLowerCase() as `0x${string}`,
      pairingKey: options.meter.pairingKey,
    }
  } else {
    const simulatedPrivateKey = new Uint8Array(randomBytes(32))
    meter = {
      address: addressOfPrivateKey(simulatedPrivateKey),
      pairingKey: new Uint8Array(randomBytes(32)),
      simulatedPrivateKey,
    }
  }
  await writeFile(
    p.meter,
    `${JSON.stringify(
      {
        format: 'zkmeter-meter-pairing',
        version: 1,
        address: meter.address,
        pairingKey: bytesToHex(meter.pairingKey),
        ...(meter.simulatedPrivateKey ? { simulatedPrivateKey: bytesToHex(meter.simulatedPrivateKey) } : {}),
      },
      null,
      2,
    )}\n`,
    { flag: 'wx', mode: 0o600 },
  )
  return { rootKey, walletKey, walletAddress: addressOfPrivateKey(walletKey), meter, dev: options.dev }
}

export async function openHousehold(
  dataDir: string,
  options: { dev: boolean; passphrase?: string },
): Promise<HouseholdIdentity> {
  const p = paths(dataDir)
  let raw: string
  try {
    raw = await readFile(p.meter, 'utf8')
  } catch {
    throw new NotInitializedError(`${dataDir} has no household keys yet: run \`zkmeter init\` first`)
  }
  const open = {
    allowInsecureDev: options.dev,
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
  }
  const rootKey = await openRootKeyFile(p.root, open)
  const walletKey = await openRootKeyFile(p.wallet, open)
  let file: { address?: unknown; pairingKey?: unknown; simulatedPrivateKey?: unknown }
  try {
    file = JSON.parse(raw)
  } catch {
    throw new InvalidInputError(`${p.meter} is not valid JSON`)
  }
  if (typeof file.address !== 'string' || typeof file.pairingKey !== 'string') {
    throw new InvalidInputError(`${p.meter} lacks the meter address or pairing key`)
  }
  const meter: MeterPairing = {
    address: file.address.toLowerCase() as `0x${string}`,
    pairingKey: hexToBytes(file.pairingKey, 32),
  }
  if (typeof file.simulatedPrivateKey === 'string')
    meter.simulatedPrivateKey = hexToBytes(file.simulatedPrivateKey, 32)
  return { rootKey, walletKey, walletAddress: addressOfPrivateKey(walletKey), meter, dev: options.dev }
}
