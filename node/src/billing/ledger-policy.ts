/**
 * The resident's billing policy against the ledger's (docs/privacy.md): a ledger whose minimum
 * billing period is shorter than the resident's own minimum would accept bills that reveal
 * consumption over shorter stretches than the resident agreed to. The node cannot change the
 * ledger; it says so, once at start, in words.
 */

const DAY = 86_400

function duration(seconds: bigint): string {
  const s = Number(seconds)
  if (s >= DAY && s % DAY === 0) return `${s / DAY} day${s === DAY ? '' : 's'}`
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? '' : 's'}`
  return `${s} seconds`
}

/** The warning to give the resident, or undefined when the ledger's minimum meets their policy. */
export function ledgerPolicyWarning(
  ledgerMinBillingPeriod: bigint,
  residentMinPeriodDays: number,
): string | undefined {
  const wanted = BigInt(residentMinPeriodDays * DAY)
  if (ledgerMinBillingPeriod >= wanted) return undefined
  return (
    `The ledger accepts bills covering as little as ${duration(ledgerMinBillingPeriod)}; your policy is at least ` +
    `${residentMinPeriodDays} days (billing.minPeriodDays). A short bill reveals your consumption over that short ` +
    'stretch. Your node still bills the periods your meter closes; ask your utility to deploy with a longer minimum, ' +
    'or check the meter’s billing period (meter.periodDays).'
  )
}
