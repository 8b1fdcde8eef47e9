/**
 * What the web attack tests share: a fake node's state with something to attack on every
 * state-changing route (a verified bill to pay, a failed bill to retry, an active alarm to
 * acknowledge), and a snapshot of everything an attack could change, to compare before and after.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Alarm } from '#protocol/api/types.ts'
import { bill, type FakeNodeState, initialState } from '../../../test/support/fake-node.ts'

export const ALARM_ID = 'alarm-fire-1'
/** bill(2, 'verified'): payable. */
export const PAYABLE_BILL = initialState().bills[1]?.id as string
/** A failed bill: retryable. */
export const FAILED_BILL = bill(4, 'failed').id

export function attackableState(): FakeNodeState {
  const state = initialState()
  state.bills.push(bill(4, 'failed', { error: { name: 'ProverError', message: 'the prover stopped' } }))
  const alarm: Alarm = {
    id: ALARM_ID,
    kind: 'fire',
    state: 'active',
    active: true,
    raisedAt: '2026-11-25T11:00:00.000Z',
    clearedAt: null,
    acknowledgedAt: null,
    deviceReacted: true,
    severity: 'alarm',
    resends: 0,
  }
  state.alarms.push(alarm)
  return state
}

/** Everything a request could change: relays, fan, bills (and payments), alarms, rules. */
export function snapshot(state: FakeNodeState): string {
  return JSON.stringify({
    relays: state.relays,
    fanSpeed: state.fanSpeed,
    bills: state.bills,
    alarms: state.alarms,
    rules: state.rules,
  })
}

/** State-changing requests whose handler ran (the fake node notes each request a route handled). */
export function handledChanges(state: FakeNodeState): string[] {
  return state.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)
}

/** A built-UI stand-in: an index.html with an inline <style> (as Vite's build has) and one asset. */
export async function writeDist(dir: string): Promise<void> {
  await mkdir(join(dir, 'assets'), { recursive: true })
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><html><head><style>:root{--bg:#fff}</style><script type="module" src="./assets/app.js"></script></head><body></body></html>',
  )
  await writeFile(join(dir, 'assets', 'app.js'), 'export {}\n')
}
