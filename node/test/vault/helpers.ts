import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHeliaNode, type HeliaNode } from '../../src/ipfs/helia.ts'
import type { VaultRecord } from '../../src/vault/index.ts'

export const METER = '0x00000000000000000000000000000000000a11ce' as const
export const OTHER_METER = '0x1234567890abcdef1234567890abcdef12345678' as const
export const DAY = 86_400
export const PERIOD_START = 1_764_000_000
export const PERIOD_END = PERIOD_START + 30 * DAY

/** A temp dir and the nodes started in it, all released by cleanup(). */
export async function scratch(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), `zkmeter-${prefix}-`))
  const nodes: HeliaNode[] = []
  return {
    dir,
    async node(name: string): Promise<HeliaNode> {
      const node = await createHeliaNode({ dir: join(dir, name) })
      nodes.push(node)
      return node
    },
    async cleanup(): Promise<void> {
      await Promise.all(nodes.map((n) => n.stop()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export const newRootKey = (): Uint8Array => new Uint8Array(randomBytes(32))

/** Records shaped like the verified signed meter records ingestion hands in (values made distinctive). */
export function meterRecords(count: number, firstSeq = 0, marker = 0): VaultRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = firstSeq + i
    return {
      seq,
      kind: 1,
      time: PERIOD_START + seq * 900,
      energyWh: 1_000_000 + seq * 137,
      intervalWh: 137 + ((seq * 7919 + marker) % 400),
      exportedWh: 0,
      intervalExportedWh: 0,
      powerW: 548 + ((seq * 104729 + marker) % 3000),
      voltageMv: 230_123,
      currentMa: 2_381,
      powerFactor: 970,
      temperatureCenti: 2150,
      light: 300,
      gas: 0,
      water: 0,
      hazards: 0,
      relays: 5,
      fanSpeed: 1,
      sig: `0x${'ab'.repeat(65)}` as const,
    }
  })
}
