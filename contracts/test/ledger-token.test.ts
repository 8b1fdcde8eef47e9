/**
 * Token tariffs (issue 17): a bill priced in an ERC-20 stablecoin, paid with an EIP-2612 permit or
 * approve + pay, withdrawn by the utility; and every way a token payment is refused or attacked:
 * a fee-on-transfer token, a token without return values (USDT-style), a token that re-enters the
 * ledger from transferFrom, paying twice, a front-run permit, a bill paid in the wrong asset, a
 * tariff of another asset than the meter's area. Real Groth16 proofs (test profile), in-process EDR.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Contract, ContractFactory, getAddress, Interface, type InterfaceAbi, Signature } from 'ethers'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type CompiledContract, compileSolidity, REPO_ROOT } from '../ts/compile.ts'
import {
  type BillSubmission,
  deployLedger,
  type LedgerClient,
  LedgerTransactionError,
  signPermit,
} from '../ts/ledger.ts'
import { type Circuit, loadCircuit, type PreparedBill, prepareBill, priceCurve } from './bills.ts'
import {
  DAY,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  signPeriod,
  startTestEnv,
  type TestEnv,
} from './env.ts'
import { expectLedgerError } from './expect-revert.ts'

/** Test USD has 6 decimals: 300 units per Wh is 0.30 tUSD per kWh… per Wh × 1000 = 0.30 per kWh. */
const TOKEN_PRICES = priceCurve(300n, 450n, 96)
const ETHER_PRICES = priceCurve(20_000_000_000n, 45_000_000_000n, 96)
const TOKEN_AREA = 7
const ETHER_AREA = 8
const MINTED = 1_000_000_000_000n

const meterT = meterKey('token-t')
const meterE = meterKey('token-e')

let env: TestEnv
let circuit: Circuit
let fixtures: Record<string, CompiledContract>
let billT1: PreparedBill
let billT2: PreparedBill
let billE1: PreparedBill
let hh1: string
let payerAddress: string

let utility: LedgerClient
let household1: LedgerClient
let payer: LedgerClient
let attacker: LedgerClient
let token: Contract

beforeAll(async () => {
  env = await startTestEnv()
  hh1 = env.chain.accounts[1]!.address
  payerAddress = env.chain.accounts[3]!.address
  circuit = await loadCircuit('test')
  fixtures = await compileSolidity(
    { 'Tokens.sol': readFileSync(join(REPO_ROOT, 'contracts', 'test', 'fixtures', 'Tokens.sol'), 'utf8') },
    { cacheDir: join(REPO_ROOT, 'contracts', 'build', 'fixtures-tokens') },
  )
  // Tariff ids: the token tariff is published first (id 1), the Ether tariff second (id 2).
  billT1 = await prepareBill(circuit, {
    meter: meterT,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    prices: TOKEN_PRICES,
    tariffId: 1n,
    seed: 11,
  })
  billT2 = await prepareBill(circuit, {
    meter: meterT,
    start: REGISTERED_AT + DAY,
    end: MIDNIGHT + 2 * DAY,
    startCounter: billT1.period.endCounter,
    prices: TOKEN_PRICES,
    tariffId: 1n,
    seed: 12,
  })
  billE1 = await prepareBill(circuit, {
    meter: meterE,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    prices: ETHER_PRICES,
    tariffId: 2n,
    seed: 13,
  })
})

afterAll(async () => {
  await env?.chain.close()
})

async function deployContract(compiled: CompiledContract, from = 0): Promise<Contract> {
  const factory = new ContractFactory(compiled.abi as InterfaceAbi, compiled.bytecode, env.signers[from]!)
  const contract = await factory.deploy()
  await contract.waitForDeployment()
  return contract as unknown as Contract
}

/** A fresh ledger whose TOKEN_AREA bills in `tokenContract` (asset 1), with meters and tariffs. */
async function setUp(tokenContract: Contract, decimals = 6): Promise<void> {
  utility = await deployLedger(env.signers[0]!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  household1 = utility.connect(env.signers[1]!)
  payer = utility.connect(env.signers[3]!)
  attacker = utility.connect(env.signers[4]!)
  token = tokenContract
  const { assetId } = await utility.registerAsset(await token.getAddress(), decimals)
  expect(assetId).toBe(1)
  await utility.setAreaAsset(TOKEN_AREA, 1)
  for (const [key, area] of [
    [meterT, TOKEN_AREA],
    [meterE, ETHER_AREA],
  ] as const) {
    await utility.registerMeter({
      meter: key.address,
      household: hh1,
      areaId: area,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
  }
  expect(
    (await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: TOKEN_PRICES, assetId: 1 })).tariffId,
  ).toBe(1n)
  expect((await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: ETHER_PRICES })).tariffId).toBe(2n)
  for (const i of [1, 3, 4]) await send(token, 'mint', [env.chain.accounts[i]!.address, MINTED])
}

async function send(contract: Contract, method: string, args: unknown[], from?: number): Promise<void> {
  const c = from === undefined ? contract : (contract.connect(env.signers[from]!) as Contract)
  await (await c.getFunction(method).send(...args)).wait()
}

async function balanceOf(address: string): Promise<bigint> {
  return (await token.getFunction('balanceOf').staticCall(address)) as bigint
}

function submission(bill: PreparedBill, tweaks: Partial<BillSubmission> = {}): BillSubmission {
  return {
    period: bill.period,
    signature: signPeriod(
      bill.period.meter === meterT.address ? meterT : meterE,
      { chainId: env.chain.chainId, verifyingContract: utility.address },
      bill.period,
    ),
    proof: bill.proof,
    total: bill.total,
    energyWh: bill.energyWh,
    tariffId: bill.tariffId,
    cidDigest: bill.cidDigest,
    ...tweaks,
  }
}

describe('a test stablecoin with EIP-2612 permit', () => {
  beforeEach(async () => {
    await setUp(await deployContract(env.artifacts.testStablecoin))
  })

  it('is named as a test token, 6 decimals, and the ledger reads it as asset 1', async () => {
    expect(await token.getFunction('name').staticCall()).toBe('Test USD (zkmeter dev)')
    expect(await utility.asset(1)).toEqual({
      assetId: 1,
      token: getAddress(await token.getAddress()),
      decimals: 6,
      symbol: 'tUSD',
      permit: { name: 'Test USD (zkmeter dev)', version: '1' },
    })
    expect(await utility.asset(0)).toMatchObject({ assetId: 0, symbol: 'ETH', decimals: 18 })
    expect(await utility.areaAsset(TOKEN_AREA)).toEqual({ assetId: 1, fixed: true })
    expect(await utility.areaAsset(ETHER_AREA)).toEqual({ assetId: 0, fixed: true })
    expect((await utility.meter(meterT.address)).assetId).toBe(1)
    expect((await utility.meter(meterE.address)).assetId).toBe(0)
    // Each asset has its own chain: the Ether tariff (2) did not end the token tariff (1).
    expect(await utility.tariff(1n)).toMatchObject({ assetId: 1, until: 2n ** 64n - 1n })
    expect(await utility.tariffCovering(REGISTERED_AT, REGISTERED_AT + DAY, 1)).toMatchObject({
      tariffId: 1n,
    })
    expect(await utility.tariffCovering(REGISTERED_AT, REGISTERED_AT + DAY)).toMatchObject({ tariffId: 2n })
  })

  it('pays a token bill with a permit (one signature, no approve), then the utility withdraws it', async () => {
    const { billId } = await household1.submitBill(submission(billT1))
    expect(await utility.billAsset(billId)).toBe(1)
    expect(await utility.billStatus(billId)).toEqual({ submitted: true, paid: false, total: billT1.total })
    const before = await balanceOf(hh1)
    const receipt = await household1.payBillWithPermit(billId)
    expect(receipt.gasUsed).toBeLessThanOrEqual(120_000n)
    expect(await balanceOf(hh1)).toBe(before - billT1.total)
    expect(await balanceOf(utility.address)).toBe(billT1.total)
    expect(await utility.tokenWithdrawable(1)).toBe(billT1.total)
    expect(await utility.payment(billId)).toMatchObject({ payer: getAddress(hh1), amount: billT1.total })
    // Ether accounting is untouched.
    expect(await utility.withdrawable()).toBe(0n)

    const treasury = env.chain.accounts[6]!.address
    await expectLedgerError(household1.withdrawToken(1, treasury), 'NotOwner')
    await utility.withdrawToken(1, treasury)
    expect(await balanceOf(treasury)).toBe(billT1.total)
    expect(await utility.tokenWithdrawable(1)).toBe(0n)
    await expectLedgerError(utility.withdrawToken(1, treasury), 'NothingToWithdraw')
    await expectLedgerError(utility.withdrawToken(2, treasury), 'UnknownAsset', { assetId: 2n })
    await expectLedgerError(utility.withdraw(treasury), 'NothingToWithdraw')
  })

  it('pays with approve + pay, by anyone, from their own tokens only', async () => {
    const { billId } = await household1.submitBill(submission(billT1))
    // Without an allowance the token itself refuses the pull.
    await expect(payer.payBillWithToken(billId)).rejects.toBeInstanceOf(LedgerTransactionError)
    await payer.approveToken(await token.getAddress(), billT1.total)
    const hhBefore = await balanceOf(hh1)
    await payer.payBillWithToken(billId)
    expect(await balanceOf(payerAddress)).toBe(MINTED - billT1.total)
    expect(await balanceOf(hh1)).toBe(hhBefore)
    expect(await utility.payment(billId)).toMatchObject({ payer: getAddress(payerAddress) })
  })

  it('refuses to take a bill twice, by either path', async () => {
    const { billId } = await household1.submitBill(submission(billT1))
    await household1.payBillWithPermit(billId)
    await expectLedgerError(household1.payBillWithPermit(billId), 'AlreadyPaid', { billId })
    await payer.approveToken(await token.getAddress(), billT1.total)
    await expectLedgerError(payer.payBillWithToken(billId), 'AlreadyPaid', { billId })
    await expectLedgerError(payer.payBill(billId, billT1.total), 'AlreadyPaid', { billId })
    expect(await balanceOf(utility.address)).toBe(billT1.total)
    expect(await balanceOf(payerAddress)).toBe(MINTED)
  })

  it('still pays when the permit was front-run (the allowance is there), and never from another account', async () => {
    const { billId } = await household1.submitBill(submission(billT1))
    const permit = await signPermit(env.signers[1]!, await token.getAddress(), utility.address, billT1.total)
    const sig = Signature.from(permit.signature)
    // The attacker submits the household's permit first: the nonce is spent, the allowance set.
    await send(token, 'permit', [hh1, utility.address, billT1.total, permit.deadline, sig.v, sig.r, sig.s], 4)
    // The attacker cannot use that allowance: the ledger pulls only from the sender.
    await expectLedgerError(attacker.payBillWithPermit(billId, permit), 'PermitRejected', {
      billId,
      allowance: 0n,
      needed: billT1.total,
    })
    expect(await balanceOf(hh1)).toBe(MINTED)
    // The household's own pay with the now-spent permit goes through on the allowance.
    await household1.payBillWithPermit(billId, permit)
    expect((await utility.billStatus(billId)).paid).toBe(true)
    expect(await balanceOf(hh1)).toBe(MINTED - billT1.total)
  })

  it('refuses a permit for less than the bill, or for another spender, when no allowance covers it', async () => {
    const { billId } = await household1.submitBill(submission(billT1))
    const short = await signPermit(
      env.signers[1]!,
      await token.getAddress(),
      utility.address,
      billT1.total - 1n,
    )
    await expectLedgerError(household1.payBillWithPermit(billId, short), 'PermitRejected', {
      allowance: 0n,
      needed: billT1.total,
    })
    const elsewhere = await signPermit(env.signers[1]!, await token.getAddress(), payerAddress, billT1.total)
    await expectLedgerError(household1.payBillWithPermit(billId, elsewhere), 'PermitRejected')
    expect((await utility.billStatus(billId)).paid).toBe(false)
  })

  it('keeps assets apart: wrong pay method, wrong tariff asset, area asset fixed once it has meters', async () => {
    const { billId: tokenBill } = await household1.submitBill(submission(billT1))
    await expectLedgerError(payer.payBill(tokenBill, billT1.total), 'WrongAsset', {
      billId: tokenBill,
      assetId: 1n,
    })
    const { billId: etherBill } = await household1.submitBill(submission(billE1))
    await expectLedgerError(
      household1.payBillWithPermit(etherBill, { deadline: 1n, signature: `0x${'11'.repeat(64)}1b` }),
      'WrongAsset',
      {
        assetId: 0n,
      },
    )
    await payer.approveToken(await token.getAddress(), billE1.total)
    await expectLedgerError(payer.payBillWithToken(etherBill), 'WrongAsset', {
      billId: etherBill,
      assetId: 0n,
    })
    await payer.payBill(etherBill)
    expect(await utility.withdrawable()).toBe(billE1.total)

    // A period of the token area under the Ether tariff (or the reverse) is refused before the proof.
    await expectLedgerError(household1.submitBill(submission(billT2, { tariffId: 2n })), 'AssetMismatch', {
      tariffId: 2n,
      tariffAsset: 0n,
      meterAsset: 1n,
    })
    await expectLedgerError(utility.setAreaAsset(TOKEN_AREA, 0), 'AreaAssetFixed', {
      areaId: BigInt(TOKEN_AREA),
    })
    await expectLedgerError(utility.setAreaAsset(ETHER_AREA, 1), 'AreaAssetFixed', { assetId: 0n })
    await expectLedgerError(utility.setAreaAsset(99, 2), 'UnknownAsset', { assetId: 2n })
    await expectLedgerError(
      utility.publishTariff({ effectiveFrom: MIDNIGHT + 40 * DAY, prices: TOKEN_PRICES, assetId: 2 }),
      'UnknownAsset',
    )
    await expectLedgerError(household1.setAreaAsset(99, 1), 'NotOwner')
  })

  it('validates asset registration', async () => {
    const address = await token.getAddress()
    await expectLedgerError(utility.registerAsset(address, 6), 'AssetAlreadyRegistered', { assetId: 1n })
    const other = await deployContract(env.artifacts.testStablecoin)
    await expectLedgerError(utility.registerAsset(await other.getAddress(), 18), 'DecimalsMismatch', {
      declared: 18n,
      reported: 6n,
    })
    await expectLedgerError(utility.registerAsset(hh1, 6), 'NotAContract')
    await expectLedgerError(household1.registerAsset(await other.getAddress(), 6), 'NotOwner')
    expect((await utility.registerAsset(await other.getAddress(), 6)).assetId).toBe(2)
    expect(await utility.assetCount()).toBe(2)
  })
})

describe('awkward tokens', () => {
  it('refuses a fee-on-transfer token with FeeOnTransfer, leaving the bill unpaid', async () => {
    await setUp(await deployContract(fixtures.FeeOnTransferToken!))
    const { billId } = await household1.submitBill(submission(billT1))
    await household1.approveToken(await token.getAddress(), billT1.total)
    await expectLedgerError(household1.payBillWithToken(billId), 'FeeOnTransfer', {
      token: await token.getAddress(),
      expected: billT1.total,
      received: billT1.total - billT1.total / 100n,
    })
    expect((await utility.billStatus(billId)).paid).toBe(false)
    expect(await utility.tokenWithdrawable(1)).toBe(0n)
    // No permit on this token: the permit path falls back to the (existing) allowance, then refuses the fee.
    await expectLedgerError(
      household1.payBillWithPermit(billId, { deadline: 1n, signature: `0x${'11'.repeat(64)}1b` }),
      'FeeOnTransfer',
    )
  })

  it('pays and withdraws a token that returns no boolean (USDT-style) through SafeERC20', async () => {
    // The token has no decimals(): the utility's 6 is taken.
    await setUp(await deployContract(fixtures.NoReturnToken!))
    // No symbol(), no permit: the client says so (the UI then approves, then pays).
    expect(await utility.asset(1)).toMatchObject({ symbol: 'asset 1', decimals: 6, permit: null })
    const { billId } = await household1.submitBill(submission(billT1))
    await send(token, 'approve', [utility.address, billT1.total], 1)
    await household1.payBillWithToken(billId)
    expect(await balanceOf(utility.address)).toBe(billT1.total)
    const treasury = env.chain.accounts[6]!.address
    await utility.withdrawToken(1, treasury)
    expect(await balanceOf(treasury)).toBe(billT1.total)
    expect(await balanceOf(utility.address)).toBe(0n)
  })

  it('refuses a token that re-enters the ledger from transferFrom, and pays the bill once', async () => {
    await setUp(await deployContract(fixtures.ReentrantToken!))
    const { billId } = await household1.submitBill(submission(billT1))
    const { billId: second } = await household1.submitBill(submission(billT2))
    await send(token, 'arm', [utility.address, second])
    await household1.approveToken(await token.getAddress(), billT1.total + billT2.total)
    await household1.payBillWithToken(billId)
    expect(await token.getFunction('reentered').staticCall()).toBe(false)
    const reason = (await token.getFunction('reentryError').staticCall()) as string
    expect(new Interface(env.artifacts.ledger.abi as InterfaceAbi).parseError(reason)?.name).toBe(
      'Reentrancy',
    )
    expect(await utility.billStatus(second)).toMatchObject({ paid: false })
    expect(await balanceOf(utility.address)).toBe(billT1.total)
    expect(await utility.tokenWithdrawable(1)).toBe(billT1.total)
  })
})
