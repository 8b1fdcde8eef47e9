/**
 * A static peer that cannot be dialled is re-dialled with a growing wait (node/peers.ts), not every
 * `redialIntervalMs`: on a starved host a fixed 5 s retry of every failed neighbour kept the noise
 * handshakes that could have finished from finishing (the one-process 100-home bench: 7,236 failed
 * static dials in 10 minutes). A peer that answers again starts over at the interval.
 */
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log/logger.ts'
import type { MeshHost } from '../../src/mesh/node/host.ts'
import { createPeerDialer } from '../../src/mesh/node/peers.ts'

const PEER = '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

describe('re-dialling a static peer', () => {
  it('backs off while the dials fail, and starts over once one succeeds', async () => {
    const INTERVAL_MS = 20
    let reachable = false
    const dials: number[] = []
    const libp2p = {
      getConnections: () => [],
      dial: async () => {
        dials.push(Date.now())
        if (!reachable) throw new Error('connection refused')
      },
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    } as unknown as MeshHost
    const dialer = createPeerDialer({
      libp2p,
      peers: [PEER],
      redialIntervalMs: INTERVAL_MS,
      maxRedialMs: 8 * INTERVAL_MS,
      log: silentLogger,
      isRunning: () => true,
    })
    await dialer.dialStatic()
    dialer.keepRedialling()
    const started = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 60 * INTERVAL_MS))
    const elapsed = Date.now() - started
    // Waits of 1, 2, 4, 8, 8, … intervals: at most elapsed / 8 intervals plus the first four dials
    // (a fixed interval would have dialled about elapsed / INTERVAL_MS = 60 times).
    expect(dials.length).toBeLessThanOrEqual(5 + Math.ceil(elapsed / (8 * INTERVAL_MS)))
    expect(dials.length).toBeGreaterThanOrEqual(3)
    const gaps = dials.slice(1).map((t, i) => t - (dials[i] as number))
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(7 * INTERVAL_MS)

    // The peer answers again: the next due dial succeeds, and the backoff is forgotten.
    reachable = true
    const before = dials.length
    await new Promise((resolve) => setTimeout(resolve, 12 * INTERVAL_MS))
    expect(dials.length).toBeGreaterThan(before)
    // Connected (not really, in this fake: getConnections stays empty), so it is dialled every interval.
    const after = dials.length
    await new Promise((resolve) => setTimeout(resolve, 20 * INTERVAL_MS))
    expect(dials.length - after).toBeGreaterThanOrEqual(8)
    dialer.stop()
  })
})
