/**
 * When this node announces its membership (docs/mesh.md §5): once at start, every
 * `announceIntervalMs`, and — until its announcement has gone out to a peer of the members topic —
 * shortly after a peer joins a topic, so that an announcement published before any gossip peer was
 * there (it went nowhere) is not left waiting a whole period.
 *
 * It no longer announces on every join. A peer that joins a topic is a peer this node is connected to,
 * and both already hold each other's announcement from the admission handshake (admission.ts); a
 * re-announcement then told the newcomer nothing and cost every home of the area a copy. On a
 * connection per pair of homes that was one area-wide flood per home per join, O(n³) copies while an
 * area starts: a 50-home mesh with every home connected to every other never settled (2,000 dial
 * timeouts in 4 minutes), and a 100-home street topology did not converge in 300 s.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import { meshTopic } from '#protocol/topics.ts'
import type { MembershipService } from '../membership.ts'

/** Joins of several peers within this window cause one announcement. */
const ANNOUNCE_SOON_MS = 50

export function createAnnouncer(deps: {
  pubsub: GossipSub
  area: number
  membership: Pick<MembershipService, 'announce'>
  announceIntervalMs: number
  isRunning(): boolean
}) {
  const { pubsub, membership } = deps
  const topic = meshTopic(deps.area, 'members')
  let announceSoon: ReturnType<typeof setTimeout> | undefined
  let announceTimer: ReturnType<typeof setInterval> | undefined
  /** Whether an announcement of ours was published while the members topic had a peer. */
  let carried = false

  async function announce() {
    const peers = pubsub.getSubscribers(topic).length
    await membership.announce()
    if (peers > 0) carried = true
  }

  const onSubscription = () => {
    if (carried || !deps.isRunning() || announceSoon !== undefined) return
    announceSoon = setTimeout(() => {
      announceSoon = undefined
      if (deps.isRunning()) announce().catch(() => undefined)
    }, ANNOUNCE_SOON_MS)
  }

  return {
    /** Announces when peers join a topic (before the first announcement, which waits for the dials). */
    listen() {
      pubsub.addEventListener('subscription-change', onSubscription)
    },
    /** Announces now, then every `announceIntervalMs`. */
    async announce() {
      await announce()
      announceTimer = setInterval(() => announce().catch(() => undefined), deps.announceIntervalMs)
    },
    /** Whether an announcement has gone out with a members-topic peer present (tests). */
    get carried() {
      return carried
    },
    stop() {
      clearInterval(announceTimer)
      clearTimeout(announceSoon)
      announceSoon = undefined
      pubsub.removeEventListener('subscription-change', onSubscription)
    },
  }
}
