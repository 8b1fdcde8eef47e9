/**
 * The money this home's costs are in: Ether, or the ERC-20 token its area bills in
 * (GET /api/chain's `asset`, docs/contracts.md "Token tariffs"). Costs the node computes from the
 * tariff (today's cost, the Energy view, the chart, projections) are integers in the tariff's asset,
 * so a tUSD home must read "1.23 tUSD", not a wei amount labelled ETH. Read once per page load and
 * shared by every view; until it is known (or if it cannot be read) amounts read as Ether, which is
 * every home's money before token tariffs.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { chainInfo } from './chain-info.ts'
import { formatAmount } from './format.ts'
import type { BillAsset } from './types.ts'

let known: BillAsset | null = null
let loading: Promise<void> | undefined

function load(): Promise<void> {
  loading ??= chainInfo().then(
    (chain) => {
      known = chain.asset ?? null
    },
    () => {
      loading = undefined // a failed read is tried again by the next view shown
    },
  )
  return loading
}

/** A view's money formatting; the view re-renders once the home's asset is known. */
export class HomeMoney implements ReactiveController {
  readonly #host: ReactiveControllerHost
  constructor(host: ReactiveControllerHost) {
    this.#host = host
    host.addController(this)
  }
  hostConnected(): void {
    void load().then(() => this.#host.requestUpdate())
  }
  /** The home's asset (null: Ether, or not known yet). */
  get asset(): BillAsset | null {
    return known
  }
  /** An amount in the home's asset's smallest unit: "0.010234 ETH", "12.34 tUSD". */
  format(value: string | bigint | null | undefined, maxDecimals = 6): string {
    return formatAmount(value, known, maxDecimals)
  }
}
