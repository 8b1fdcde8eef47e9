/**
 * The household node's start-time check of the trusted setup: the ledger's verifying key hash
 * (recorded immutably at deploy) must be the hash of the key in the zkey this node proves with.
 * If it is not, every proof would be refused (or the ledger verifies under a key nobody checked):
 * billing is held with the reason in plain words, and the node logs it as an error.
 */
import { existsSync } from 'node:fs'
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

/**
 * Whether this node may make net bills (issue 17) on this ledger: the ledger verifies net bills
 * (`netSetup`) under the verifying key of the net-bill build this node proves with. Otherwise (net
 * bills disabled, no net build here, or another key: every net proof would be refused with
 * ProofRejected) the node makes import bills only, which the ledger takes either way, and says why.
 */
export async function netBillsUsable(options: {
  ledger: { netSetup(): Promise<{ netVerifyingKeyHash: string } | undefined> }
  profile: string
  /** The bill circuit's build directory; the net build is its `net/` (circuits/build/<profile>/net/). */
  buildDir?: string
  log: Logger
}): Promise<boolean> {
  const { log } = options
  const buildDir =
    options.buildDir ?? (isProfileName(options.profile) ? profileBuildDir(options.profile) : options.profile)
  let net: { netVerifyingKeyHash: string } | undefined
  try {
    net = await options.ledger.netSetup()
  } catch (error) {
    log.warn('could not read whether the ledger takes net bills: import bills only', { error })
    return false
  }
  if (net === undefined) return false
  const zkey = join(buildDir, 'net', 'bill.zkey')
  if (!existsSync(zkey)) {
    log.warn('the ledger takes net bills but the net-bill circuit is not built here: import bills only', {
      missing: zkey,
    })
    return false
  }
  const local = verifyingKeyHash(await readZkeyVerificationKey(zkey))
  if (local !== net.netVerifyingKeyHash) {
    log.error(
      'the ledger verifies net bills under another verifying key than this node proves with: import bills only',
      { ledgerKey: net.netVerifyingKeyHash, nodeKey: local },
    )
    return false
  }
  return true
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
