/**
 * Forged observer tickets (issue 13, docs/mesh.md §5a). The utility's aggregation observer speaks for
 * no meter: it is admitted to the members-only mesh by a ticket `{ area, peerId, time }` signed with
 * the utility's key. A stranger tries every way around that check against a real member over real
 * libp2p on loopback, speaking the admission protocol itself from a bare libp2p host (so it can send
 * any ticket it likes, not only one the mesh code would build):
 * - a ticket signed by a key that is not the utility's;
 * - the utility's genuine ticket for another peer, replayed (noise authenticates the dialler's peer id);
 * - a genuine ticket for another area;
 * - a genuine ticket dated beyond the allowed clock skew;
 * - a ticket whose body was altered after signing.
 * Each is answered `ok: false`, admits nothing, and gets the stranger disconnected and banned. A control
 * case — a genuine ticket for the stranger's own peer id — is admitted, so the refusals are the check
 * at work, not a harness that can never succeed.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIT_PROTOCOL, type ObserverTicketBody, observerTicket } from '../../src/mesh/node/admission.ts'
import type { MeshNode } from '../../src/mesh/node.ts'
import type { MeterSigner } from '../../src/mesh/signing.ts'
import { AREA, type Cluster, DOMAIN, newSigner, startCluster, until } from './fixture.ts'

/** A bare libp2p host (TCP, noise, yamux and nothing else): the attacker's own client. */
async function bareHost(): Promise<Libp2p> {
  const privateKey = await generateKeyPair('Ed25519')
  const host = await createLibp2p({
    privateKey,
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  await host.start()
  return host
}

/** Presents `credential` to `member` over the admission protocol and returns the member's answer. */
async function present(host: Libp2p, member: MeshNode, credential: unknown): Promise<{ ok?: unknown }> {
  const stream = await host.dialProtocol(multiaddr(member.multiaddrs()[0] as string), ADMIT_PROTOCOL)
  const lp = lpStream(stream)
  await lp.write(new TextEncoder().encode(JSON.stringify({ v: 1, credential })))
  const reply = await lp.read()
  await stream.close().catch(() => undefined)
  return JSON.parse(new TextDecoder().decode(reply.subarray())) as { ok?: unknown }
}

describe('forged observer tickets on the members-only mesh', () => {
  let cluster: Cluster
  let member: MeshNode
  const hosts: Libp2p[] = []
  const now = () => Math.floor(Date.now() / 1000)

  async function attacker(): Promise<Libp2p> {
    const host = await bareHost()
    hosts.push(host)
    return host
  }

  async function ticket(signer: MeterSigner, body: ObserverTicketBody) {
    return observerTicket(signer, DOMAIN, body)
  }

  /** The member refused the host: not admitted, its connection closed, and banned for a while. */
  async function expectRefused(host: Libp2p, answer: { ok?: unknown }) {
    const peer = host.peerId.toString()
    expect(answer.ok).toBe(false)
    expect(member.admitted(peer)).toBe(false)
    await until(
      () => member.libp2p.getConnections(host.peerId).length === 0,
      10_000,
      'the forger to be disconnected',
    )
    // The ban holds: even the utility's genuine ticket for this peer gets no hearing now.
    const genuine = await ticket(cluster.utility, { area: AREA, peerId: peer, time: now() })
    const again = await present(host, member, genuine).then(
      () => 'answered',
      () => 'refused',
    )
    expect(again).toBe('refused')
    expect(member.admitted(peer)).toBe(false)
  }

  beforeAll(async () => {
    cluster = await startCluster(2)
    member = cluster.nodes[0] as MeshNode
  })
  afterAll(async () => {
    for (const h of hosts) await h.stop()
    await cluster?.stop()
  })

  it('control: the utility’s genuine ticket for the presenting peer is admitted', async () => {
    const host = await attacker()
    const answer = await present(
      host,
      member,
      await ticket(cluster.utility, { area: AREA, peerId: host.peerId.toString(), time: now() }),
    )
    expect(answer.ok).toBe(true)
    expect(member.admitted(host.peerId.toString())).toBe(true)
  })

  it('refuses a ticket signed by a key that is not the utility’s', async () => {
    const host = await attacker()
    const forged = await ticket(newSigner(), { area: AREA, peerId: host.peerId.toString(), time: now() })
    await expectRefused(host, await present(host, member, forged))
  })

  it('refuses the utility’s genuine ticket replayed by another peer', async () => {
    const observerPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const stolen = await ticket(cluster.utility, { area: AREA, peerId: observerPeer, time: now() })
    const host = await attacker()
    await expectRefused(host, await present(host, member, stolen))
    expect(member.admitted(observerPeer)).toBe(false)
  })

  it('refuses a genuine ticket for another area', async () => {
    const host = await attacker()
    const other = await ticket(cluster.utility, {
      area: AREA + 1,
      peerId: host.peerId.toString(),
      time: now(),
    })
    await expectRefused(host, await present(host, member, other))
  })

  it('refuses a genuine ticket dated beyond the allowed clock skew', async () => {
    const host = await attacker()
    const future = await ticket(cluster.utility, {
      area: AREA,
      peerId: host.peerId.toString(),
      time: now() + 3600,
    })
    await expectRefused(host, await present(host, member, future))
  })

  it('refuses a genuine ticket whose body was altered after signing', async () => {
    const host = await attacker()
    const genuine = await ticket(cluster.utility, {
      area: AREA,
      peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
      time: now(),
    })
    // Same signature, the body re-pointed at the attacker's own peer id.
    const altered = { ...genuine, body: { ...genuine.body, peerId: host.peerId.toString() } }
    await expectRefused(host, await present(host, member, altered))
  })
})
