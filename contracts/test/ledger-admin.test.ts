/**
 * The utility's side of the ledger (meters, tariffs, notices, ownership, withdrawals with nothing to
 * withdraw) and the TypeScript client's own checks. Bills with real proofs: ledger-bills.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { getAddress, ZeroAddress } from 'ethers'
import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { tariffHash } from '#protocol/commitment.ts'
import { bytesToHex, domainSeparator } from '#protocol/eip712.ts'
import { InvalidInputError } from '#protocol/errors.ts'
import { devAccount, serveJsonRpc } from '../ts/chain.ts'
import { compileLedger, MissingVerifierError, REPO_ROOT } from '../ts/compile.ts'
import {
  billIdOf,
  connectLedger,
  decodeLedgerError,
  deployLedger,
  type LedgerClient,
  LedgerTransactionError,
  TariffMismatchError,
} from '../ts/ledger.ts'
import {
  INTERVAL,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  startTestEnv,
  type TestEnv,
} from './env.ts'
import { expectLedgerError } from './expect-revert.ts'

const SLOTS = 96
const N = 192
/** A two-level time-of-use curve (peak 17–21 h) that obeys the tariff rules (tariff-rules.test.ts). */
const PRICES = Array.from({ length: SLOTS }, (_, s) =>
  s >= 68 && s < 84 ? 45_000_000_000n : 20_000_000_000n,
)
const FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

let env: TestEnv
let utility: LedgerClient
let stranger: LedgerClient
let household: string
const meter = meterKey('admin-a')

beforeAll(async () => {
  env = await startTestEnv()
  household = env.chain.accounts[1]!.address
})

afterAll(async () => {
  await env?.chain.close()
})

beforeEach(async () => {
  utility = await deployLedger(env.signers[0]!, env.artifacts, { slots: SLOTS, maxIntervals: N })
  stranger = utility.connect(env.signers[2]!)
})

describe('deployment', () => {
  it('binds the verifier and the circuit limits, and makes the deployer the utility', async () => {
    expect(await utility.owner()).toBe(getAddress(env.chain.accounts[0]!.address))
    expect(await utility.contract.getFunction('slots')()).toBe(96n)
    expect(await utility.contract.getFunction('maxIntervals')()).toBe(192n)
    expect(await utility.contract.getFunction('interval')()).toBe(900n)
    expect(await utility.tariffCount()).toBe(0n)
  })

  it("computes the same EIP-712 domain separator as the meter's reference code", async () => {
    const domain = await utility.domain()
    expect(domain.chainId).toBe(env.chain.chainId)
    expect(await utility.contract.getFunction('domainSeparator')()).toBe(bytesToHex(domainSeparator(domain)))
  })

  it('refuses limits the circuit cannot have', async () => {
    await expect(
      deployLedger(env.signers[0]!, env.artifacts, { slots: 97, maxIntervals: N }),
    ).rejects.toThrow(InvalidInputError)
    await expect(
      deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 0 }),
    ).rejects.toThrow(InvalidInputError)
  })

  it('names a missing circuit build and a bad profile name', async () => {
    await expect(compileLedger('no-such-profile')).rejects.toThrow(MissingVerifierError)
    await expect(compileLedger('../etc')).rejects.toThrow(InvalidInputError)
  })
})

describe('bill ids', () => {
  it("TypeScript's billIdOf equals the contract's for arbitrary bills", async () => {
    const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
    const u256 = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => bytesToHex(b))
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b))
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          meter: address,
          periodStart: u64,
          periodEnd: u64,
          startCounter: u64,
          endCounter: u64,
          commitment: u256,
        }),
        address,
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.record({ total: u256, energyWh: u256, tariffId: u256, cidDigest: bytes32 }),
        async (period, household, areaId, claim) => {
          const onChain = await utility.contract.getFunction('billIdOf')(
            [
              period.meter,
              period.periodStart,
              period.periodEnd,
              period.startCounter,
              period.endCounter,
              period.commitment,
            ],
            household,
            areaId,
            [claim.total, claim.energyWh, claim.tariffId, claim.cidDigest],
          )
          expect(billIdOf(period, household, areaId, claim)).toBe(onChain)
        },
      ),
      { numRuns: 25 },
    )
  })
})

describe('meters', () => {
  it('registers a meter at its registration point', async () => {
    const receipt = await utility.registerMeter({
      meter: meter.address,
      household,
      areaId: 7,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    const event = utility.interface.parseLog(receipt.logs[0]!)
    expect(event?.name).toBe('MeterRegistered')
    expect(event?.args.toObject()).toMatchObject({
      meter: getAddress(meter.address),
      household: getAddress(household),
      areaId: 7n,
      startTime: BigInt(REGISTERED_AT),
      startCounter: START_COUNTER,
    })
    expect(await utility.meter(meter.address)).toMatchObject({
      household: getAddress(household),
      areaId: 7,
      registered: true,
      active: true,
      nextStart: BigInt(REGISTERED_AT),
      nextCounter: START_COUNTER,
    })
  })

  it('registers a meter address only once, on an interval boundary, with real addresses', async () => {
    const m = { meter: meter.address, household, areaId: 1, startTime: REGISTERED_AT, startCounter: 0 }
    await utility.registerMeter(m)
    await expectLedgerError(utility.registerMeter(m), 'MeterAlreadyRegistered', { meter: meter.address })
    await expectLedgerError(
      utility.registerMeter({ ...m, meter: meterKey('admin-b').address, startTime: REGISTERED_AT + 1 }),
      'NotOnIntervalBoundary',
      { time: BigInt(REGISTERED_AT + 1), interval: 900n },
    )
    await expectLedgerError(
      utility.registerMeter({ ...m, meter: meterKey('admin-c').address, household: ZeroAddress }),
      'ZeroAddress',
    )
  })

  it('deactivates a registered, active meter', async () => {
    await utility.registerMeter({
      meter: meter.address,
      household,
      areaId: 1,
      startTime: REGISTERED_AT,
      startCounter: 0,
    })
    const receipt = await utility.deactivateMeter(meter.address)
    expect(utility.interface.parseLog(receipt.logs[0]!)?.name).toBe('MeterDeactivated')
    expect((await utility.meter(meter.address)).active).toBe(false)
    await expectLedgerError(utility.deactivateMeter(meter.address), 'MeterInactive', { meter: meter.address })
    const unknown = meterKey('admin-unknown').address
    await expectLedgerError(utility.deactivateMeter(unknown), 'UnknownMeter', { meter: unknown })
  })
})

describe('tariffs', () => {
  it('publishes prices in the event, stores the hash and window, and chains windows', async () => {
    const first = await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
    expect(first.tariffId).toBe(1n)
    expect(first.tariffHash).toBe(tariffHash(PRICES))
    const t1 = await utility.tariff(1)
    expect(t1).toMatchObject({
      effectiveFrom: BigInt(MIDNIGHT),
      until: 2n ** 64n - 1n,
      tariffHash: tariffHash(PRICES),
    })
    expect(t1.prices).toEqual(PRICES)

    const prices2 = PRICES.map((p) => p * 2n)
    const second = await utility.publishTariff({ effectiveFrom: MIDNIGHT + 86_400, prices: prices2 })
    expect(second.tariffId).toBe(2n)
    expect((await utility.tariff(1)).until).toBe(BigInt(MIDNIGHT + 86_400))
    expect((await utility.tariff(2)).prices).toEqual(prices2)
    expect(await utility.tariffCount()).toBe(2n)
    expect((await utility.tariffCovering(REGISTERED_AT, REGISTERED_AT + 3600))?.tariffId).toBe(1n)
    expect((await utility.tariffCovering(MIDNIGHT + 86_400, MIDNIGHT + 2 * 86_400))?.tariffId).toBe(2n)
    expect(await utility.tariffCovering(REGISTERED_AT, MIDNIGHT + 86_400 + INTERVAL)).toBeUndefined()
    expect(await utility.tariffCovering(MIDNIGHT - INTERVAL, MIDNIGHT)).toBeUndefined()
  })

  it('requires SLOTS prices, strictly increasing aligned starts and an in-field hash', async () => {
    await expectLedgerError(
      utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES.slice(1) }),
      'WrongPriceCount',
      {
        expected: 96n,
        got: 95n,
      },
    )
    await expectLedgerError(
      utility.publishTariff({ effectiveFrom: MIDNIGHT + 1, prices: PRICES }),
      'NotOnIntervalBoundary',
    )
    await expectLedgerError(
      utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES, tariffHash: FIELD_ORDER }),
      'TariffHashOutOfField',
    )
    await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })
    await expectLedgerError(
      utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES }),
      'TariffNotIncreasing',
      {
        previous: BigInt(MIDNIGHT),
        effectiveFrom: BigInt(MIDNIGHT),
      },
    )
    await expectLedgerError(utility.tariff(5), 'UnknownTariff', { tariffId: 5n })
  })

  it('refuses, when reading, prices that do not hash to the published tariff hash', async () => {
    await utility.publishTariff({
      effectiveFrom: MIDNIGHT,
      prices: PRICES,
      tariffHash: tariffHash(PRICES) + 1n,
    })
    await expect(utility.tariff(1)).rejects.toThrow(TariffMismatchError)
  })
})

describe('notices', () => {
  it('publishes notices as events, readable per area', async () => {
    await utility.publishNotice({ areaId: 3, kind: 1, startsAt: 100, endsAt: 200, message: 'planned outage' })
    await utility.publishNotice({ areaId: 4, kind: 2, startsAt: 300, endsAt: 300, message: 'maintenance' })
    expect(await utility.notices({ areaId: 3 })).toEqual([
      expect.objectContaining({
        areaId: 3,
        kind: 1,
        startsAt: 100n,
        endsAt: 200n,
        message: 'planned outage',
      }),
    ])
    expect((await utility.notices()).map((n) => n.message)).toEqual(['planned outage', 'maintenance'])
    await expectLedgerError(
      utility.publishNotice({ areaId: 3, kind: 1, startsAt: 200, endsAt: 100, message: 'x' }),
      'InvalidNoticeWindow',
      { startsAt: 200n, endsAt: 100n },
    )
  })
})

describe('ownership and authorisation', () => {
  it('refuses every utility function from anyone but the owner', async () => {
    const sender = env.chain.accounts[2]!.address
    const calls: [string, Promise<unknown>][] = [
      [
        'registerMeter',
        stranger.registerMeter({ meter: meter.address, household, areaId: 1, startTime: 0, startCounter: 0 }),
      ],
      ['deactivateMeter', stranger.deactivateMeter(meter.address)],
      ['publishTariff', stranger.publishTariff({ effectiveFrom: MIDNIGHT, prices: PRICES })],
      [
        'publishNotice',
        stranger.publishNotice({ areaId: 1, kind: 0, startsAt: 0, endsAt: 1, message: 'fake' }),
      ],
      ['withdraw', stranger.withdraw(sender)],
      ['transferOwnership', stranger.transferOwnership(sender)],
    ]
    for (const [, call] of calls) await expectLedgerError(call, 'NotOwner', { sender })
    await expectLedgerError(stranger.acceptOwnership(), 'NotPendingOwner', { sender })
  })

  it('transfers ownership in two steps', async () => {
    const next = env.chain.accounts[2]!.address
    await utility.transferOwnership(next)
    expect(await utility.owner()).toBe(getAddress(env.chain.accounts[0]!.address))
    await expectLedgerError(utility.connect(env.signers[3]!).acceptOwnership(), 'NotPendingOwner')
    await stranger.acceptOwnership()
    expect(await utility.owner()).toBe(getAddress(next))
    await expectLedgerError(
      utility.publishNotice({ areaId: 1, kind: 0, startsAt: 0, endsAt: 1, message: 'old' }),
      'NotOwner',
    )
    await stranger.publishNotice({ areaId: 1, kind: 0, startsAt: 0, endsAt: 1, message: 'new owner' })
    await expectLedgerError(utility.transferOwnership(ZeroAddress), 'NotOwner')
    await expectLedgerError(stranger.transferOwnership(ZeroAddress), 'ZeroAddress')
  })

  it('has nothing to withdraw before any payment, and refuses unknown bills', async () => {
    await expectLedgerError(utility.withdraw(household), 'NothingToWithdraw')
    const id = `0x${'ab'.repeat(32)}`
    await expectLedgerError(utility.payBill(id, 1n), 'UnknownBill', { billId: id })
    expect(await utility.billStatus(id)).toEqual({ submitted: false, paid: false, total: 0n })
  })
})

describe('deploying to another chain through RPC_URL', () => {
  it('deploy-cli deploys a working ledger over JSON-RPC with a private key', async () => {
    const server = await serveJsonRpc(env.chain.provider, { host: '127.0.0.1', port: 0 })
    try {
      const deployer = devAccount(7)
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'contracts', 'ts', 'deploy-cli.ts'), '--profile', 'test'],
        {
          env: { ...process.env, RPC_URL: server.url, DEPLOYER_KEY: deployer.privateKey },
        },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(code, stderr).toBe(0)
      const deployed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
      expect(deployed).toMatchObject({
        chainId: env.chain.chainId.toString(),
        profile: 'test',
        slots: 96,
        maxIntervals: 192,
      })
      const ledger = connectLedger(
        deployed.ledger,
        env.signers[0]!,
        env.artifacts.ledger.abi,
        deployed.fromBlock,
      )
      expect(await ledger.owner()).toBe(getAddress(deployer.address))
      expect(await ledger.contract.getFunction('verifier')()).toBe(deployed.verifier)
    } finally {
      await server.close()
    }
  })

  it('names a missing RPC_URL or key', async () => {
    const child = spawnSync(process.execPath, [join(REPO_ROOT, 'contracts', 'ts', 'deploy-cli.ts')], {
      env: { ...process.env, RPC_URL: '', DEPLOYER_KEY: '' },
      encoding: 'utf8',
    })
    expect(child.status).not.toBe(0)
    expect(child.stderr).toMatch(/RPC_URL|DEPLOYER_KEY/)
  })
})

describe('client input checks', () => {
  it('throws named errors for bad arguments before sending anything', async () => {
    await expect(
      utility.registerMeter({ meter: '0x12', household, areaId: 1, startTime: 0, startCounter: 0 }),
    ).rejects.toThrow(InvalidInputError)
    await expect(
      utility.registerMeter({
        meter: meter.address,
        household,
        areaId: 2 ** 32,
        startTime: 0,
        startCounter: 0,
      }),
    ).rejects.toThrow(/does not fit uint32/)
    await expect(utility.publishTariff({ effectiveFrom: -1, prices: PRICES })).rejects.toThrow(
      InvalidInputError,
    )
    await expect(utility.payBill('0x1234')).rejects.toThrow(InvalidInputError)
    await expect(utility.tariff('abc')).rejects.toThrow(InvalidInputError)
  })

  it('wraps failures that carry no ledger error', () => {
    const err = decodeLedgerError(new Error('connection refused'), utility.interface)
    expect(err).toBeInstanceOf(LedgerTransactionError)
    expect(err.message).toMatch(/connection refused/)
  })
})
