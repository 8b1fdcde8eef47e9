/** Privacy: what this home published on the chain, what stays private, and the grants given. */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import { hexToBytes } from '#protocol/eip712.ts'
import { billDisclosure } from '#protocol/tariff-rules.ts'
import type { RoutesContext } from '../context.ts'
import { jsonObject } from '../params.ts'
import { findBill } from './bills.ts'

export type PrivacyContext = Pick<RoutesContext, 'bills' | 'vault' | 'grants' | 'mesh'>

const PRIVATE = [
  'every interval reading and live sample (encrypted in the vault; the key never leaves this node)',
  'the load profile by time of day',
  'sensor readings (temperature, light, gas, water) and relay history',
  'the salt of each period commitment',
]

/** What the bill's energy and total reveal per price level of its tariff (docs/privacy.md). */
function publishedLevels(b: { tariffPrices?: string[]; energyWh: number; total?: string }) {
  if (b.tariffPrices === undefined || b.total === undefined) return undefined
  const levels = billDisclosure(b.tariffPrices.map(BigInt), BigInt(b.energyWh), BigInt(b.total))
  return levels?.map((l) => ({
    price: l.price.toString(),
    hours: l.hours,
    minWh: l.minWh.toString(),
    maxWh: l.maxWh.toString(),
    exact: l.exact,
  }))
}

export function privacyRoutes(ctx: PrivacyContext): Pick<RouteHandlers, 'privacy' | 'grant'> {
  return {
    privacy: async () => {
      const grants = await ctx.grants.list()
      return {
        // Only what went on the ledger: the bills with a ledger id.
        published: ctx.bills.list().flatMap((b) =>
          b.chainBillId
            ? [
                {
                  id: b.id,
                  billId: b.chainBillId,
                  periodStart: b.periodStart,
                  periodEnd: b.periodEnd,
                  commitment: b.commitment,
                  cidDigest: b.cidDigest,
                  manifestCid: b.manifestCid,
                  total: b.total,
                  energyWh: b.energyWh,
                  submitTx: b.submitTx,
                  proof: b.proof,
                  tariffId: b.tariffId,
                  levels: publishedLevels(b),
                },
              ]
            : [],
        ),
        private: PRIVATE,
        grants,
        // The ε the home's aggregation shares spent today (docs/aggregation.md §7).
        ...(ctx.mesh?.privacy ? { aggregation: ctx.mesh.privacy() } : {}),
      }
    },
    grant: async (r) => {
      const body = jsonObject(await r.json())
      const bill = findBill(ctx.bills, String(body.billId))
      const recipient = hexToBytes(String(body.recipientPublicKey), 32)
      const grant = await ctx.vault.grant(bill.manifestCid, recipient)
      await ctx.grants.append({
        manifestCid: bill.manifestCid,
        billId: bill.id,
        // hexToBytes above accepted it as 32 bytes of hex.
        recipient: String(body.recipientPublicKey),
        createdAt: new Date().toISOString(),
      })
      return { grant }
    },
  }
}
