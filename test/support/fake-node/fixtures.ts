/**
 * The fake node's data: a reproducible household (a paid, a verified and a proving bill, a
 * reading, the relays, notices, the mesh and its backups, a tariff) as the API shows it. Tests
 * change it between requests (test/support/fake-node.ts serves it through the node's own routes).
 */

import type {
  Aggregates,
  Alarm,
  Bill,
  BillStatus,
  DisplayCurrency,
  LedgerTariff,
  MeshReport,
  MeshRestoreReport,
  Notice,
  Reading,
  RuleSet,
} from '#protocol/api/types.ts'
import type { OutputOrigin } from '../../../node/src/automation/output-origins.ts'
import { DEFAULT_RULE_SET } from '../../../node/src/automation/rule-schema.ts'

/** A relay as the meter reports it (GET /api/relays adds its name). */
export interface RelayState {
  channel: number
  on: boolean
  /** The meter has reported it. */
  known: boolean
}

export const DAY = 86_400
/** The fixture meter's clock: a fixed UTC noon so charts and periods are reproducible. */
export const NOW = 1_764_072_000

export function reading(seq: number, overrides: Partial<Reading> = {}): Reading {
  return {
    seq,
    kind: 'live',
    time: NOW + seq,
    energyWh: 1_234_567 + seq,
    intervalWh: 312,
    exportedWh: 0,
    intervalExportedWh: 0,
    powerW: 1500 + (seq % 7) * 10,
    voltageV: 230.1,
    currentA: 6.52,
    powerFactor: 0.98,
    temperatureC: 24.5,
    light: 0.042,
    gas: 0.001,
    water: 0,
    hazards: { flame: false, gas: false, water: false },
    relays: [true, false, false, true, false, false, false, true],
    fanSpeed: 2,
    ...overrides,
  }
}

export function bill(n: number, status: BillStatus, overrides: Partial<Bill> = {}): Bill {
  const periodStart = NOW - (3 - n) * 30 * DAY
  // Like the node: a bill has a ledger id and a transaction once it has been submitted.
  const submitted = status !== 'proving'
  return {
    id: `0xmeter-${periodStart}`,
    periodStart,
    periodEnd: periodStart + 30 * DAY,
    energyWh: 10_234 * n,
    total: status === 'proving' ? null : String(10_234_000_000_000_000n * BigInt(n)),
    status,
    commitment: `12345678901234567890123456789012345678901234567890${n}`,
    manifestCid: `bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52z${n}`,
    cidDigest: `0x${'ab'.repeat(31)}0${n}`,
    tariffId: '1',
    chainBillId: submitted ? `0x${'00'.repeat(31)}0${n}` : null,
    submitTx: submitted ? `0x${'cd'.repeat(31)}0${n}` : null,
    paidTx: status === 'paid' ? `0x${'ef'.repeat(31)}0${n}` : null,
    paidBy: status === 'paid' ? `0x${'9a'.repeat(19)}0${n}` : null,
    error: null,
    failure: null,
    nextAttemptAt: null,
    waitingFor: null,
    retryable: status === 'failed',
    ...overrides,
  }
}

export const CHAIN = {
  chainId: '31337',
  chainIdHex: '0x7a69',
  chainName: 'zkmeter dev chain',
  rpcUrl: 'http://127.0.0.1:8545',
  ledger: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  payBillAbi: 'function payBill(bytes32 billId) payable',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
}

export const METER: `0x${string}` = '0x1111111111111111111111111111111111111111'
export const HOUSEHOLD: `0x${string}` = '0x2222222222222222222222222222222222222222'

export interface FakeNodeState {
  latest: Reading | undefined
  bills: Bill[]
  /** The meter's relays as it reports them (the node adds the names). */
  relays: RelayState[]
  fanSpeed: number
  alarms: Alarm[]
  notices: Notice[]
  rules: RuleSet
  aggregates: Aggregates
  /** GET /api/mesh (`{ enabled: false }` for a node started with --mesh false). */
  mesh: MeshReport
  /** What POST /api/mesh/restore answers. */
  restore: MeshRestoreReport
  devWallet: boolean
  /** Relay channels whose command the "meter" never confirms (→ 504). */
  unresponsive: Set<number>
  /** Who last set each output (the node's automation records it; GET /api/relays shows it). */
  origins: OutputOrigin[]
  /** Requests received, "METHOD path" plus JSON body, for assertions. */
  requests: { method: string; path: string; body: unknown }[]
  tariffs: LedgerTariff[]
  /** The household's display currency (PUT /api/settings/display-currency), none at first. */
  displayCurrency: DisplayCurrency | null
  /** Credits meters carry from net bills (creditOf; GET /api/utility/credits), none at first. */
  credits: { meter: string; credit: bigint }[]
  /** The ledger's payBill calls (the dev wallet's payments), with the amount sent. */
  ledgerPayments: { billId: string; amount: bigint | undefined }[]
}

export function initialState(): FakeNodeState {
  return {
    latest: reading(1),
    bills: [bill(1, 'paid'), bill(2, 'verified'), bill(3, 'proving')],
    relays: Array.from({ length: 8 }, (_, i) => ({ channel: i + 1, on: [0, 3, 7].includes(i), known: true })),
    fanSpeed: 2,
    origins: [],
    displayCurrency: null,
    credits: [],
    ledgerPayments: [],
    alarms: [],
    notices: [
      {
        source: 'utility',
        via: 'chain',
        kind: 1,
        message: 'Grid maintenance on Elm Street, short interruptions possible.',
        startsAt: 1_764_057_600,
        endsAt: 1_764_072_000,
        area: 1,
      },
      {
        source: 'neighbour',
        via: 'mesh',
        id: 'alert-0xb2b2-1763978400',
        kind: 'fire',
        message: 'Fire alarm at a neighbouring home.',
        startsAt: 1_763_978_400,
        endsAt: 1_763_982_000,
        area: 1,
        meter: `0x${'b2'.repeat(20)}`,
      },
    ],
    rules: { ...structuredClone(DEFAULT_RULE_SET), revision: 3 },
    aggregates: {
      available: false,
      reason: 'the mesh has fewer than 3 members in area 1, too few to hide any one home',
    },
    mesh: {
      enabled: true,
      running: true,
      peerId: '12D3KooWHomeAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1',
      area: 1,
      listen: ['/ip4/127.0.0.1/tcp/4101'],
      members: 3,
      connectedAreaPeers: 2,
      signing: true,
      observer: false,
      alertsSent: 0,
      alertsReceived: 1,
      noticesReceived: 1,
      noticesRejected: 0,
      sharesContributed: 42,
      sharesSkipped: 3,
      roundsCollected: 0,
      roundsFailed: 0,
      lastAggregationError: null,
      backups: [
        {
          periodStart: NOW - 2 * DAY - (NOW % DAY),
          periodEnd: NOW - DAY - (NOW % DAY),
          manifestCid: 'bafyreibackupdone0000000000000000000000000000000000001',
          pinnedBy: [
            {
              peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
              meter: `0x${'b2'.repeat(20)}`,
              at: '2026-11-23T00:00:02Z',
            },
            {
              peerId: '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
              meter: `0x${'c3'.repeat(20)}`,
              at: '2026-11-23T00:00:03Z',
            },
          ],
          status: 'done',
          attempts: 1,
          lastError: null,
        },
        {
          periodStart: NOW - DAY - (NOW % DAY),
          periodEnd: NOW - (NOW % DAY),
          manifestCid: 'bafyreibackuppartial0000000000000000000000000000000002',
          pinnedBy: [
            {
              peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
              meter: `0x${'b2'.repeat(20)}`,
              at: '2026-11-24T00:00:02Z',
            },
          ],
          status: 'partial',
          attempts: 3,
          lastError: 'PinTimeoutError: 12D3KooWNeighbourC… did not confirm in 30 s',
        },
      ],
    },
    restore: {
      restored: [
        'bafyreibackupdone0000000000000000000000000000000000001',
        'bafyreibackuppartial0000000000000000000000000000000002',
      ],
      periods: [
        {
          manifestCid: 'bafyreibackupdone0000000000000000000000000000000000001',
          outcome: 'adopted',
          meter: '0x1111111111111111111111111111111111111111',
          periodStart: NOW - 2 * DAY - (NOW % DAY),
          periodEnd: NOW - DAY - (NOW % DAY),
          records: 96,
          reason: null,
          heldBy: [
            '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
            '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
          ],
        },
        {
          manifestCid: 'bafyreibackuppartial0000000000000000000000000000000002',
          outcome: 'present',
          meter: '0x1111111111111111111111111111111111111111',
          periodStart: NOW - DAY - (NOW % DAY),
          periodEnd: NOW - (NOW % DAY),
          records: 96,
          reason: null,
          heldBy: ['12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2'],
        },
        {
          manifestCid: 'bafyreiforeign000000000000000000000000000000000000003',
          outcome: 'refused',
          meter: null,
          periodStart: null,
          periodEnd: null,
          records: null,
          reason: 'ForeignManifestError',
          heldBy: ['12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3'],
        },
      ],
      neighbours: [
        {
          peerId: '12D3KooWNeighbourBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2',
          meter: `0x${'b2'.repeat(20)}`,
          listed: 2,
          error: null,
        },
        {
          peerId: '12D3KooWNeighbourCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3',
          meter: `0x${'c3'.repeat(20)}`,
          listed: 2,
          error: null,
        },
        {
          peerId: '12D3KooWNeighbourDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD4',
          meter: null,
          listed: null,
          error: 'list timed out after 10 s',
        },
      ],
    },
    devWallet: true,
    unresponsive: new Set(),
    requests: [],
    tariffs: [
      {
        tariffId: '1',
        effectiveFrom: '0',
        until: '18446744073709551615',
        tariffHash: '4242',
        prices: Array.from({ length: 96 }, () => '1000000000000'),
      },
    ],
  }
}
