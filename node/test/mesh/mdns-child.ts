/**
 * Run inside a fresh network namespace by mdns.test.ts: two mesh nodes with no static peers find each
 * other by mDNS alone, exchange announcements, and one alert is delivered and acknowledged.
 * Prints one JSON line with the outcome.
 */
import { createMeshNode } from '../../src/mesh/node.ts'
import { snapshotRegistry } from '../../src/mesh/registry.ts'
import type { Address } from '../../src/mesh/signing.ts'
import { AREA, collectingLogger, DOMAIN, newSigner, until } from './fixture.ts'

const utility = newSigner()
const meters = [newSigner(), newSigner()]
const registry = snapshotRegistry(meters.map((m) => ({ meter: m.address, area: AREA, active: true })))
const nodes = await Promise.all(
  meters.map((meter) =>
    createMeshNode({
      area: AREA,
      domain: DOMAIN,
      utility: utility.address as Address,
      registry,
      meter,
      mdns: { interval: 250 },
      log: collectingLogger(),
      announceIntervalMs: 500,
    }),
  ),
)
const started = Date.now()
let result: Record<string, unknown>
try {
  await Promise.all(nodes.map((n) => n.start()))
  await until(
    () => nodes.every((n) => n.members.list().length === 2),
    20_000,
    'mDNS discovery and announcements',
  )
  const discoveredMs = Date.now() - started
  const delivery = await nodes[0]!.alerts.raise('gas', 30)
  result = {
    ok: true,
    discoveredMs,
    acked: delivery.acked.length,
    connections: nodes[0]!.libp2p.getConnections().length,
  }
} catch (error) {
  result = { ok: false, error: String(error) }
}
await Promise.all(nodes.map((n) => n.stop()))
console.log(JSON.stringify(result))
process.exit(0)
