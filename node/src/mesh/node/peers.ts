/**
 * Finding neighbours (docs/mesh.md §2): the static peer list is dialled at start and re-dialled while
 * disconnected, and libp2p 3 does not dial what it discovers (mDNS), so a discovered peer is dialled
 * here.
 *
 * A peer whose dial fails is re-dialled after `redialIntervalMs`, then after twice that, and so on up
 * to `maxRedialMs` (default 12 × the interval: 60 s); a successful dial (or finding it connected)
 * starts over at the interval. A fixed 5 s retry fed a collapse on a starved host: in the one-process
 * 100-home bench at load 14–16 every dial's noise handshake ran past libp2p's timeout, 7,236 static
 * dials failed in 10 minutes, and each failed attempt's half-done handshakes were work taken from the
 * ones that could have finished.
 */
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../log/logger.ts'
import type { MeshHost } from './host.ts'

export function createPeerDialer(deps: {
  libp2p: MeshHost
  /** Multiaddrs with /p2p/<id>. */
  peers: readonly string[]
  redialIntervalMs: number
  /** The longest wait between two dials of a peer that keeps failing (default 12 × redialIntervalMs). */
  maxRedialMs?: number
  log: Logger
  isRunning(): boolean
}) {
  const { libp2p, log } = deps
  const maxRedialMs = deps.maxRedialMs ?? 12 * deps.redialIntervalMs
  let redialTimer: ReturnType<typeof setInterval> | undefined
  /** Static peers whose last dial failed: how often in a row, and when the next dial is due. */
  const backoff = new Map<string, { failures: number; nextAt: number }>()

  const onDiscovery = (event: CustomEvent<{ id: PeerId }>) => {
    if (!deps.isRunning()) return
    libp2p.dial(event.detail.id).catch(() => undefined)
  }

  /** Dials the static peers that are not connected; `due` only those whose backoff has run out. */
  async function dialStatic(due = false) {
    await Promise.all(
      deps.peers.map(async (addr) => {
        const waiting = backoff.get(addr)
        if (due && waiting !== undefined && Date.now() < waiting.nextAt) return
        try {
          const ma = multiaddr(addr)
          const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
          if (id === undefined || !libp2p.getConnections().some((c) => c.remotePeer.toString() === id))
            await libp2p.dial(ma)
          backoff.delete(addr)
        } catch (error) {
          const failures = (waiting?.failures ?? 0) + 1
          const waitMs = Math.min(maxRedialMs, deps.redialIntervalMs * 2 ** (failures - 1))
          backoff.set(addr, { failures, nextAt: Date.now() + waitMs })
          log.warn('could not dial a static peer', { addr, error, failures, nextDialInMs: waitMs })
        }
      }),
    )
  }

  return {
    /** Starts dialling discovered peers (the static list waits for `dialStatic`). */
    listen() {
      libp2p.addEventListener('peer:discovery', onDiscovery)
    },
    /** Dials the static peers now (those not connected yet). */
    dialStatic: () => dialStatic(),
    /** Re-dials the disconnected static peers from now on (every `redialIntervalMs`, backing off per peer). */
    keepRedialling() {
      // One round of redials at a time: on a busy host a dial can outlast the interval (noise and
      // admission handshakes time out), and overlapping rounds piled up dials that made it busier.
      let dialling = false
      redialTimer = setInterval(() => {
        if (dialling) return
        dialling = true
        void dialStatic(true).finally(() => {
          dialling = false
        })
      }, deps.redialIntervalMs)
    },
    stop() {
      clearInterval(redialTimer)
      libp2p.removeEventListener('peer:discovery', onDiscovery)
    },
  }
}
