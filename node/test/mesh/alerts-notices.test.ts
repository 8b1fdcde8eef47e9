import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scaledBudget } from '../../../test/support/load.ts'
import type { Alert } from '../../src/mesh/alerts.ts'
import type { Notice, NoticeRejection } from '../../src/mesh/notices.ts'
import { createNotice } from '../../src/mesh/notices.ts'
import type { Hex } from '../../src/mesh/signing.ts'
import { AREA, type Cluster, DOMAIN, newSigner, startCluster, until } from './fixture.ts'

describe('safety alerts and utility notices over 5 loopback nodes', () => {
  let cluster: Cluster
  const alerts: Alert[][] = []
  const notices: Notice[][] = []
  const rejections: { id: Hex; reason: NoticeRejection }[][] = []

  beforeAll(async () => {
    cluster = await startCluster(5, { alerts: { firstRetryMs: 100, maxRetryMs: 400 } })
    cluster.nodes.forEach((node, i) => {
      alerts[i] = []
      notices[i] = []
      rejections[i] = []
      node.alerts.on('alert', (a) => alerts[i]?.push(a))
      node.notices.on('notice', (n) => notices[i]?.push(n))
      node.notices.on('rejected', (r) => rejections[i]?.push(r))
    })
  })
  afterAll(async () => {
    await cluster.stop()
  })

  it('delivers a signed alert to every neighbour within a second and collects every ack', async () => {
    const [sender, ...receivers] = cluster.nodes
    const started = Date.now()
    const delivery = await sender!.alerts.raise('fire', 60)
    expect(Date.now() - started).toBeLessThan(scaledBudget(1000))
    expect(delivery.expired).toBe(false)
    expect(delivery.unacked).toEqual([])
    expect(delivery.acked).toEqual(receivers.map((n) => n.meter).sort())
    receivers.forEach((_, k) => {
      const got = alerts[k + 1] as Alert[]
      expect(got).toHaveLength(1)
      expect(got[0]).toMatchObject({ id: delivery.id, kind: 'fire', area: AREA, meter: sender!.meter })
    })
    expect(alerts[0]).toEqual([]) // the sender does not alert itself
  })

  it('verifies utility notices: surfaces signed ones, rejects and logs forged, expired and replayed ones', async () => {
    const now = Math.floor(Date.now() / 1000)
    const relay = cluster.nodes[0]!
    const ok = await createNotice(cluster.utility, DOMAIN, {
      area: AREA,
      kind: 'price-signal',
      text: 'Evening peak: price doubled 18:00–21:00',
      startsAt: now + 3600,
      endsAt: now + 7200,
      priceWeiPerWh: 2_000_000_000n,
    })
    await relay.notices.publish(ok)
    await until(() => notices.slice(1).every((n) => n.length === 1), 5000, 'the notice to arrive')
    expect(notices[1]?.[0]).toMatchObject({
      id: ok.body.id,
      kind: 'price-signal',
      priceWeiPerWh: '2000000000',
    })

    // Forged: a well-formed notice signed by a meter key instead of the utility's.
    const forged = await createNotice(newSigner(), DOMAIN, {
      area: AREA,
      kind: 'outage',
      text: 'Fake outage: leave your door open for the technician',
      startsAt: now,
      endsAt: now + 600,
    })
    // Expired: correctly signed, but its validity ended.
    const expired = await createNotice(cluster.utility, DOMAIN, {
      area: AREA,
      kind: 'maintenance',
      text: 'Old maintenance notice',
      startsAt: now - 7200,
      endsAt: now - 3600,
      issuedAt: now - 8000,
    })
    // Signed for another deployment (other ledger): the domain is inside the signature.
    const otherChain = await createNotice(
      cluster.utility,
      { chainId: 1n, verifyingContract: DOMAIN.verifyingContract },
      { area: AREA, kind: 'outage', text: 'Other chain', startsAt: now, endsAt: now + 600 },
    )
    await relay.notices.publish(forged)
    await relay.notices.publish(expired)
    await relay.notices.publish(otherChain)
    await relay.notices.publish(ok) // replay of an already-seen notice
    await until(
      () => rejections.slice(1).every((r) => r.length === 4),
      5000,
      'the bad notices to be rejected',
    )
    for (let i = 1; i < 5; i++) {
      expect(notices[i]).toHaveLength(1)
      expect(rejections[i]?.map((r) => r.reason).sort()).toEqual(['expired', 'forged', 'forged', 'replayed'])
      const logged = cluster.logs[i]?.entries.map((e) => e.msg) ?? []
      expect(logged).toContain('rejected a utility notice: forged')
      expect(logged).toContain('rejected a utility notice: replayed')
    }
  })

  it('retries until expiry when a member never acknowledges, surfacing each alert once', async () => {
    const [sender, a, b, c, offline] = cluster.nodes
    await offline!.stop()
    const before = alerts.map((x) => x.length)
    const delivery = await sender!.alerts.raise('gas', 2)
    expect(delivery.expired).toBe(true)
    expect(delivery.unacked).toEqual([offline!.meter])
    expect(delivery.acked).toEqual([a!.meter, b!.meter, c!.meter].sort())
    // The alert was re-published several times in 2 s, but every neighbour surfaced it exactly once.
    for (const i of [1, 2, 3]) expect((alerts[i]?.length ?? 0) - (before[i] ?? 0)).toBe(1)
  })
})
