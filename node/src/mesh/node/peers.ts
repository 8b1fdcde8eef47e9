/**
 * Finding neighbours (docs/mesh.md §2): the static peer list is dialled at start and every
 * `redialIntervalMs` while disconnected, and libp2p 3 does not dial what it discovers (mDNS), so a
 * discovered peer is dialled here.
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
  log: Logger
  isRunning(): boolean
}) {
  const { libp2p, log } = deps
  let redialTimer: ReturnType<typeof setInterval> | undefined

  const onDiscovery = (event: CustomEvent<{ id: PeerId }>) => {
    if (!deps.isRunning()) return
    libp2p.dial(event.detail.id).catch(() => undefined)
  }

  async function dialStatic() {
    await Promise.all(
      deps.peers.map(async (addr) => {
        try {
          const ma = multiaddr(addr)
          const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
          if (id !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === id)) return
          await libp2p.dial(ma)
        } catch (error) {
          log.warn('could not dial a static peer', { addr, error: error })
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
    dialStatic,
    /** Re-dials the disconnected static peers every `redialIntervalMs` from now on. */
    keepRedialling() {
      // One round of redials at a time: on a busy host a dial can outlast the interval (noise and
      // admission handshakes time out), and overlapping rounds piled up dials that made it busier.
      let dialling = false
      redialTimer = setInterval(() => {
        if (dialling) return
        dialling = true
        void dialStatic().finally(() => {
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
