/** The shapes of safety alerts the alert modules and their callers share (docs/mesh.md §6). */
import type { AlertKind } from '../codec.ts'
import type { Address, Hex } from '../signing.ts'

export interface Alert {
  id: Hex
  area: number
  kind: AlertKind
  meter: Address
  time: number
  ttl: number
}

export interface AlertDelivery {
  id: Hex
  /** Members that acknowledged, sorted. */
  acked: Address[]
  /** Members (at the end) that never acknowledged: non-empty only when the alert expired or was cancelled. */
  unacked: Address[]
  expired: boolean
}

export interface AlertsEvents extends Record<string, unknown> {
  alert: Alert
  ack: { id: Hex; meter: Address }
}

export interface AlertRetryOptions {
  /** First retry after this long; doubles each time up to maxRetryMs. */
  firstRetryMs?: number
  maxRetryMs?: number
}
