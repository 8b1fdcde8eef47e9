/**
 * When this node announces its membership (docs/mesh.md §5): once at start, every
 * `announceIntervalMs`, and shortly after a peer joins a topic, so newcomers learn the members without
 * waiting a period.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { MembershipService } from '../membership.ts'

/** Joins of several peers within this window cause one announcement. */
const ANNOUNCE_SOON_MS = 50

export function createAnnouncer(deps: {
  pubsub: GossipSub
  membership: Pick<MembershipService, 'announce'>
  announceIntervalMs: number
  isRunning(): boolean
}) {
  const { pubsub, membership } = deps
  let announceSoon: ReturnType<typeof setTimeout> | undefined
  let announceTimer: ReturnType<typeof setInterval> | undefined

  const onSubscription = () => {
    if (!deps.isRunning() || announceSoon !== undefined) return
    announceSoon = setTimeout(() => {
      announceSoon = undefined
      if (deps.isRunning()) membership.announce().catch(() => undefined)
    }, ANNOUNCE_SOON_MS)
  }

  return {
    /** Announces when peers join a topic (before the first announcement, which waits for the dials). */
    listen() {
      pubsub.addEventListener('subscription-change', onSubscription)
    },
    /** Announces now, then every `announceIntervalMs`. */
    async announce() {
      await membership.announce()
      announceTimer = setInterval(() => membership.announce().catch(() => undefined), deps.announceIntervalMs)
    },
    stop() {
      clearInterval(announceTimer)
      clearTimeout(announceSoon)
      announceSoon = undefined
      pubsub.removeEventListener('subscription-change', onSubscription)
    },
  }
}
