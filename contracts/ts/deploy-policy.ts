/**
 * The policy a ledger is deployed with (protocol/tariff-rules.ts LedgerPolicy): the production
 * profile gets PRODUCTION_POLICY (bills of 28 days or more, tariffs published 7 days ahead); the test
 * profile, whose circuit holds only two days, gets DEV_POLICY. Either can be overridden in days
 * (`--min-billing-days`, `--tariff-notice-days` on deploy:contracts and `zkmeter utility deploy`).
 */
import { InvalidInputError } from '#protocol/errors.ts'
import { DEV_POLICY, type LedgerPolicy, PRODUCTION_POLICY } from '#protocol/tariff-rules.ts'

export function deploymentPolicy(
  profile: 'test' | 'production',
  overrides: { minBillingDays?: string | undefined; tariffNoticeDays?: string | undefined } = {},
): LedgerPolicy {
  const base = profile === 'production' ? PRODUCTION_POLICY : DEV_POLICY
  const seconds = (flag: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback
    const days = Number(value)
    const s = Math.round(days * 86_400)
    if (value.trim() === '' || !Number.isFinite(days) || days < 0 || Math.abs(s - days * 86_400) > 1e-6) {
      throw new InvalidInputError(
        `--${flag} must be a non-negative number of days (whole seconds), got ${value}`,
      )
    }
    return s
  }
  return {
    minBillingPeriod: seconds('min-billing-days', overrides.minBillingDays, base.minBillingPeriod),
    tariffNotice: seconds('tariff-notice-days', overrides.tariffNoticeDays, base.tariffNotice),
  }
}
