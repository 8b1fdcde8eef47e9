/**
 * npm run bench:gas — gas of the ledger's transactions on the in-process EDR chain (Osaka rules):
 * submitBill with a real Groth16 proof (test circuit profile: verification cost depends only on the
 * 4 public inputs, not on N), payBill, registerMeter and publishTariff with 96 prices, and a relayer's
 * submitBills of 16 households' bills (one Groth16 batch verification), per bill; and a token bill
 * (Test USD, 6 decimals, EIP-2612) paid with a permit and with approve + pay, and its withdrawal;
 * net bills of a home that exports (issue 17): publishFeedIn, submitNetBill, a credit paid out, and a
 * bill its credit pays.
 * Last line: the JSON summary of ../shared/BENCH.md.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { ContractFactory, Interface, type InterfaceAbi } from 'ethers'
import {
  loadCircuit,
  loadNetCircuit,
  netBillSubmission,
  prepareBill,
  prepareNetBill,
  priceCurve,
} from '../contracts/test/bills.ts'
import {
  DAY,
  MIDNIGHT,
  meterKey,
  REGISTERED_AT,
  START_COUNTER,
  signPeriod,
  startTestEnv,
} from '../contracts/test/env.ts'
import { compileLedger, REPO_ROOT, verifierSourcePath } from '../contracts/ts/compile.ts'
import {
  type BillingPeriod,
  deployLedger,
  type RelayedBillSubmission,
  signBillAuthorization,
  signPermit,
} from '../contracts/ts/ledger.ts'

function ensureTestCircuit(): void {
  if (existsSync(verifierSourcePath('test'))) return
  console.log('building the test circuit profile (first run)…')
  const result = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'circuits', 'scripts', 'build.ts'), '--profile', 'test', '--insecure-dev-setup'],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  )
  if (result.status !== 0) throw new Error('the test circuit build failed; run npm run build:circuits:test')
}

/** Calldata gas as charged before the EIP-7623 floor: 4 per zero byte, 16 per other byte. */
function calldataGas(data: string): number {
  let gas = 0
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === '00' ? 4 : 16
  return gas
}

ensureTestCircuit()
await compileLedger('test')
const env = await startTestEnv()
try {
  const circuit = await loadCircuit('test')
  const [utilitySigner, householdSigner, payerSigner] = env.signers
  const utility = await deployLedger(utilitySigner!, env.artifacts, {
    slots: circuit.slots,
    maxIntervals: circuit.n,
  })
  const household = utility.connect(householdSigner!)
  const payer = utility.connect(payerSigner!)
  const meter = meterKey('bench')

  const register = await utility.registerMeter({
    meter: meter.address,
    household: env.chain.accounts[1]!.address,
    areaId: 1,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  const prices = priceCurve(20_000_000_000n, 45_000_000_000n, circuit.slots)
  const tariff = await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices })
  const nextTariff = await utility.publishTariff({ effectiveFrom: MIDNIGHT + 10 * DAY, prices })
  // The tariff rules' most expensive accepted curve: four levels changing every hour (24 runs).
  const GWEI = 1_000_000_000n
  const hourly = Array.from(
    { length: circuit.slots },
    (_, s) => [10n, 20n, 30n, 40n][Math.floor(s / 4) % 4]! * GWEI,
  )
  const worstTariff = await utility.publishTariff({ effectiveFrom: MIDNIGHT + 20 * DAY, prices: hourly })

  console.log(`proving two bills (N = ${circuit.n}, SLOTS = ${circuit.slots})…`)
  const domain = await utility.domain()
  const first = await prepareBill(circuit, {
    meter,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    prices,
    tariffId: tariff.tariffId,
    seed: 1,
  })
  const second = await prepareBill(circuit, {
    meter,
    start: REGISTERED_AT + DAY,
    end: MIDNIGHT + 2 * DAY,
    startCounter: first.period.endCounter,
    prices,
    tariffId: tariff.tariffId,
    seed: 2,
  })
  const submit = async (bill: typeof first) =>
    household.submitBill({
      period: bill.period as BillingPeriod,
      signature: signPeriod(meter, domain, bill.period),
      proof: bill.proof,
      total: bill.total,
      energyWh: bill.energyWh,
      tariffId: bill.tariffId,
      cidDigest: bill.cidDigest,
    })
  const submitted = await submit(first)
  const submitted2 = await submit(second)
  const submitTx = await env.provider.getTransaction(submitted.receipt.hash)
  const pay = await payer.payBill(submitted.billId)
  const pay2 = await payer.payBill(submitted2.billId)
  const withdraw = await utility.withdraw(env.chain.accounts[6]!.address)

  // A relayer's batch: 16 meters of 4 households, one bill each, each household's BillAuthorization.
  const BATCH = 16
  console.log(`proving ${BATCH} bills for the batch…`)
  const relayedBills: RelayedBillSubmission[] = []
  for (let i = 0; i < BATCH; i++) {
    const key = meterKey(`bench-batch-${i}`)
    const householdIndex = 1 + (i % 4)
    await utility.registerMeter({
      meter: key.address,
      household: env.chain.accounts[householdIndex]!.address,
      areaId: 2,
      startTime: REGISTERED_AT,
      startCounter: START_COUNTER,
    })
    const bill = await prepareBill(circuit, {
      meter: key,
      start: REGISTERED_AT,
      end: REGISTERED_AT + DAY,
      startCounter: START_COUNTER,
      prices,
      tariffId: tariff.tariffId,
      seed: 100 + i,
    })
    const submission = {
      period: bill.period as BillingPeriod,
      signature: signPeriod(key, domain, bill.period),
      proof: bill.proof,
      total: bill.total,
      energyWh: bill.energyWh,
      tariffId: bill.tariffId,
      cidDigest: bill.cidDigest,
    }
    relayedBills.push({
      ...submission,
      householdSignature: await signBillAuthorization(env.signers[householdIndex]!, domain, submission),
    })
  }
  const relayer = utility.connect(env.signers[7]!)
  const batch = await relayer.submitBills(relayedBills)
  const batchTx = await env.provider.getTransaction(batch.receipt.hash)
  const batchGas = Number(batch.receipt.gasUsed)
  const batchCalldata = calldataGas(batchTx?.data ?? '0x')

  // Token bills: a Test USD area, its tariff (0.20 / 0.45 tUSD per kWh), three bills of one meter paid
  // by permit (first and later: the first pays for the payer's nonce and the ledger's balance slot
  // going from zero), then one by approve + pay.
  console.log('proving three token bills…')
  const tokenFactory = new ContractFactory(
    env.artifacts.testStablecoin.abi as InterfaceAbi,
    env.artifacts.testStablecoin.bytecode,
    utilitySigner,
  )
  const testUsd = await tokenFactory.deploy()
  await testUsd.waitForDeployment()
  const tokenAddress = await testUsd.getAddress()
  const { assetId, receipt: registerAsset } = await utility.registerAsset(tokenAddress, 6)
  await utility.setAreaAsset(3, assetId)
  const tokenMeter = meterKey('bench-token')
  await utility.registerMeter({
    meter: tokenMeter.address,
    household: env.chain.accounts[1]!.address,
    areaId: 3,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  const tokenPrices = priceCurve(200n, 450n, circuit.slots)
  const tokenTariff = await utility.publishTariff({ effectiveFrom: MIDNIGHT, prices: tokenPrices, assetId })
  await (await testUsd.getFunction('mint').send(env.chain.accounts[1]!.address, 1_000_000_000_000n)).wait()
  const tokenBills = []
  let start = REGISTERED_AT
  let counter = START_COUNTER
  for (let i = 0; i < 3; i++) {
    const end = MIDNIGHT + (i + 1) * DAY
    const bill = await prepareBill(circuit, {
      meter: tokenMeter,
      start,
      end,
      startCounter: counter,
      prices: tokenPrices,
      tariffId: tokenTariff.tariffId,
      seed: 300 + i,
    })
    tokenBills.push(
      await household.submitBill({
        period: bill.period as BillingPeriod,
        signature: signPeriod(tokenMeter, domain, bill.period),
        proof: bill.proof,
        total: bill.total,
        energyWh: bill.energyWh,
        tariffId: bill.tariffId,
        cidDigest: bill.cidDigest,
      }),
    )
    start = end
    counter = bill.period.endCounter
  }
  const permitPay = await household.payBillWithPermit(tokenBills[0]!.billId)
  const permitPay2 = await household.payBillWithPermit(tokenBills[1]!.billId)
  const thirdTotal = (await utility.billStatus(tokenBills[2]!.billId)).total
  const approve = await household.approveToken(tokenAddress, thirdTotal)
  const approvePay = await household.payBillWithToken(tokenBills[2]!.billId)
  const tokenWithdraw = await utility.withdrawToken(assetId, env.chain.accounts[6]!.address)
  // What signing costs the household: nothing on chain (a typed-data signature); shown for the record.
  await signPermit(householdSigner!, tokenAddress, utility.address, 1n)

  // Net bills (issue 17): a meter that exports, under the first tariff and its feed-in curve. Three
  // periods: a cloudy one (cost above credit: the common net bill), a sunny one (its credit above its
  // cost is carried), then an import-only bill that the carried credit pays first.
  const netCircuit = loadNetCircuit('test')
  const feedIn = Array.from({ length: 96 }, (_, s) => (s >= 40 && s < 56 ? 6_000_000_000n : 8_000_000_000n))
  const feedInTx = await utility.publishFeedIn({ tariffId: tariff.tariffId, prices, feedInPrices: feedIn })
  const netMeter = meterKey('bench-net')
  await utility.registerMeter({
    meter: netMeter.address,
    household: env.chain.accounts[1]!.address,
    areaId: 1,
    startTime: REGISTERED_AT,
    startCounter: START_COUNTER,
  })
  console.log('proving 2 net bills and 1 bill…')
  const cloudy = await prepareNetBill(netCircuit, {
    meter: netMeter,
    start: REGISTERED_AT,
    end: REGISTERED_AT + DAY,
    startCounter: START_COUNTER,
    exportStartCounter: 250_000n,
    prices,
    feedInPrices: feedIn,
    tariffId: tariff.tariffId,
    seed: 7,
    sun: 1,
  })
  const sunny = await prepareNetBill(netCircuit, {
    meter: netMeter,
    start: REGISTERED_AT + DAY,
    end: MIDNIGHT + 2 * DAY,
    startCounter: cloudy.period.endCounter,
    exportStartCounter: cloudy.exportPeriod.endCounter,
    prices,
    feedInPrices: feedIn,
    tariffId: tariff.tariffId,
    seed: 8,
    sun: 20,
  })
  const afterSun = await prepareBill(circuit, {
    meter: netMeter,
    start: MIDNIGHT + 2 * DAY,
    end: MIDNIGHT + 3 * DAY,
    startCounter: sunny.period.endCounter,
    prices,
    tariffId: tariff.tariffId,
    seed: 9,
  })
  const submitNet = (bill: typeof cloudy) =>
    household.submitNetBill(netBillSubmission(bill, netMeter, domain))
  const netCloudy = await submitNet(cloudy)
  const netSunny = await submitNet(sunny)
  if (sunny.credit <= sunny.cost)
    throw new Error('the sunny period must export more than it imports (in value)')
  // The utility pays half the credit out (issue 17), from a paid batch bill's Ether; the rest is
  // carried to the next bill as before.
  await payer.payBill(batch.billIds[0]!)
  const credit = await utility.creditOf(netMeter.address)
  const withdrawable = await utility.withdrawable()
  const payout = await utility.payOutCredit(
    netMeter.address,
    credit / 2n < withdrawable ? credit / 2n : withdrawable,
  )
  const creditBill = await household.submitBill({
    period: afterSun.period as BillingPeriod,
    signature: signPeriod(netMeter, domain, afterSun.period),
    proof: afterSun.proof,
    total: afterSun.total,
    energyWh: afterSun.energyWh,
    tariffId: afterSun.tariffId,
    cidDigest: afterSun.cidDigest,
  })

  const verifier = await utility.contract.getFunction('verifier')()
  const verifyGas = await env.provider.estimateGas({
    to: verifier,
    data: new Interface(env.artifacts.verifier.abi as InterfaceAbi).encodeFunctionData('verifyProof', [
      first.proof.a,
      first.proof.b,
      first.proof.c,
      [first.period.commitment, first.tariffHash, first.total, first.energyWh],
    ]),
  })

  const submitGas = Number(submitted.receipt.gasUsed)
  const calldata = calldataGas(submitTx?.data ?? '0x')
  const perMonthGasPerS = (1_000_000 * submitGas) / (30 * 86_400)
  console.log(`submitBill           ${submitGas} gas (second period ${submitted2.receipt.gasUsed})`)
  console.log(
    `  of which intrinsic 21000 + calldata ${calldata} (${((submitTx?.data.length ?? 2) - 2) / 2} bytes)`,
  )
  console.log(`  verifyProof alone  ${verifyGas} gas as its own transaction (incl. 21000 intrinsic)`)
  console.log(
    `submitBills (${BATCH})     ${batchGas} gas = ${Math.round(batchGas / BATCH)} a bill (calldata ${Math.round(batchCalldata / BATCH)} a bill)`,
  )
  console.log(`payBill              ${pay.gasUsed} gas (first payment; next ${pay2.gasUsed})`)
  console.log(`registerMeter        ${register.gasUsed} gas`)
  console.log(
    `publishTariff (96)   ${tariff.receipt.gasUsed} gas (first; next ${nextTariff.receipt.gasUsed}; 4 levels × 24 runs ${worstTariff.receipt.gasUsed}), tariff rules checked`,
  )
  console.log(`withdraw             ${withdraw.gasUsed} gas`)
  console.log(
    `payBillWithPermit    ${permitPay.gasUsed} gas (household's first permit; next ${permitPay2.gasUsed})`,
  )
  console.log(
    `approve + payBillWithToken ${approve.gasUsed} + ${approvePay.gasUsed} gas; withdrawToken ${tokenWithdraw.gasUsed}; registerAsset ${registerAsset.gasUsed}`,
  )
  console.log(
    `submitNetBill        ${netCloudy.receipt.gasUsed} gas (cost above credit); ${netSunny.receipt.gasUsed} recording a credit; publishFeedIn ${feedInTx.receipt.gasUsed}`,
  )
  console.log(`submitBill + credit  ${creditBill.receipt.gasUsed} gas (the carried credit pays first)`)
  console.log(`payOutCredit         ${payout.receipt.gasUsed} gas (Ether, to the household's account)`)
  console.log(`1M homes × 1 bill/month ≈ ${Math.round(perMonthGasPerS).toLocaleString('en')} gas/s`)

  const figures = {
    submit_bill_gas: submitGas,
    pay_gas: Number(pay.gasUsed),
    pay_next_gas: Number(pay2.gasUsed),
    register_meter_gas: Number(register.gasUsed),
    publish_tariff_gas: Number(tariff.receipt.gasUsed),
    publish_tariff_next_gas: Number(nextTariff.receipt.gasUsed),
    publish_tariff_worst_gas: Number(worstTariff.receipt.gasUsed),
    verify_proof_tx_gas: Number(verifyGas),
    submit_bill_calldata_gas: calldata,
    batch16_gas: batchGas,
    batch16_gas_per_bill: Math.round(batchGas / BATCH),
    batch16_calldata_gas_per_bill: Math.round(batchCalldata / BATCH),
    withdraw_gas: Number(withdraw.gasUsed),
    pay_token_permit_gas: Number(permitPay.gasUsed),
    pay_token_permit_next_gas: Number(permitPay2.gasUsed),
    token_approve_gas: Number(approve.gasUsed),
    pay_token_approved_gas: Number(approvePay.gasUsed),
    withdraw_token_gas: Number(tokenWithdraw.gasUsed),
    register_asset_gas: Number(registerAsset.gasUsed),
    million_homes_monthly_gas_per_s: Math.round(perMonthGasPerS),
    submit_bill_net_gas: Number(netCloudy.receipt.gasUsed),
    submit_bill_net_credit_gas: Number(netSunny.receipt.gasUsed),
    submit_bill_using_credit_gas: Number(creditBill.receipt.gasUsed),
    publish_feed_in_gas: Number(feedInTx.receipt.gasUsed),
    pay_out_credit_gas: Number(payout.receipt.gasUsed),
  }
  console.log(
    JSON.stringify({
      bench: 'gas',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
} finally {
  await env.chain.close()
}
