/**
 * The relay API and voice commands under the safety interlocks (protocol/meter/interlocks.ts), over
 * the node's own HTTP layer and handlers (test/support/fake-node.ts): a relay a fire forces needs
 * `confirm`, gas refuses switching whatever the request says, and the answers name the error.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Alarm } from '#protocol/api/types.ts'
import { type FakeNode, initialState, startFakeNode } from '../../../test/support/fake-node.ts'

let dist: string
let node: FakeNode

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'zkmeter-safety-routes-'))
  node = await startFakeNode({ dist, relayConfirmMs: 1 })
})

afterAll(async () => {
  await node.close()
  await rm(dist, { recursive: true, force: true })
})

afterEach(() => {
  const fresh = initialState()
  Object.assign(node.state, { alarms: fresh.alarms, relays: fresh.relays })
})

function alarm(kind: Alarm['kind'], active = true): Alarm {
  return {
    id: `${kind}-1`,
    kind,
    state: active ? 'active' : 'cleared',
    active,
    raisedAt: '2026-12-07T01:00:00.000Z',
    clearedAt: active ? null : '2026-12-07T01:10:00.000Z',
    acknowledgedAt: null,
    deviceReacted: true,
    severity: 'alarm',
    resends: 0,
  }
}

async function post(path: string, body: unknown) {
  const answer = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { ...node.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> }
}

describe('relay API under the interlocks', () => {
  it('switching off the sprinkler during a fire needs "confirm": true (409 without)', async () => {
    node.state.alarms.push(alarm('fire'))
    const before = node.state.relays.map((r) => r.on)
    const refused = await post('/api/relays/6', { on: false })
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({
      error: 'SafetyConfirmationRequiredError',
      details: { channel: 6, hold: 'forcedOn', hazards: ['flame'] },
    })
    expect(refused.body.message).toMatch(/Sprinkler valve is held on by the fire alarm/)
    expect(node.state.relays.map((r) => r.on)).toEqual(before)
    expect((await post('/api/fan', { speed: 3 })).status).toBe(409)
    const confirmed = await post('/api/relays/6', { on: false, confirm: true })
    expect(confirmed).toMatchObject({ status: 200, body: { channel: 6, on: false, confirmed: true } })
    expect((await post('/api/relays/6', { on: false, confirm: 'yes' })).status).toBe(400)
  })

  it('gas refuses switching anything but the cut-off, confirmed or not', async () => {
    node.state.alarms.push(alarm('gas'))
    const refused = await post('/api/relays/3', { on: true, confirm: true })
    expect(refused).toMatchObject({ status: 409, body: { error: 'InterlockRefusedError' } })
    expect(refused.body.message).toMatch(/switching is refused while gas is detected/)
    expect((await post('/api/relays/8', { on: true, confirm: true })).status).toBe(409)
    expect((await post('/api/relays/8', { on: false })).status).toBe(200)
  })

  it('a voice command during gas is refused with the reason, nothing is switched', async () => {
    node.state.alarms.push(alarm('gas'))
    const before = node.state.relays.map((r) => r.on)
    const answer = await post('/api/command', { text: 'turn on the main lights' })
    expect(answer).toMatchObject({ status: 409, body: { error: 'InterlockRefusedError' } })
    expect(node.state.relays.map((r) => r.on)).toEqual(before)
  })

  it('lists what each alarm holds and what acknowledging restores', async () => {
    node.state.alarms.push(alarm('gas', false))
    const answer = await fetch(`${node.url}/api/alarms`, { headers: node.headers })
    const { alarms } = (await answer.json()) as { alarms: Alarm[] }
    expect(alarms[0]).toMatchObject({
      state: 'cleared',
      holds: [{ channel: 8, name: 'Appliance circuits', state: 'off' }],
      restores: [{ channel: 8, name: 'Appliance circuits', on: true }],
    })
    const refused = await post('/api/relays/8', { on: true })
    expect(refused.body.message).toMatch(/acknowledge the alarm to restore it/)
  })
})
