/**
 * A member whose admission handshake is slow is not a stranger (docs/mesh.md §5a). On a busy host the
 * handshake (a signature recovery and a registry read on each side) can take longer than `graceMs`;
 * that used to count as a failed handshake, so each side banned the other for `banMs` and refused its
 * redials meanwhile: the 50-home bench at load 18 left one home with every static peer banned and
 * knowing no member but itself. Now a handshake that runs out of time closes the connection without a
 * ban, and the next dial admits the member. Real libp2p nodes on loopback; the listener's registry is
 * made slow on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMeshNode, type MeshNode } from '../../src/mesh/node.ts'
import type { MeterRegistry } from '../../src/mesh/registry.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { AREA, collectingLogger, DOMAIN, newSigner, until } from './fixture.ts'

describe('a slow admission handshake', () => {
  const GRACE_MS = 400
  let registryDelayMs = 0
  // Every meter is a member, but the answer takes registryDelayMs (a slow ledger, a busy event loop).
  const registry: MeterRegistry = {
    isMember: async () => {
      await new Promise((resolve) => setTimeout(resolve, registryDelayMs))
      return true
    },
  }
  const utility = newSigner()
  const logs = [collectingLogger(), collectingLogger()]
  let nodes: MeshNode[] = []

  beforeAll(async () => {
    nodes = await Promise.all(
      logs.map((log) =>
        createMeshNode({
          area: AREA,
          domain: DOMAIN,
          utility: utility.address as Address,
          registry,
          meter: newSigner(),
          log,
          connectionManager: { inboundConnectionThreshold: 1000 },
          admission: { graceMs: GRACE_MS, banMs: 60_000 },
        }),
      ),
    )
    await Promise.all(nodes.map((n) => n.start()))
  })
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
  })

  it('closes the connection without banning, and the next dial admits the member', async () => {
    const [a, b] = nodes as [MeshNode, MeshNode]
    registryDelayMs = 3 * GRACE_MS
    await a.dial(b.multiaddrs()[0] as string)
    const timedOut = (i: number) =>
      logs[i]?.entries.some((e) => String(e.msg).includes('did not finish in time')) ?? false
    await until(() => timedOut(0), 10_000, 'the dialler to give up on the slow handshake')
    await until(() => a.libp2p.getConnections().length === 0, 10_000, 'the connection to close')
    expect(a.admitted(b.peerId)).toBe(false)
    // Nobody was taken for a stranger: no ban on either side.
    for (const log of logs)
      expect(log.entries.map((e) => e.msg)).not.toContain(
        'disconnected a stranger: not a member of this area',
      )
    // Once the ledger answers in time, the same dial goes through (it was refused by the gater for banMs).
    registryDelayMs = 0
    await until(() => b.libp2p.getConnections().length === 0, 10_000, 'the listener to close too')
    await a.dial(b.multiaddrs()[0] as string)
    await until(() => a.admitted(b.peerId) && b.admitted(a.peerId), 10_000, 'both to admit each other')
  })
})
