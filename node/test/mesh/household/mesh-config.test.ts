/** The mesh's configuration keys and its persisted keys (no network: the mesh itself is mesh.test.ts). */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseFlags } from '../../../src/config.ts'
import { silentLogger } from '../../../src/log/logger.ts'
import { startHouseholdMesh } from '../../../src/mesh/household/index.ts'
import { loadOrCreateMeshKeys, MeshKeyFileError } from '../../../src/mesh/household/keys.ts'

const PEER = '/ip4/192.168.1.20/tcp/4001/p2p/12D3KooWSmhkS6vURDZeKX5jEAsy68t554USi8kcaVStQ29opWZM'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-mesh-config-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('mesh configuration', () => {
  it('is on, on loopback, without mDNS by default; the observer follows the utility key', () => {
    const config = loadConfig({ flags: parseFlags(['--data-dir', dir]).flags })
    expect(config.mesh).toEqual({
      enabled: true,
      listen: undefined,
      peers: [],
      mdns: false,
      observer: undefined,
      privacyBudget: 20_300,
    })
  })

  it('takes lists from flags, the environment and the file, flags winning', async () => {
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ mesh: { peers: [PEER], listen: ['/ip4/0.0.0.0/tcp/4001'], mdns: true } }),
    )
    const fromFile = loadConfig({ flags: parseFlags(['--data-dir', dir]).flags })
    expect(fromFile.mesh).toMatchObject({ peers: [PEER], listen: ['/ip4/0.0.0.0/tcp/4001'], mdns: true })
    const layered = loadConfig({
      flags: parseFlags([
        '--data-dir',
        dir,
        '--mesh-listen',
        '/ip4/10.0.0.2/tcp/4001,/ip4/10.0.0.2/tcp/4002/ws',
      ]).flags,
      env: { ZKMETER_MESH_MDNS: 'false', ZKMETER_MESH_OBSERVER: 'true', ZKMETER_MESH: '1' },
    })
    expect(layered.mesh).toEqual({
      enabled: true,
      listen: ['/ip4/10.0.0.2/tcp/4001', '/ip4/10.0.0.2/tcp/4002/ws'],
      peers: [PEER],
      mdns: false,
      observer: true,
      privacyBudget: 20_300,
    })
    expect(loadConfig({ flags: parseFlags(['--data-dir', dir, '--mesh', 'false']).flags }).mesh.enabled).toBe(
      false,
    )
  })

  it('refuses what is not a multiaddr, and a static peer without its peer id', () => {
    const load = (args: string[]) => () =>
      loadConfig({ flags: parseFlags(['--data-dir', dir, ...args]).flags })
    expect(load(['--mesh-listen', 'tcp://127.0.0.1:4001'])).toThrow(ConfigError)
    expect(load(['--mesh-peers', '/ip4/192.168.1.20/tcp/4001'])).toThrow(/must end in \/p2p\/<peer id>/)
    expect(load(['--mesh-mdns', 'maybe'])).toThrow(ConfigError)
  })
})

describe('mesh keys', () => {
  it('are created once (0600) and give the same peer id and X25519 key at every start', async () => {
    const first = await loadOrCreateMeshKeys(dir)
    const again = await loadOrCreateMeshKeys(dir)
    expect(again.peerId).toBe(first.peerId)
    expect(again.x25519PrivateKey).toEqual(first.x25519PrivateKey)
    expect((await stat(join(dir, 'mesh', 'keys.json'))).mode & 0o777).toBe(0o600)
    // Concurrent first starts agree on one identity (O_EXCL).
    const other = await mkdtemp(join(tmpdir(), 'zkmeter-mesh-keys-'))
    try {
      const [a, b] = await Promise.all([loadOrCreateMeshKeys(other), loadOrCreateMeshKeys(other)])
      expect(a.peerId).toBe(b.peerId)
    } finally {
      await rm(other, { recursive: true, force: true })
    }
  })

  it('gives many concurrent first starts one identity, none reading a half-written file', async () => {
    for (let round = 0; round < 10; round++) {
      const fresh = await mkdtemp(join(tmpdir(), 'zkmeter-mesh-keys-'))
      try {
        const starts = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateMeshKeys(fresh)))
        expect(new Set(starts.map((k) => k.peerId)).size).toBe(1)
        expect((await readdir(join(fresh, 'mesh'))).sort()).toEqual(['keys.json'])
      } finally {
        await rm(fresh, { recursive: true, force: true })
      }
    }
  })

  it('refuses a damaged key file instead of replacing the identity', async () => {
    await loadOrCreateMeshKeys(dir)
    const file = join(dir, 'mesh', 'keys.json')
    const body = JSON.parse(await readFile(file, 'utf8'))
    await writeFile(file, JSON.stringify({ ...body, x25519PrivateKey: 'zz' }))
    await expect(loadOrCreateMeshKeys(dir)).rejects.toThrow(MeshKeyFileError)
  })
})

describe('mesh start failure', () => {
  it('unwinds when the listen address is taken: no host left running, no process handler left', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    const handlers = process.listenerCount('uncaughtException')
    const meter = '0x00000000000000000000000000000000000a11ce' as const
    try {
      await expect(
        startHouseholdMesh({
          dataDir: dir,
          config: {
            enabled: true,
            listen: [`/ip4/127.0.0.1/tcp/${port}`],
            peers: [],
            mdns: false,
            observer: false,
            privacyBudget: 20_300,
          },
          area: 1,
          domain: { chainId: 31337n, verifyingContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
          ledger: {
            owner: async () => '0x00000000000000000000000000000000000000aa',
            meter: async () => ({ areaId: 1, registered: true, active: true }),
          },
          meterAddress: meter,
          meterSigner: undefined,
          registered: true,
          rootKey: new Uint8Array(32).fill(7),
          observer: false,
          simulatedMeter: false,
          intervalSeconds: 900,
          slots: 96,
          log: silentLogger,
        }),
      ).rejects.toThrow(/EADDRINUSE|in use/i)
      expect(process.listenerCount('uncaughtException')).toBe(handlers)
    } finally {
      server.close()
    }
  })
})
