import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidInputError } from '#protocol/errors.ts'
import { createHeliaNode } from '../../src/ipfs/helia.ts'
import { StorageError } from '../../src/vault/index.ts'
import { scratch } from './helpers.ts'

let s: Awaited<ReturnType<typeof scratch>>
beforeAll(async () => {
  s = await scratch('helia')
})
afterAll(async () => {
  await s.cleanup()
})

describe('createHeliaNode', () => {
  it('listens on loopback only, dials nobody by itself, keeps its peer id across restarts', async () => {
    const dir = join(s.dir, 'private')
    const node = await createHeliaNode({ dir })
    const addrs = node.libp2p.getMultiaddrs().map(String)
    expect(addrs.some((a) => a.includes('/tcp/') && !a.includes('/ws'))).toBe(true)
    expect(addrs.some((a) => a.includes('/ws'))).toBe(true)
    for (const a of addrs) expect(a.startsWith('/ip4/127.0.0.1/')).toBe(true)
    expect(node.ownsLibp2p).toBe(true)
    expect(node.helia.libp2p.getProtocols()).toContain('/ipfs/bitswap/1.2.0')
    await new Promise((r) => setTimeout(r, 300))
    expect(node.libp2p.getConnections()).toHaveLength(0)
    expect(node.libp2p.getPeers()).toHaveLength(0)
    const peerId = node.libp2p.peerId.toString()
    await node.stop()
    expect(node.libp2p.status).toBe('stopped')
    const again = await createHeliaNode({ dir })
    expect(again.libp2p.peerId.toString()).toBe(peerId)
    await again.stop()
  })

  it('closes its stores when start fails, so the directory can be opened again', async () => {
    const server: Server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const dir = join(s.dir, 'failing')
    try {
      const failure = createHeliaNode({ dir, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
      await expect(failure).rejects.toBeInstanceOf(StorageError)
      await expect(failure).rejects.toThrow(/failed to start/)
    } finally {
      await new Promise((r) => server.close(r))
    }
    const node = await createHeliaNode({ dir })
    await node.stop()
  })

  it('validates its options', async () => {
    await expect(createHeliaNode({ dir: '' })).rejects.toBeInstanceOf(InvalidInputError)
    await expect(
      createHeliaNode({ dir: s.dir, listen: 'nope' as unknown as string[] }),
    ).rejects.toBeInstanceOf(InvalidInputError)
  })
})
