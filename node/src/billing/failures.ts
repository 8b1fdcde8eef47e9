/**
 * Why a bill failed, in terms a resident and the biller can act on. The ledger's decoded custom
 * error (contracts/ts/ledger.ts) or the node's own check says what went wrong; the classification
 * says whether waiting fixes it (retried automatically), whether the stored proof is worth
 * keeping (a retry re-proves from the vault when it is not), and what to tell the resident.
 */

import type { BillFailure as ApiBillFailure, BillStatus, FailureKind } from '#protocol/api/types.ts'
import { ZkMeterError } from '#protocol/errors.ts'

export type { FailureKind }
export const FAILURE_KINDS = [
  'tariff-missing',
  'tariff-changed',
  'tariff-refused',
  'feed-in-refused',
  'meter-not-registered',
  'proof-rejected',
  'readings-mismatch',
  'earlier-bill-missing',
  'interrupted',
  'rejected',
] as const satisfies readonly FailureKind[]

/** The steps a bill can fail in: a retry starts again from here (or earlier, to re-prove). */
export type FailedStep = Extract<BillStatus, 'waiting-tariff' | 'proving' | 'submitting'>

/** The API's failure (kind, ledger error, advice, temporary, reprove) plus the step it stopped in. */
export interface BillFailure extends ApiBillFailure {
  step: FailedStep
}

/** No tariff on the ledger covers the whole period yet: the utility publishes tariffs ahead. */
export class TariffMissingError extends ZkMeterError {
  override name = 'TariffMissingError'
}

/**
 * The tariff covering the period breaks the tariff rules or was published after the period began
 * (docs/privacy.md): a bill proved against it could reveal more than the leakage budget, so the node
 * does not prove it. The message says why in plain words.
 */
export class TariffRefusedError extends ZkMeterError {
  override name = 'TariffRefusedError'
}

/**
 * The feed-in curve of the period's tariff (issue 17) breaks the tariff rules, or its published
 * prices do not hash to the net tariff hash the ledger verifies net bills with: the node does not
 * prove a net bill against it (a credit must not be an oracle of export, and a proof against prices
 * the ledger does not hold is worthless). The message says which.
 */
export class FeedInRefusedError extends ZkMeterError {
  override name = 'FeedInRefusedError'
}

/** The resident asked to retry a bill that is not failed (in progress, waiting, or done). */
export class BillNotFailedError extends ZkMeterError {
  override name = 'BillNotFailedError'
  override readonly category = 'conflict'
}

const ADVICE: Record<FailureKind, string> = {
  'tariff-missing':
    'The utility has not published a tariff for this period yet, so the bill cannot be priced. The node keeps trying by itself for a while; once the tariff is out, retry if it has given up.',
  'tariff-changed':
    'The utility published a new tariff that starts inside this period, and the ledger prices a period with a single tariff. Retrying proves the bill again under the tariff in force; if none covers the whole period, the utility has to sort it out.',
  'tariff-refused':
    'Your node will not prove this bill: the tariff the utility published for this period could be used to read your consumption from the bill total, so it breaks the privacy rules. The bill waits, unpaid and unproved, and the node checks again whenever the utility publishes a tariff; tell your utility. Why:',
  'feed-in-refused':
    'Your home fed energy into the grid this period, but your node will not prove a net bill (import cost less export credit) against the feed-in prices the utility published for this tariff: they either break the privacy rules or do not match what the ledger holds, so a credit computed from them would reveal your export or be refused. Retrying bills this period as an import bill, without its export credit, so that your later bills are not held back; tell your utility. Why:',
  'meter-not-registered':
    'Your meter is not registered with the utility on the ledger yet. The node keeps trying by itself for a while; once the utility has registered it, retry if it has given up.',
  'proof-rejected':
    'The ledger rejected the proof of this bill. Submitting the same proof again is pointless: retrying proves the bill again from your encrypted readings.',
  'readings-mismatch':
    "The readings this node holds for the period do not match what the meter signed. Retrying reads them again from your encrypted vault and proves anew; if it fails again, the meter's data for this period is incomplete.",
  'earlier-bill-missing':
    'The ledger bills a meter one period after the other, and it expects an earlier period that this node never received from the meter. Retrying will not help until that period is billed.',
  interrupted:
    'The node was interrupted while working on this bill: the chain or the prover did not answer. It retries by itself for a while; after that, retry once the chain is reachable. Nothing was lost.',
  rejected:
    'The ledger refused this bill (details below). Retrying sends the same bill again and is unlikely to help: contact your utility.',
}

function failure(
  kind: FailureKind,
  step: FailedStep,
  ledgerError: string | null,
  flags: { temporary: boolean; reprove: boolean },
): BillFailure {
  return { kind, step, ledgerError, ...flags, advice: ADVICE[kind] }
}

/** A refused tariff's advice carries the rule it broke, in words, after the general explanation. */
function refused(step: FailedStep, why: string): BillFailure {
  return {
    ...failure('tariff-refused', step, null, { temporary: true, reprove: true }),
    advice: `${ADVICE['tariff-refused']} ${why}`,
  }
}

/**
 * What a bill that became an import bill because its feed-in curve was refused says to the resident
 * (Bill.creditForgone): the credit is forgone, why, and why the node did not wait.
 */
export function creditForgoneNote(refusal: Error): string {
  return (
    "Your home fed energy into the grid this period, but your node will not prove a net bill against the feed-in prices the utility published for this tariff, and a tariff's feed-in prices cannot be published again. " +
    'So that this bill and your later ones are not held back for good, it is an import bill: it claims no export credit for this period (that credit is forgone) and shows nothing of your export. ' +
    `Tell your utility. Why: ${refusal.message}`
  )
}

/** The contract's custom error name, if `error` is a decoded ledger revert (LedgerRevertError). */
function ledgerErrorName(error: unknown): string | undefined {
  if (!(error instanceof ZkMeterError) || error.name !== 'LedgerRevertError') return undefined
  const name = error.details.errorName
  return typeof name === 'string' ? name : undefined
}

/**
 * Classifies what stopped a bill in `step`. `transient` says whether the error is network
 * trouble (retry the very same step) rather than a verdict.
 */
export function classifyFailure(error: unknown, step: FailedStep, transient: boolean): BillFailure {
  const ledgerError = ledgerErrorName(error)
  if (ledgerError !== undefined) {
    switch (ledgerError) {
      case 'UnknownMeter':
        // Registration does not change what was proved: keep the proof, submit again later.
        return failure('meter-not-registered', step, ledgerError, { temporary: true, reprove: false })
      case 'UnknownTariff':
        return failure('tariff-missing', step, ledgerError, { temporary: true, reprove: true })
      case 'TariffNotCovering':
        return failure('tariff-changed', step, ledgerError, { temporary: false, reprove: true })
      case 'ProofRejected':
        return failure('proof-rejected', step, ledgerError, { temporary: false, reprove: true })
      case 'PeriodGap':
        return failure('earlier-bill-missing', step, ledgerError, { temporary: false, reprove: false })
      default:
        return failure('rejected', step, ledgerError, { temporary: false, reprove: false })
    }
  }
  const name = (error as Error | undefined)?.name
  if (name === 'TariffRefusedError') return refused(step, (error as Error).message)
  if (name === 'FeedInRefusedError') {
    // Published once per tariff and never replaced (FeedInAlreadyPublished): waiting cannot fix it.
    return {
      ...failure('feed-in-refused', step, null, { temporary: false, reprove: true }),
      advice: `${ADVICE['feed-in-refused']} ${(error as Error).message}`,
    }
  }
  if (name === 'TariffMissingError') {
    return failure('tariff-missing', step, null, { temporary: true, reprove: true })
  }
  // Raised while proving when the vault's readings do not reproduce the meter's signed period.
  if (name === 'CommitmentMismatchError' || name === 'PeriodInputsUnavailableError') {
    return failure('readings-mismatch', step, null, { temporary: false, reprove: true })
  }
  if (transient) return failure('interrupted', step, null, { temporary: true, reprove: false })
  return failure('rejected', step, null, { temporary: false, reprove: false })
}

/** Whether `error` is the ledger's PeriodGap: an earlier period of the meter is not billed there. */
export function isPeriodGap(error: unknown): boolean {
  return ledgerErrorName(error) === 'PeriodGap'
}

/**
 * Why a bill the ledger refused with PeriodGap waits (waiting-previous) for an earlier period this
 * node holds but has not billed yet: temporary, the proof kept.
 */
export function waitingForPeriod(pending: { periodStart: number; why: string }): BillFailure {
  const since = new Date(pending.periodStart * 1000).toISOString()
  return {
    ...failure('earlier-bill-missing', 'submitting', 'PeriodGap', {
      temporary: true,
      reprove: false,
    }),
    advice:
      `The ledger bills a meter one period after the other, and the period from ${since} is not billed yet: ` +
      `${pending.why}. This bill keeps its proof and goes on by itself once that period is on the ledger; ` +
      'nothing to do unless that period is reported as impossible to bill.',
  }
}

/**
 * Where a retry starts: a kept proof is submitted again when only the submission failed for a
 * reason unrelated to the proof; anything else starts from the tariff (one chain read) and proves
 * afresh from the vault.
 */
export function retryStart(failure: BillFailure | undefined, hasProof: boolean): FailedStep {
  if (failure !== undefined && !failure.reprove && failure.step === 'submitting' && hasProof)
    return 'submitting'
  return 'waiting-tariff'
}
