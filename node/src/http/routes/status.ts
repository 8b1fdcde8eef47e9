/** GET /api/status (is everything up, and where) and GET /api/chain (what a wallet needs to pay). */

import type { RouteHandlers } from '#protocol/api/routes.ts'
import type {
  BrokerHealth as BrokerHealthView,
  ChainHealth as ChainHealthView,
  MeshSummary,
  Status,
} from '#protocol/api/types.ts'
import { meterTopicName } from '#protocol/topics.ts'
import type { ChainHealth } from '../../chain/resilient-provider.ts'
import type { BrokerHealth, CatchUpStatus } from '../../ingest/types.ts'
import type { RoutesContext } from '../context.ts'
import { assetView } from '../views.ts'

export type StatusContext = Pick<
  RoutesContext,
  | 'asset'
  | 'config'
  | 'identity'
  | 'history'
  | 'ingestor'
  | 'meter'
  | 'chainId'
  | 'rpcUrl'
  | 'chainHealth'
  | 'ledger'
  | 'wallet'
  | 'utility'
  | 'mqttUrl'
  | 'trustedSetup'
  | 'circuit'
  | 'mesh'
  | 'startedAt'
>

/** The mesh in /api/status: is it up, and how many of the area's homes are we connected to. */
function meshSummary(mesh: StatusContext['mesh']): MeshSummary {
  if (!mesh) return { enabled: false }
  const s = mesh.status()
  return {
    enabled: true,
    running: s.running,
    area: s.area,
    peerId: s.peerId,
    members: s.members,
    connectedAreaPeers: s.connectedAreaPeers,
  }
}

/** The provider's health with ISO times, or nothing when the provider does not track it. */
function chainHealthView(health: ChainHealth | null): { health?: ChainHealthView } {
  if (health === null) return {}
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
  return {
    health: {
      ...health,
      since: new Date(health.since).toISOString(),
      lastErrorAt: iso(health.lastErrorAt),
    },
  }
}

/** The broker connection's health with ISO times, or nothing without an MQTT session. */
function brokerHealthView(health: BrokerHealth | null | undefined): { health?: BrokerHealthView } {
  if (health === null || health === undefined) return {}
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())
  return {
    health: {
      ...health,
      since: new Date(health.since).toISOString(),
      lastErrorAt: iso(health.lastErrorAt),
      nextAttemptAt: iso(health.nextAttemptAt),
    },
  }
}

/** The start's catch-up (ingest/types.ts CatchUpStatus) with an ISO time. */
function ingestView(catchUp: CatchUpStatus | undefined): { ingest?: Status['ingest'] } {
  if (catchUp === undefined) return {}
  return { ingest: { ...catchUp, since: new Date(catchUp.since).toISOString() } }
}

export function statusRoutes(ctx: StatusContext): Pick<RouteHandlers, 'status' | 'chain'> {
  const meter = ctx.identity.meter.address
  return {
    status: () => {
      const latest = ctx.history.latest()
      const lastSeen = ctx.ingestor.status().find((m) => m.meter === meter)
      return {
        ready: true,
        version: '0.1.0',
        dev: ctx.config.dev,
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
        ...ingestView(ctx.ingestor.catchUp?.()),
        meter: {
          address: meter,
          topic: meterTopicName(meter),
          online: latest !== undefined,
          lastSeq: latest?.seq ?? null,
          ackedSeq: lastSeen?.ackedSeq ?? null,
          simulated: ctx.meter !== undefined,
          simulatedTime: ctx.meter ? Math.floor(ctx.meter.clock.now()) : null,
        },
        chain: {
          chainId: ctx.chainId.toString(),
          rpcUrl: ctx.rpcUrl,
          ledger: ctx.ledger.address,
          household: ctx.wallet.address,
          devWallet: ctx.config.dev && ctx.utility !== undefined,
          ...chainHealthView(ctx.chainHealth?.() ?? null),
        },
        mqtt: { url: ctx.mqttUrl, ...brokerHealthView(ctx.ingestor.broker?.()) },
        circuit: { profile: ctx.circuit.profile, n: ctx.circuit.n, slots: ctx.circuit.slots },
        mesh: meshSummary(ctx.mesh),
      }
    },
    chain: () => ({
      chainId: ctx.chainId.toString(),
      chainIdHex: `0x${ctx.chainId.toString(16)}`,
      chainName: ctx.utility ? 'zkmeter dev chain' : `chain ${ctx.chainId}`,
      rpcUrl: ctx.rpcUrl,
      ledger: ctx.ledger.address,
      payBillAbi: 'function payBill(bytes32 billId) payable',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      asset: assetView(ctx.asset),
      // A token bill is paid with one of these (docs/contracts.md "Token tariffs"); the browser
      // signs the token's EIP-2612 permit as typed data, or approves the ledger first.
      ...(ctx.asset !== undefined && ctx.asset.assetId !== 0
        ? {
            payBillWithPermitAbi:
              'function payBillWithPermit(bytes32 billId, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
            payBillWithTokenAbi: 'function payBillWithToken(bytes32 billId)',
            tokenPermit: ctx.asset.permit ?? null,
          }
        : {}),
      ...(ctx.trustedSetup === undefined ? {} : { trustedSetup: ctx.trustedSetup }),
    }),
  }
}
