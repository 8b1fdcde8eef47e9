/**
 * The household node's start-time check of the trusted setup: the ledger's verifying key hash
 * (recorded immutably at deploy) must be the hash of the key in the zkey this node proves with.
 * If it is not, every proof would be refused (or the ledger verifies under a key nobody checked):
 * billing is held with the reason in plain words, and the node logs it as an error.
 */
import { join } from 'node:path'
import type { TrustedSetupStatus } from '#protocol/api/types.ts'
import { ZkMeterError } from '#protocol/errors.ts'
import { isProfileName, profileBuildDir } from '../../../circuits/src/profiles.ts'
import { readSetupInfo, readZkeyVerificationKey, verifyingKeyHash } from '../../../circuits/src/setup.ts'
import type { LedgerSetup } from '../../../contracts/ts/ledger.ts'
import type { BillProver } from '../billing/biller.ts'
import type { Logger } from '../log/logger.ts'

/** The ledger verifies bills under another key than the one this node proves with. */
export class SetupMismatchError extends ZkMeterError {
  override name = 'SetupMismatchError'
  override readonly category = 'conflict'
}

export async function checkLedgerSetup(options: {
  ledger: { trustedSetup(): Promise<LedgerSetup> }
  profile: string
  /** The circuit build the prover loads (circuits/build/<profile>/ by default). */
  buildDir?: string
  log: Logger
}): Promise<TrustedSetupStatus> {
  const { log } = options
  const buildDir =
    options.buildDir ?? (isProfileName(options.profile) ? profileBuildDir(options.profile) : options.profile)
  let chain: LedgerSetup
  try {
    chain = await options.ledger.trustedSetup()
  } catch (error) {
    // A ledger deployed before the setup anchor existed (or not a ledger): nothing says which key
    // it verifies with, so nothing is billed under it.
    log.error('the ledger does not say which trusted setup it verifies bills under: billing is held', {
      error,
    })
    chain = {
      verifier: '0x0000000000000000000000000000000000000000',
      verifyingKeyHash: `0x${'0'.repeat(64)}`,
      setupTranscript: `0x${'0'.repeat(64)}`,
      insecureDevSetup: false,
    }
  }
  const local = verifyingKeyHash(await readZkeyVerificationKey(join(buildDir, 'bill.zkey')))
  const info = readSetupInfo(buildDir)
  const transcriptMatches = info?.transcript.sha256 === chain.setupTranscript
  const status: TrustedSetupStatus = {
    insecureDev: chain.insecureDevSetup,
    verifyingKeyHash: chain.verifyingKeyHash,
    transcriptSha256: chain.setupTranscript,
    transcriptCid: transcriptMatches ? (info?.transcript.cid ?? null) : null,
    contributors: transcriptMatches ? (info?.contributors ?? []) : [],
    keyMatches: local === chain.verifyingKeyHash,
    transcriptMatches,
  }
  if (!status.keyMatches) {
    log.error(
      'the ledger verifies bills under another verifying key than this node proves with: billing is held',
      {
        ledgerKey: chain.verifyingKeyHash,
        nodeKey: local,
      },
    )
  } else if (status.insecureDev) {
    log.warn('INSECURE development trusted setup: anyone can forge bills under this ledger (dev chain only)')
  } else {
    log.info('trusted setup checked', { verifyingKeyHash: local, contributors: status.contributors.length })
  }
  return status
}

/** The reason a held bill shows, in words a resident can act on. */
export function setupMismatchMessage(status: TrustedSetupStatus): string {
  return (
    `The ledger checks bills with verifying key ${status.verifyingKeyHash.slice(0, 18)}…, which is not the key ` +
    'this node proves with, so the bill is held. Ask your utility which circuit build (trusted setup) its ledger ' +
    'uses and install that one; `zkmeter verify-setup` compares both.'
  )
}

/** The prover, unless the setup does not match: then every proof is refused with the reason. */
export function guardProver<P extends BillProver>(prover: P, status: TrustedSetupStatus): P {
  if (status.keyMatches) return prover
  return new Proxy(prover, {
    get(target, prop, receiver) {
      // The net bill's proof too: the node does not prove with a setup it has not matched.
      if (prop === 'prove' || (prop === 'proveNet' && typeof Reflect.get(target, prop) === 'function')) {
        return async () => {
          throw new SetupMismatchError(setupMismatchMessage(status))
        }
      }
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
