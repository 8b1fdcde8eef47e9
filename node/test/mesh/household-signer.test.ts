import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshTopic } from '#protocol/topics.ts'
import type { Alert } from '../../src/mesh/alerts.ts'
import type { AlertBody, AnnounceBody } from '../../src/mesh/codec.ts'
import { InvalidMeshMessageError } from '../../src/mesh/errors.ts'
import { createMeshNode, type MeshNode, type MeshNodeOptions } from '../../src/mesh/node.ts'
import { type RegistryEntry, snapshotRegistry } from '../../src/mesh/registry.ts'
import { type Address, type MeterSigner, signMesh } from '../../src/mesh/signing.ts'
import { AREA, collectingLogger, DOMAIN, newSigner, until } from './fixture.ts'

/**
 * A home whose meter keeps its key (hardware) speaks on the mesh with the household account the
 * registry binds to that meter. Three homes sign with their meter keys, a fourth with its household
 * account for its meter; a fifth peer (an observer, no meter) tries household accounts where they do
 * not belong: for another registered meter, and an account the registry binds to nothing.
 */
describe('a member signing with its registered household account', () => {
  const meters = [newSigner(), newSigner(), newSigner()]
  /** The hardware meter: its key never reaches the node (only its address is used). */
  const hardwareMeter = newSigner().address
  const household = newSigner()
  /** A registered meter with another household account, and the account no entry names. */
  const otherMeter = newSigner().address
  const otherHousehold = newSigner()
  const stranger = newSigner()
  const utility = newSigner()
  const entries: RegistryEntry[] = [
    ...meters.map((m) => ({ meter: m.address, area: AREA, active: true })),
    {
      meter: hardwareMeter,
      area: AREA,
      active: true,
      household: household.address.toUpperCase().replace('0X', '0x'),
    },
    { meter: otherMeter, area: AREA, active: true, household: otherHousehold.address },
  ]
  const registry = snapshotRegistry(entries)
  const logs = Array.from({ length: 5 }, collectingLogger)
  const alerts: Alert[][] = [[], [], [], []]
  let nodes: MeshNode[]
  let homes: MeshNode[]

  const options = (i: number, meter: MeshNodeOptions['meter']): MeshNodeOptions => ({
    area: AREA,
    domain: DOMAIN,
    utility: utility.address as Address,
    registry,
    ...(meter ? { meter } : {}),
    log: logs[i],
    announceIntervalMs: 1000,
    alerts: { firstRetryMs: 100, maxRetryMs: 400 },
    connectionManager: { inboundConnectionThreshold: 1000 },
    aggregation: { privacy: false },
  })

  beforeAll(async () => {
    nodes = await Promise.all([
      ...meters.map((m, i) => createMeshNode(options(i, m))),
      createMeshNode(options(3, { meter: hardwareMeter, signer: household })),
      createMeshNode(options(4, undefined)),
    ])
    homes = nodes.slice(0, 4)
    await Promise.all(nodes.map((n) => n.start()))
    for (let i = 0; i < nodes.length; i++)
      for (let j = i + 1; j < nodes.length; j++)
        await (nodes[i] as MeshNode).dial((nodes[j] as MeshNode).multiaddrs()[0] as string)
    homes.forEach((n, i) => void n.alerts.on('alert', (a) => alerts[i]?.push(a)))
    await until(() => nodes.every((n) => n.members.list().length === 4), 15_000, 'membership to converge')
  })
  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()))
  })

  it('is admitted under its meter, with its own peer id, by every node', () => {
    const home = homes[3] as MeshNode
    expect(home.meter).toBe(hardwareMeter)
    for (const n of nodes) {
      expect(n.members.get(hardwareMeter)).toMatchObject({ peerId: home.peerId })
      expect(n.members.meterOfPeer(home.peerId)).toBe(hardwareMeter)
      // The household account is the signer, never a member in its own right.
      expect(n.members.get(household.address)).toBeUndefined()
    }
  })

  it('raises an alert that every neighbour surfaces and acknowledges, and acks theirs', async () => {
    const delivery = await (homes[3] as MeshNode).alerts.raise('gas', 60)
    expect(delivery.unacked).toEqual([])
    expect(delivery.acked).toEqual(meters.map((m) => m.address).sort())
    for (const i of [0, 1, 2])
      expect(alerts[i]?.filter((a) => a.id === delivery.id)).toEqual([
        expect.objectContaining({ kind: 'gas', meter: hardwareMeter }),
      ])
    // Its acks, signed by the household account for its meter, count at the sender.
    const back = await (homes[0] as MeshNode).alerts.raise('fire', 60)
    expect(back.unacked).toEqual([])
    expect(back.acked).toContain(hardwareMeter)
    expect(alerts[3]?.map((a) => a.id)).toContain(back.id)
  })

  it('contributes a share that is summed exactly', async () => {
    const round = Math.floor(Date.now() / 1000 / 900) * 900
    const values = [11, 22, 33, 44]
    await Promise.all(homes.map((n, i) => n.aggregation.contribute(round, values[i] as number)))
    const result = await (homes[0] as MeshNode).aggregation.collect(round, { shareTimeoutMs: 3000 })
    expect(result.totalWh).toBe(110n)
    expect(result.contributors).toContain(hardwareMeter)
  })

  it('refuses a household account speaking for another meter, and an unregistered account', async () => {
    // An outsider is disconnected before it can publish (members-only admission, mesh.md §5a): the
    // forgeries come from a registered home gone rogue, and are refused message by message.
    const rogue = homes[2] as MeshNode
    const publish = (kind: 'members' | 'alerts', message: unknown) =>
      rogue.libp2p.services.pubsub.publish(
        meshTopic(AREA, kind),
        new TextEncoder().encode(JSON.stringify(message)),
      )
    const time = Math.floor(Date.now() / 1000)
    const announce = async (meter: Address, signer: MeterSigner) => {
      const body: AnnounceBody = {
        area: AREA,
        peerId: rogue.peerId,
        x25519PublicKey: rogue.x25519PublicKey,
        meter,
        time,
      }
      await publish('members', {
        v: 1,
        type: 'announce',
        body,
        sig: await signMesh(signer, DOMAIN, 'announce', body),
      })
    }
    const alert = async (id: string, meter: Address, signer: MeterSigner) => {
      const body: AlertBody = { id: `0x${id.repeat(16)}`, area: AREA, kind: 'fire', meter, time, ttl: 60 }
      await publish('alerts', {
        v: 1,
        type: 'alert',
        body,
        sig: await signMesh(signer, DOMAIN, 'alert', body),
      })
    }
    // The hardware home's household account, for a registered meter bound to another account.
    await announce(otherMeter, household)
    // An account the registry binds to no meter, for a registered meter that has a household account.
    await announce(otherMeter, stranger)
    // The hardware home's household account for a live member's meter, and for the other meter.
    await alert('a1', meters[0]?.address as Address, household)
    await alert('a2', otherMeter, household)
    // A meter's own registered account cannot be replaced by the stranger's.
    await alert('a3', hardwareMeter, stranger)
    const badSignature = (i: number) =>
      (logs[i]?.entries ?? []).filter(
        (e) =>
          e.msg === 'rejected a membership announcement with a bad signature' ||
          e.msg === 'rejected an alert with a bad signature',
      ).length
    await until(() => [0, 1, 3].some((i) => badSignature(i) >= 5), 5000, 'the forgeries to be rejected')
    await new Promise((r) => setTimeout(r, 300))
    for (const n of homes) {
      expect(n.members.get(otherMeter)).toBeUndefined()
      expect(n.members.meterOfPeer(rogue.peerId)).toBe(rogue.meter)
      expect(n.members.list()).toHaveLength(4)
    }
    const forged = new Set(['a1', 'a2', 'a3'].map((id) => `0x${id.repeat(16)}`))
    for (const got of alerts) expect(got.filter((a) => forged.has(a.id))).toEqual([])
  })

  it('checks the identity it is given', async () => {
    await expect(
      createMeshNode(options(0, { meter: 'not-a-meter' as Address, signer: household })),
    ).rejects.toThrow(InvalidMeshMessageError)
  })
})
