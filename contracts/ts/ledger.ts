/**
 * Typed access to a deployed ZkMeterLedger with ethers v6: deploy, the utility's and the household's
 * transactions, readers for meters/tariffs/bills/notices, and decoding of the contract's custom errors
 * into named TypeScript errors (ethers v6 leaves a reverted send's custom error undecoded).
 */
import {
  AbiCoder,
  type BaseContract,
  Contract,
  ContractFactory,
  type ContractTransactionResponse,
  type EventLog,
  Interface,
  type InterfaceAbi,
  keccak256,
  type Log,
  type Signer,
  type TransactionReceipt,
  type TypedDataField,
  ZeroAddress,
  ZeroHash,
} from 'ethers'
import {
  netTariffHash as computeNetTariffHash,
  tariffHash as computeTariffHash,
} from '#protocol/commitment.ts'
import type { Eip712Domain } from '#protocol/eip712.ts'
import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'
import { DEV_POLICY, explainViolation } from '#protocol/tariff-rules.ts'
import { DEV_CHAIN_ID } from '../../circuits/src/setup.ts'
import type { Abi, LedgerArtifacts } from './compile.ts'

export type Address = `0x${string}`
type Numeric = bigint | number | string

export interface BillingPeriod {
  meter: Address
  periodStart: Numeric
  periodEnd: Numeric
  startCounter: Numeric
  endCounter: Numeric
  commitment: Numeric
}

/** A Groth16 proof in the verifier's calldata layout (circuits' toSolidityProof: pi_b already swapped). */
export interface SolidityProof {
  a: readonly [Numeric, Numeric]
  b: readonly [readonly [Numeric, Numeric], readonly [Numeric, Numeric]]
  c: readonly [Numeric, Numeric]
}

export interface BillSubmission {
  period: BillingPeriod
  /** 65 bytes r ‖ s ‖ v by the meter over the EIP-712 BillingPeriod. */
  signature: string
  proof: SolidityProof
  total: Numeric
  energyWh: Numeric
  tariffId: Numeric
  /** 32-byte digest of the IPFS root CID of the period's encrypted readings. */
  cidDigest: string
}

/**
 * A net bill (ZkMeterNetBills.submitNetBill, issue 17): both meter-signed halves of a period close
 * and a net-bill proof (circuits/src/net.ts proveNet) of the import cost and the export credit.
 */
export interface NetBillSubmission {
  period: BillingPeriod
  /** 65 bytes r ‖ s ‖ v by the meter over the EIP-712 BillingPeriod. */
  signature: string
  /**
   * The meter's ExportPeriod: the same meter and bounds as `period` (checked here; the contract
   * takes only the export counters and C_x and hashes them with the import half's meter and bounds).
   */
  exportPeriod: BillingPeriod
  /** 65 bytes r ‖ s ‖ v by the meter over the EIP-712 ExportPeriod. */
  exportSignature: string
  proof: SolidityProof
  /** Import cost at the tariff's prices, in its asset's smallest units. */
  cost: Numeric
  /** Export credit at the tariff's feed-in prices. */
  credit: Numeric
  tariffId: Numeric
  cidDigest: string
}

/** A net bill as its NetBillSubmitted event and its bill slot record it. */
export interface NetBillRecord {
  billId: `0x${string}`
  meter: Address
  household: Address
  areaId: number
  period: BillRecord['period']
  exportHalf: { startCounter: bigint; endCounter: bigint; commitment: bigint }
  cost: bigint
  credit: bigint
  tariffId: bigint
  cidDigest: `0x${string}`
  /** What was left to pay after the period's credit and the carried credit (0: recorded paid). */
  due: bigint
  paid: boolean
  blockNumber: number
  transactionHash: string
}

/** A change of a meter's credit: recorded by a net bill, or applied to a bill. */
export interface CreditEvent {
  kind: 'recorded' | 'applied'
  meter: Address
  billId: `0x${string}`
  amount: bigint
  /** The meter's credit after the change. */
  balance: bigint
  blockNumber: number
  transactionHash: `0x${string}`
}

/** The utility paid part or all of a meter's credit to its household (CreditPaidOut). */
export interface CreditPayout {
  meter: Address
  household: Address
  /** In the meter's asset (wei, or the token's smallest units). */
  amount: bigint
  /** The meter's credit left. */
  balance: bigint
  blockNumber: number
  transactionHash: `0x${string}`
}

/**
 * A bill for a relayer to submit in a batch (submitBills): the household's submission plus its
 * EIP-712 BillAuthorization signature (signBillAuthorization) naming the relayer, or anyone.
 */
export interface RelayedBillSubmission extends BillSubmission {
  /** The one account allowed to submit it; omitted or the zero address: anyone. */
  relayer?: Address
  /** 65 bytes r ‖ s ‖ v by the household account over the BillAuthorization. */
  householdSignature: string
}

/** EIP-712 types of what a household signs to have a relayer submit its bill (ZkMeterLedger.sol). */
export const BILL_AUTHORIZATION_TYPES: Record<string, TypedDataField[]> = {
  BillAuthorization: [
    { name: 'period', type: 'BillingPeriod' },
    { name: 'total', type: 'uint256' },
    { name: 'energyWh', type: 'uint256' },
    { name: 'tariffId', type: 'uint256' },
    { name: 'cidDigest', type: 'bytes32' },
    { name: 'relayer', type: 'address' },
  ],
  BillingPeriod: [
    { name: 'meter', type: 'address' },
    { name: 'periodStart', type: 'uint64' },
    { name: 'periodEnd', type: 'uint64' },
    { name: 'startCounter', type: 'uint64' },
    { name: 'endCounter', type: 'uint64' },
    { name: 'commitment', type: 'uint256' },
  ],
}

/**
 * The household's EIP-712 signature letting `relayer` (or anyone, if omitted) submit this bill. It
 * names the whole bill, so it authorises that bill only, once, on this ledger and chain.
 */
export async function signBillAuthorization(
  household: Signer,
  domain: Eip712Domain,
  bill: BillSubmission & { relayer?: Address },
): Promise<`0x${string}`> {
  const p = periodArgs(bill.period)
  const c = claimArgs(bill)
  const relayer = bill.relayer === undefined ? ZeroAddress : checkAddress('relayer', bill.relayer)
  return (await household.signTypedData(
    { name: 'zkmeter', version: '1', chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    BILL_AUTHORIZATION_TYPES,
    { period: p, ...c, relayer },
  )) as `0x${string}`
}

/** A 65-byte r ‖ s ‖ v signature as the batch path's EIP-2098 compact (r, vs), s not normalised. */
function compactSignatureArgs(name: string, signature: unknown): [string, string] {
  if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new InvalidInputError(`${name} must be 65 bytes r ‖ s ‖ v as 0x hex`)
  }
  const v = Number.parseInt(signature.slice(130, 132), 16)
  const s = BigInt(`0x${signature.slice(66, 130)}`)
  if ((v !== 27 && v !== 28) || s >> 255n !== 0n) {
    throw new InvalidInputError(
      `${name}: v must be 27 or 28 and s below 2^255 (low S) to fit the compact form, got v ${v}`,
    )
  }
  const vs = (BigInt(v - 27) << 255n) | s
  return [`0x${signature.slice(2, 66)}`, `0x${vs.toString(16).padStart(64, '0')}`]
}

export interface MeterState {
  meter: Address
  household: Address
  areaId: number
  registered: boolean
  active: boolean
  nextStart: bigint
  nextCounter: bigint
  /** The asset the meter's bills are in: 0 Ether, else a registered token (its area's asset). */
  assetId: number
}

/** What a tariff is priced in and a bill paid in: Ether (assetId 0) or a registered ERC-20 token. */
export interface AssetInfo {
  assetId: number
  /** The token contract; undefined for Ether. */
  token?: Address
  decimals: number
  symbol: string
  /** The token's EIP-712 name and version for EIP-2612 permits; null: no permit (approve + pay). */
  permit?: { name: string; version: string } | null
}

export const ETHER_ASSET: AssetInfo = { assetId: 0, decimals: 18, symbol: 'ETH' }

/** Minimal ERC-20 + EIP-2612 ABI the client uses to read a token and sign its permits. */
export const ERC20_PERMIT_ABI = [
  'function name() view returns (string)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function nonces(address owner) view returns (uint256)',
  'function DOMAIN_SEPARATOR() view returns (bytes32)',
  'function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)',
] as const

export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
}

export interface TariffState {
  tariffId: bigint
  effectiveFrom: bigint
  /** Next tariff's effectiveFrom, or 2^64 − 1 while this is the latest tariff. */
  until: bigint
  tariffHash: bigint
  /** What the prices are in: 0 Ether, else a registered token. */
  assetId: number
  /** Smallest units of the asset (wei for Ether) per Wh per slot, from the TariffPublished event, checked against tariffHash. */
  prices: bigint[]
  /** Unix seconds: the timestamp of the block that published it (no tariff may price an earlier period). */
  publishedAt: bigint
}

/** The ledger's deployment policy (docs/privacy.md), in seconds, plus the slots a price run must last. */
export interface LedgerPolicyState {
  minBillingPeriod: bigint
  tariffNotice: bigint
  minPriceRun: number
}

export interface BillRecord {
  billId: `0x${string}`
  meter: Address
  household: Address
  areaId: number
  period: {
    meter: Address
    periodStart: bigint
    periodEnd: bigint
    startCounter: bigint
    endCounter: bigint
    commitment: bigint
  }
  energyWh: bigint
  /** The period's cost as the proof shows it (the claim's total in BillSubmitted). */
  total: bigint
  /**
   * What payment takes (the bill slot's total): `total` less the meter's credit from net bills that
   * paid it first (docs/contracts.md, "Net bills"); equal to `total` for a home without a credit.
   */
  due: bigint
  tariffId: bigint
  cidDigest: `0x${string}`
  submitted: boolean
  paid: boolean
  blockNumber: number
  transactionHash: string
}

/** A bill's payment as the ledger's BillPaid event records it: who paid, how much, in which transaction. */
export interface Payment {
  billId: `0x${string}`
  payer: Address
  amount: bigint
  blockNumber: number
  transactionHash: `0x${string}`
}

export interface Notice {
  areaId: number
  kind: number
  startsAt: bigint
  endsAt: bigint
  message: string
  blockNumber: number
}

export interface LedgerLimits {
  /** The circuit's SLOTS (tariff slots per UTC day). */
  slots: number
  /** The circuit's N (readings per period). */
  maxIntervals: number
  /**
   * Seconds: the shortest billing period the ledger accepts (default DEV_POLICY's hour; production
   * deployments pass PRODUCTION_POLICY's 28 days, protocol/tariff-rules.ts).
   */
  minBillingPeriod?: number
  /** Seconds a tariff must be published ahead of its effectiveFrom (default DEV_POLICY's 0). */
  tariffNotice?: number
}

/** What the ledger recorded about its trusted setup at deploy (ZkMeterLedger.trustedSetup()). */
export interface LedgerSetup {
  verifier: Address
  verifyingKeyHash: `0x${string}`
  setupTranscript: `0x${string}`
  insecureDevSetup: boolean
}

/** A verifier from the INSECURE development setup was about to go to a chain where money moves. */
export class InsecureSetupError extends ZkMeterError {
  override name = 'InsecureSetupError'
}

/** The ledger reverted with one of its custom errors: `errorName` and `args` say which and why. */
export class LedgerRevertError extends ZkMeterError {
  override name = 'LedgerRevertError'
  readonly errorName: string
  readonly args: Readonly<Record<string, unknown>>

  constructor(errorName: string, args: Record<string, unknown>, options: { cause?: unknown } = {}) {
    super(`${errorName}: ${explain(errorName, args)}`, { details: { errorName, args }, cause: options.cause })
    this.errorName = errorName
    this.args = Object.freeze({ ...args })
  }
}

/** A transaction or call failed for a reason other than a ledger custom error (network, funds, gas). */
export class LedgerTransactionError extends ZkMeterError {
  override name = 'LedgerTransactionError'
}

/** The utility's published prices do not hash to the tariff hash the contract holds. */
export class TariffMismatchError extends ZkMeterError {
  override name = 'TariffMismatchError'
}

function fmt(v: unknown): string {
  return typeof v === 'bigint' ? v.toString() : String(v)
}

/** Slot times in the tariff rules' messages: every circuit profile has 96 slots a day. */
const SLOTS = 96

/** What each rejection means and what to do about it. */
function explain(errorName: string, a: Record<string, unknown>): string {
  switch (errorName) {
    case 'NotOwner':
      return `${fmt(a.sender)} is not the utility (contract owner); send this from the owner account`
    case 'NotPendingOwner':
      return `${fmt(a.sender)} was not offered ownership; the owner must call transferOwnership to it first`
    case 'ZeroAddress':
      return 'an address argument is the zero address'
    case 'Reentrancy':
      return 'a withdrawal re-entered the ledger; the receiver must not call back into withdraw'
    case 'InvalidLimits':
      return `slots ${fmt(a.slots)} must divide 86400 and maxIntervals ${fmt(a.maxIntervals)} must be positive`
    case 'InvalidPolicy':
      return `minBillingPeriod ${fmt(a.minBillingPeriod)} s must fit in N intervals and tariffNotice ${fmt(a.tariffNotice)} s in ten years`
    case 'PeriodTooShort':
      return `the period lasts ${fmt(a.length)} s; this ledger bills periods of at least ${fmt(a.minimum)} s, so that no bill reveals a shorter stretch of consumption`
    case 'TariffNotAhead':
      return `effectiveFrom ${fmt(a.effectiveFrom)} is too soon: a tariff must be published ahead of the periods it prices, so it can take effect at ${fmt(a.earliest)} at the earliest`
    case 'TooManyPriceLevels':
      return explainViolation(
        { rule: 'too-many-levels', slot: Number(a.slot), maxLevels: Number(a.maxLevels) },
        SLOTS,
      )
    case 'PriceRunTooShort':
      return explainViolation(
        { rule: 'run-too-short', slot: Number(a.slot), length: Number(a.length), minRun: Number(a.minRun) },
        SLOTS,
      )
    case 'PriceTooPrecise':
      return explainViolation(
        {
          rule: 'too-precise',
          slot: Number(a.slot),
          price: BigInt(a.price as bigint),
          unit: BigInt(a.unit as bigint),
        },
        SLOTS,
      )
    case 'PriceLevelsTooClose':
      return explainViolation(
        {
          rule: 'levels-too-close',
          low: BigInt(a.low as bigint),
          high: BigInt(a.high as bigint),
          minGap: BigInt(a.minGap as bigint),
        },
        SLOTS,
      )
    case 'MissingSetupAnchor':
      return 'the ledger must record the verifying key hash and the setup transcript id (both non-zero)'
    case 'InsecureSetupOnChain':
      return `an INSECURE development setup cannot be deployed to chain ${fmt(a.chainId)}, only to the development chain 31337`
    case 'MeterAlreadyRegistered':
      return `meter ${fmt(a.meter)} is already registered (a meter address is registered once, ever)`
    case 'UnknownMeter':
      return `meter ${fmt(a.meter)} is not registered; the utility must register it first`
    case 'MeterInactive':
      return `meter ${fmt(a.meter)} was deactivated by the utility`
    case 'NotHousehold':
      return `meter ${fmt(a.meter)} belongs to another household, not to sender ${fmt(a.sender)}`
    case 'MalformedSignature':
      return `a meter signature is 65 bytes r‖s‖v with v 27 or 28; got ${fmt(a.length)} bytes, v ${fmt(a.v)}`
    case 'HighS':
      return 'the meter signature has a high S value; normalise it to low S'
    case 'SignatureMismatch':
      return `the signature recovers to ${fmt(a.recovered)}, not to meter ${fmt(a.meter)}: forged, tampered or signed for another chain/ledger`
    case 'NotOnIntervalBoundary':
      return `time ${fmt(a.time)} is not a multiple of the ${fmt(a.interval)} s interval`
    case 'PeriodGap':
      return `the period must start at ${fmt(a.expected)} (where the last one ended), not later at ${fmt(a.got)}`
    case 'PeriodOverlap':
      return `the period must start at ${fmt(a.expected)} (where the last one ended), not earlier at ${fmt(a.got)}`
    case 'EmptyPeriod':
      return `periodEnd ${fmt(a.periodEnd)} must be after periodStart ${fmt(a.periodStart)}`
    case 'PeriodTooLong':
      return `periodEnd ${fmt(a.periodEnd)} is beyond ${fmt(a.maxEnd)}, the N-interval window from the start's UTC midnight`
    case 'CounterMismatch':
      return `startCounter must be ${fmt(a.expected)} (the last period's endCounter), got ${fmt(a.got)}`
    case 'CounterWentBackwards':
      return `endCounter ${fmt(a.endCounter)} is below startCounter ${fmt(a.startCounter)}`
    case 'EnergyMismatch':
      return `energyWh ${fmt(a.energyWh)} must equal endCounter − startCounter = ${fmt(a.counterDelta)}`
    case 'BillAlreadySubmitted':
      return `bill ${fmt(a.billId)} is already recorded`
    case 'TotalTooLarge':
      return `total ${fmt(a.total)} does not fit 128 bits`
    case 'UnknownTariff':
      return `tariff ${fmt(a.tariffId)} has not been published`
    case 'TariffNotCovering':
      return `tariff ${fmt(a.tariffId)} is in force [${fmt(a.effectiveFrom)}, ${fmt(a.until)}), which does not contain the period [${fmt(a.periodStart)}, ${fmt(a.periodEnd)}); pick the tariff in force for the whole period`
    case 'TariffNotIncreasing':
      return `effectiveFrom ${fmt(a.effectiveFrom)} must be after the previous tariff's ${fmt(a.previous)}`
    case 'TariffHashOutOfField':
      return 'the tariff hash must be below the BN254 scalar field order'
    case 'WrongPriceCount':
      return `a tariff has exactly ${fmt(a.expected)} prices (one per slot), got ${fmt(a.got)}`
    case 'VerifyingKeyMismatch':
      return `the batch verifier's key hashes to ${fmt(a.batchVerifierKey)}, not to the ledger's ${fmt(a.expected)}: deploy it with the same verification_key.json`
    case 'EmptyBatch':
      return 'a batch must hold at least one bill'
    case 'BatchProofRejected':
      return `the Groth16 proof of bill ${fmt(a.index)} in the batch does not verify for its (commitment, tariff hash, total, energyWh); drop it and resubmit the rest`
    case 'AuthorizationMismatch':
      return `the household authorization recovers to ${fmt(a.recovered)}, not to the meter's household ${fmt(a.household)}: forged, for another bill, relayer, chain or ledger`
    case 'RelayerNotAuthorized':
      return `the household authorised only ${fmt(a.relayer)} to submit this bill, not ${fmt(a.sender)}`
    case 'ProofRejected':
      return 'the Groth16 proof does not verify for (commitment, tariff hash, total, energyWh)'
    case 'UnknownBill':
      return `no bill ${fmt(a.billId)} was submitted`
    case 'AlreadyPaid':
      return `bill ${fmt(a.billId)} is already paid`
    case 'WrongAmount':
      return `the bill is ${fmt(a.expected)} wei; send exactly that, not ${fmt(a.sent)}`
    case 'NothingToWithdraw':
      return 'nothing paid in this asset is waiting to be withdrawn'
    case 'NotAContract':
      return `${fmt(a.token)} has no code: register the token's contract address`
    case 'AssetAlreadyRegistered':
      return `token ${fmt(a.token)} is already asset ${fmt(a.assetId)}`
    case 'DecimalsMismatch':
      return `token ${fmt(a.token)} reports ${fmt(a.reported)} decimals, not ${fmt(a.declared)}`
    case 'UnknownAsset':
      return `asset ${fmt(a.assetId)} is not a registered token (0 is Ether; tokens are 1 … assetCount)`
    case 'AreaAssetFixed':
      return `area ${fmt(a.areaId)} has meters and bills in asset ${fmt(a.assetId)}; its asset can no longer change`
    case 'AssetMismatch':
      return `tariff ${fmt(a.tariffId)} is priced in asset ${fmt(a.tariffAsset)}, but the meter's area bills in asset ${fmt(a.meterAsset)}; use a tariff of the area's asset`
    case 'WrongAsset':
      return `bill ${fmt(a.billId)} is in asset ${fmt(a.assetId)} (0 is Ether): pay it with ${a.assetId === 0n || a.assetId === 0 ? 'payBill and Ether' : 'payBillWithToken or payBillWithPermit'}`
    case 'FeeOnTransfer':
      return `token ${fmt(a.token)} delivered ${fmt(a.received)} of ${fmt(a.expected)}: tokens that take a fee on transfer cannot pay bills`
    case 'PermitRejected':
      return `the permit was refused and the ledger's allowance is ${fmt(a.allowance)} of the ${fmt(a.needed)} needed: sign a fresh permit for the bill's total, or approve the ledger first`
    case 'WithdrawFailed':
      return `sending ${fmt(a.amount)} wei to ${fmt(a.to)} failed; the receiver must accept plain Ether`
    case 'NetBillsDisabled':
      return 'this ledger was deployed without a net-bill verifier: net bills, feed-in curves and credits are disabled'
    case 'NoCredit':
      return `meter ${fmt(a.meter)} has no credit to pay out`
    case 'ZeroPayout':
      return 'a payout must be at least 1 unit of the asset'
    case 'PayoutExceedsCredit':
      return `meter ${fmt(a.meter)} has a credit of ${fmt(a.credit)}; ${fmt(a.amount)} is more than that (a bill may have used part of it first)`
    case 'PayoutExceedsCollected':
      return `the ledger holds ${fmt(a.collected)} of asset ${fmt(a.assetId)} paid and not withdrawn, less than the ${fmt(a.amount)} to pay out: a credit is paid from what households paid`
    case 'PayoutFailed':
      return `sending ${fmt(a.amount)} wei to household ${fmt(a.household)} failed: it does not accept plain Ether; its credit stays carried to its next bills`
    case 'Error':
      return `a contract the ledger called (a token, a receiver) reverted: ${fmt(a['0'])}`
    case 'SafeERC20FailedOperation':
      return `token ${fmt(a.token)} refused the transfer (it returned false or nothing where a result was due)`
    case 'InvalidNoticeWindow':
      return `endsAt ${fmt(a.endsAt)} is before startsAt ${fmt(a.startsAt)}`
    default:
      return 'the ledger rejected the call'
  }
}

/** Finds revert data anywhere in an ethers / EIP-1193 error and decodes it with the ledger's ABI. */
export function decodeLedgerError(err: unknown, abi: Abi | Interface): ZkMeterError {
  if (err instanceof ZkMeterError) return err
  const iface = abi instanceof Interface ? abi : new Interface(abi as InterfaceAbi)
  const seen = new Set<unknown>()
  const search = (value: unknown, depth: number): LedgerRevertError | undefined => {
    if (depth > 8 || value === null || value === undefined || seen.has(value)) return undefined
    if (typeof value === 'string') {
      if (!/^0x[0-9a-fA-F]{8}/.test(value)) return undefined
      try {
        const parsed = iface.parseError(value)
        if (parsed === null) return undefined
        const args: Record<string, unknown> = {}
        parsed.fragment.inputs.forEach((input, i) => {
          args[input.name || String(i)] = parsed.args[i]
        })
        return new LedgerRevertError(parsed.name, args, { cause: err })
      } catch {
        return undefined
      }
    }
    if (typeof value !== 'object') return undefined
    seen.add(value)
    for (const key of ['data', 'error', 'info', 'cause', 'revert', 'payload', 'body']) {
      const found = search((value as Record<string, unknown>)[key], depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  const decoded = search(err, 0)
  if (decoded !== undefined) return decoded
  // ethers' full message embeds the whole signed transaction; its shortMessage says what went wrong.
  const short = (err as { shortMessage?: unknown })?.shortMessage
  const message = typeof short === 'string' ? short : err instanceof Error ? err.message : String(err)
  return new LedgerTransactionError(`ledger transaction failed: ${message}`, { cause: err })
}

const PERIOD_TUPLE = 'tuple(address,uint64,uint64,uint64,uint64,uint256)'
const CLAIM_TUPLE = 'tuple(uint256,uint256,uint256,bytes32)'

function toBigInt(name: string, value: unknown): bigint {
  try {
    if (typeof value === 'bigint') return value
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
    if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) return BigInt(value)
  } catch {
    // fall through to the named error
  }
  throw new InvalidInputError(
    `${name} must be a non-negative integer (bigint, safe number or numeric string)`,
  )
}

function checkAddress(name: string, value: unknown): Address {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    throw new InvalidInputError(`${name} must be a 20-byte 0x address, got ${JSON.stringify(value)}`)
  }
  return value as Address
}

function checkBytes32(name: string, value: unknown): `0x${string}` {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new InvalidInputError(`${name} must be 32 bytes as 0x hex, got ${JSON.stringify(value)}`)
  }
  return value as `0x${string}`
}

function checkUint(name: string, value: unknown, bits: number): bigint {
  const v = toBigInt(name, value)
  if (v < 0n || v >= 1n << BigInt(bits))
    throw new InvalidInputError(`${name} = ${v} does not fit uint${bits}`)
  return v
}

function periodArgs(period: BillingPeriod) {
  if (period === null || typeof period !== 'object') throw new InvalidInputError('period must be an object')
  return {
    meter: checkAddress('period.meter', period.meter),
    periodStart: checkUint('period.periodStart', period.periodStart, 64),
    periodEnd: checkUint('period.periodEnd', period.periodEnd, 64),
    startCounter: checkUint('period.startCounter', period.startCounter, 64),
    endCounter: checkUint('period.endCounter', period.endCounter, 64),
    commitment: checkUint('period.commitment', period.commitment, 256),
  }
}

function proofArgs(proof: SolidityProof) {
  const pair = (name: string, p: unknown): [bigint, bigint] => {
    if (!Array.isArray(p) || p.length !== 2) throw new InvalidInputError(`proof.${name} must be a pair`)
    return [checkUint(`proof.${name}[0]`, p[0], 256), checkUint(`proof.${name}[1]`, p[1], 256)]
  }
  if (proof === null || typeof proof !== 'object' || !Array.isArray(proof.b) || proof.b.length !== 2) {
    throw new InvalidInputError('proof must be { a: [x, y], b: [[x1, x2], [y1, y2]], c: [x, y] }')
  }
  return {
    a: pair('a', proof.a),
    b: [pair('b[0]', proof.b[0]), pair('b[1]', proof.b[1])],
    c: pair('c', proof.c),
  }
}

type Claim = Pick<BillSubmission, 'total' | 'energyWh' | 'tariffId' | 'cidDigest'>

function claimArgs(bill: Claim) {
  return {
    total: checkUint('total', bill.total, 256),
    energyWh: checkUint('energyWh', bill.energyWh, 256),
    tariffId: checkUint('tariffId', bill.tariffId, 256),
    cidDigest: checkBytes32('cidDigest', bill.cidDigest),
  }
}

/** The contract's bill id: keccak256(abi.encode(period, household, areaId, claim)). */
export function billIdOf(
  period: BillingPeriod,
  household: Address,
  areaId: number,
  claim: Claim,
): `0x${string}` {
  const p = periodArgs(period)
  const c = claimArgs(claim)
  const encoded = AbiCoder.defaultAbiCoder().encode(
    [PERIOD_TUPLE, 'address', 'uint32', CLAIM_TUPLE],
    [
      [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
      checkAddress('household', household),
      checkUint('areaId', areaId, 32),
      [c.total, c.energyWh, c.tariffId, c.cidDigest],
    ],
  )
  return keccak256(encoded) as `0x${string}`
}

/**
 * Deploys the profile's verifier and a ledger bound to it; `signer` becomes the utility (owner).
 * The ledger records the build's trusted setup (verifying key hash, transcript id, dev or not); an
 * INSECURE development setup is refused on any chain but the development one (31337).
 */
export async function deployLedger(
  signer: Signer,
  artifacts: LedgerArtifacts,
  limits: LedgerLimits,
): Promise<LedgerClient> {
  const setup = artifacts.setup
  if (setup?.kind !== 'insecure-dev' && setup?.kind !== 'ceremony') {
    throw new InsecureSetupError(
      'the circuit build does not say which trusted setup it comes from: rebuild it',
    )
  }
  const net = artifacts.net
  if (setup.kind === 'insecure-dev' || net?.setup.kind === 'insecure-dev') {
    const chainId = (await signer.provider?.getNetwork())?.chainId
    if (chainId !== DEV_CHAIN_ID) {
      throw new InsecureSetupError(
        `refusing to deploy a verifier from the INSECURE development setup to chain ${String(chainId)}: anyone can ` +
          `forge its proofs (its secrets follow from public phrases). It deploys only to the development chain ` +
          `${DEV_CHAIN_ID}; build the ${artifacts.profile} circuit from a ceremony (npm run build:circuits -- --ptau FILE, docs/trusted-setup.md)`,
        { details: { chainId: chainId?.toString(), profile: artifacts.profile } },
      )
    }
  }
  if (!Number.isInteger(limits?.slots) || limits.slots <= 0 || 86400 % limits.slots !== 0) {
    throw new InvalidInputError(
      `limits.slots must be a positive divisor of 86400, got ${String(limits?.slots)}`,
    )
  }
  if (!Number.isInteger(limits.maxIntervals) || limits.maxIntervals <= 0) {
    throw new InvalidInputError(
      `limits.maxIntervals must be a positive integer, got ${String(limits.maxIntervals)}`,
    )
  }
  const minBillingPeriod = limits.minBillingPeriod ?? DEV_POLICY.minBillingPeriod
  const tariffNotice = limits.tariffNotice ?? DEV_POLICY.tariffNotice
  for (const [name, value] of [
    ['minBillingPeriod', minBillingPeriod],
    ['tariffNotice', tariffNotice],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidInputError(`limits.${name} must be a whole number of seconds, got ${String(value)}`)
    }
  }
  const iface = new Interface(artifacts.ledger.abi as InterfaceAbi)
  try {
    const verifierFactory = new ContractFactory(
      artifacts.verifier.abi as InterfaceAbi,
      artifacts.verifier.bytecode,
      signer,
    )
    const verifier = await verifierFactory.deploy()
    await verifier.waitForDeployment()
    const batchFactory = new ContractFactory(
      artifacts.batchVerifier.abi as InterfaceAbi,
      artifacts.batchVerifier.bytecode,
      signer,
    )
    const batchVerifier = await batchFactory.deploy(artifacts.verifyingKey)
    await batchVerifier.waitForDeployment()
    // The net-bill verifier, when the profile's net circuit is built: the ledger's constructor deploys
    // the extension that uses it and records its key's hash (docs/contracts.md, "Net bills").
    let netVerifier = ZeroAddress
    if (net !== undefined) {
      const netFactory = new ContractFactory(net.verifier.abi as InterfaceAbi, net.verifier.bytecode, signer)
      const deployed = await netFactory.deploy()
      await deployed.waitForDeployment()
      netVerifier = await deployed.getAddress()
    }
    const ledgerFactory = new ContractFactory(iface, artifacts.ledger.bytecode, signer)
    const ledger = await ledgerFactory.deploy(
      await verifier.getAddress(),
      await batchVerifier.getAddress(),
      limits.slots,
      limits.maxIntervals,
      minBillingPeriod,
      tariffNotice,
      setup.verifyingKeyHash,
      setup.transcript.sha256,
      setup.kind === 'insecure-dev',
      netVerifier,
      net === undefined ? ZeroHash : net.setup.verifyingKeyHash,
    )
    const receipt = await ledger.deploymentTransaction()?.wait()
    return new LedgerClient(ledger, artifacts.ledger.abi, receipt?.blockNumber ?? 0)
  } catch (err) {
    throw decodeLedgerError(err, iface)
  }
}

/** A 65-byte r ‖ s ‖ v signature split for a contract call. */
function checkSignature65(name: string, signature: unknown): { r: string; s: string; v: number } {
  if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new InvalidInputError(`${name} must be 65 bytes r ‖ s ‖ v as 0x hex`)
  }
  let v = Number.parseInt(signature.slice(130, 132), 16)
  if (v < 27) v += 27
  return { r: `0x${signature.slice(2, 66)}`, s: `0x${signature.slice(66, 130)}`, v }
}

/** The token's EIP-712 domain for its permits: its EIP-5267 eip712Domain() where it has one, else name and version "1". */
export async function permitDomain(
  token: string,
  runner: Signer,
): Promise<{ name: string; version: string; chainId: bigint; verifyingContract: Address }> {
  const erc20 = new Contract(checkAddress('token', token), ERC20_PERMIT_ABI, runner)
  try {
    const d = (await erc20.getFunction('eip712Domain').staticCall()) as [
      string,
      string,
      string,
      bigint,
      string,
    ]
    return { name: d[1], version: d[2], chainId: d[3], verifyingContract: d[4] as Address }
  } catch {
    const network = await runner.provider?.getNetwork()
    if (network === undefined) throw new LedgerTransactionError('the signer has no provider')
    return {
      name: String(await erc20.getFunction('name').staticCall()),
      version: '1',
      chainId: network.chainId,
      verifyingContract: token as Address,
    }
  }
}

/**
 * The owner's EIP-2612 permit letting `spender` take `value` of `token`, valid for `validFor`
 * seconds (an hour): a typed-data signature, no transaction.
 */
export async function signPermit(
  owner: Signer,
  token: string,
  spender: string,
  value: bigint,
  validFor = 3600,
): Promise<{ deadline: bigint; signature: `0x${string}` }> {
  const ownerAddress = await owner.getAddress()
  const erc20 = new Contract(checkAddress('token', token), ERC20_PERMIT_ABI, owner)
  const [domain, nonce, block] = await Promise.all([
    permitDomain(token, owner),
    erc20.getFunction('nonces').staticCall(ownerAddress) as Promise<bigint>,
    owner.provider?.getBlock('latest'),
  ])
  const now = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000))
  const deadline = now + BigInt(validFor)
  const signature = (await owner.signTypedData(domain, PERMIT_TYPES, {
    owner: ownerAddress,
    spender: checkAddress('spender', spender),
    value,
    nonce,
    deadline,
  })) as `0x${string}`
  return { deadline, signature }
}

/** Connects to a deployed ledger. `fromBlock` (its deployment block) bounds event queries. */
export function connectLedger(address: string, runner: Signer, abi: Abi, fromBlock = 0): LedgerClient {
  return new LedgerClient(
    new Contract(checkAddress('address', address), abi as InterfaceAbi, runner),
    abi,
    fromBlock,
  )
}

export class LedgerClient {
  readonly contract: Contract
  readonly abi: Abi
  readonly interface: Interface
  readonly fromBlock: number

  constructor(contract: BaseContract, abi: Abi, fromBlock: number) {
    this.abi = abi
    this.interface = new Interface(abi as InterfaceAbi)
    this.contract = contract as Contract
    this.fromBlock = fromBlock
  }

  get address(): Address {
    return this.contract.target as Address
  }

  /** The same ledger, sending from another account. */
  connect(runner: Signer): LedgerClient {
    return new LedgerClient(this.contract.connect(runner) as BaseContract, this.abi, this.fromBlock)
  }

  decodeError(err: unknown): ZkMeterError {
    return decodeLedgerError(err, this.interface)
  }

  private async send(method: string, args: unknown[], value?: bigint): Promise<TransactionReceipt> {
    try {
      const fn = this.contract.getFunction(method)
      const tx = (await (value === undefined
        ? fn.send(...args)
        : fn.send(...args, { value }))) as ContractTransactionResponse
      const receipt = await tx.wait()
      if (receipt === null) throw new LedgerTransactionError(`${method}: the transaction was dropped`)
      return receipt
    } catch (err) {
      throw this.decodeError(err)
    }
  }

  private async call<T>(method: string, args: unknown[]): Promise<T> {
    try {
      return (await this.contract.getFunction(method).staticCall(...args)) as T
    } catch (err) {
      throw this.decodeError(err)
    }
  }

  private eventArgs(receipt: TransactionReceipt, event: string): Record<string, unknown> {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue
      const parsed = this.interface.parseLog(log)
      if (parsed?.name === event) return parsed.args.toObject(true)
    }
    throw new LedgerTransactionError(`the transaction succeeded but emitted no ${event} event`)
  }

  /** The trusted setup the ledger verifies bills under, as recorded at deploy. */
  async trustedSetup(): Promise<LedgerSetup> {
    const [verifier, verifyingKeyHash, setupTranscript, insecureDevSetup] = await this.call<
      [string, string, string, boolean]
    >('trustedSetup', [])
    return {
      verifier: verifier as Address,
      verifyingKeyHash: verifyingKeyHash as `0x${string}`,
      setupTranscript: setupTranscript as `0x${string}`,
      insecureDevSetup,
    }
  }

  /** EIP-712 domain the meters must sign BillingPeriod messages for. */
  async domain(): Promise<Eip712Domain> {
    const network = await this.contract.runner?.provider?.getNetwork()
    if (network === undefined) throw new LedgerTransactionError('the ledger client has no provider')
    return { chainId: network.chainId, verifyingContract: this.address }
  }

  async registerMeter(meter: {
    meter: string
    household: string
    areaId: number
    startTime: Numeric
    startCounter: Numeric
  }): Promise<TransactionReceipt> {
    return this.send('registerMeter', [
      checkAddress('meter', meter.meter),
      checkAddress('household', meter.household),
      checkUint('areaId', meter.areaId, 32),
      checkUint('startTime', meter.startTime, 64),
      checkUint('startCounter', meter.startCounter, 64),
    ])
  }

  async deactivateMeter(meter: string): Promise<TransactionReceipt> {
    return this.send('deactivateMeter', [checkAddress('meter', meter)])
  }

  /** Publishes a tariff; the hash is computed from the prices (protocol §4) unless given. */
  async publishTariff(tariff: {
    effectiveFrom: Numeric
    prices: readonly bigint[]
    tariffHash?: Numeric
    /** A registered token the prices are in (its smallest units per Wh); omitted or 0: Ether, wei per Wh. */
    assetId?: number
  }): Promise<{ tariffId: bigint; tariffHash: bigint; receipt: TransactionReceipt }> {
    if (!Array.isArray(tariff?.prices))
      throw new InvalidInputError('prices must be an array of bigint wei per Wh')
    const hash =
      tariff.tariffHash === undefined
        ? computeTariffHash(tariff.prices)
        : checkUint('tariffHash', tariff.tariffHash, 256)
    const args = [
      checkUint('effectiveFrom', tariff.effectiveFrom, 64),
      hash,
      tariff.prices.map((p, i) => checkUint(`prices[${i}]`, p, 64)),
    ]
    const assetId = tariff.assetId === undefined ? 0n : checkUint('assetId', tariff.assetId, 32)
    const receipt =
      assetId === 0n
        ? await this.send('publishTariff', args)
        : await this.send('publishTokenTariff', [assetId, ...args])
    const published = this.eventArgs(receipt, 'TariffPublished')
    return { tariffId: published.tariffId as bigint, tariffHash: hash, receipt }
  }

  async publishNotice(notice: {
    areaId: number
    kind: number
    startsAt: Numeric
    endsAt: Numeric
    message: string
  }): Promise<TransactionReceipt> {
    if (typeof notice?.message !== 'string') throw new InvalidInputError('notice.message must be a string')
    return this.send('publishNotice', [
      checkUint('areaId', notice.areaId, 32),
      checkUint('kind', notice.kind, 8),
      checkUint('startsAt', notice.startsAt, 64),
      checkUint('endsAt', notice.endsAt, 64),
      notice.message,
    ])
  }

  async submitBill(bill: BillSubmission): Promise<{ billId: `0x${string}`; receipt: TransactionReceipt }> {
    if (bill === null || typeof bill !== 'object') throw new InvalidInputError('bill must be an object')
    if (typeof bill.signature !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(bill.signature)) {
      throw new InvalidInputError('signature must be 0x hex bytes (65 bytes r ‖ s ‖ v)')
    }
    const p = periodArgs(bill.period)
    const proof = proofArgs(bill.proof)
    const c = claimArgs(bill)
    const receipt = await this.send('submitBill', [
      [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
      bill.signature,
      [proof.a, proof.b, proof.c],
      [c.total, c.energyWh, c.tariffId, c.cidDigest],
    ])
    return { billId: this.eventArgs(receipt, 'BillSubmitted').billId as `0x${string}`, receipt }
  }

  /**
   * Submits bills households proved and signed, as a relayer, in one transaction (one Groth16 batch
   * verification). Returns the bill ids in order. A bill breaking a rule reverts all with its error;
   * a bad proof with BatchProofRejected(index).
   */
  async submitBills(
    bills: readonly RelayedBillSubmission[],
  ): Promise<{ billIds: `0x${string}`[]; receipt: TransactionReceipt }> {
    if (!Array.isArray(bills)) throw new InvalidInputError('bills must be an array of relayed bills')
    const batch = bills.map((bill, i) => {
      if (bill === null || typeof bill !== 'object')
        throw new InvalidInputError(`bills[${i}] must be an object`)
      const p = periodArgs(bill.period)
      const proof = proofArgs(bill.proof)
      const c = claimArgs(bill)
      return [
        [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
        compactSignatureArgs(`bills[${i}].signature`, bill.signature),
        [proof.a, proof.b, proof.c],
        [c.total, c.energyWh, c.tariffId, c.cidDigest],
        bill.relayer === undefined ? ZeroAddress : checkAddress(`bills[${i}].relayer`, bill.relayer),
        compactSignatureArgs(`bills[${i}].householdSignature`, bill.householdSignature),
      ]
    })
    const receipt = await this.send('submitBills', [batch])
    const billIds: `0x${string}`[] = []
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue
      const parsed = this.interface.parseLog(log)
      if (parsed?.name === 'BillSubmitted') billIds.push(parsed.args.billId as `0x${string}`)
    }
    return { billIds, receipt }
  }

  /**
   * Publishes the feed-in curve of tariff `tariffId` (what an exported Wh earns per slot, in the
   * tariff's asset), under the same tariff rules and notice as the import curve. The net-bill tariff
   * hash Poseidon(T, T_f) is computed from `prices` (the tariff's import curve) unless given.
   */
  async publishFeedIn(feedIn: {
    tariffId: Numeric
    feedInPrices: readonly bigint[]
    prices?: readonly bigint[]
    netTariffHash?: Numeric
  }): Promise<{ netTariffHash: bigint; receipt: TransactionReceipt }> {
    if (!Array.isArray(feedIn?.feedInPrices)) {
      throw new InvalidInputError('feedInPrices must be an array of bigint prices per exported Wh')
    }
    let hash: bigint
    if (feedIn.netTariffHash !== undefined) hash = checkUint('netTariffHash', feedIn.netTariffHash, 256)
    else if (Array.isArray(feedIn.prices)) hash = computeNetTariffHash(feedIn.prices, feedIn.feedInPrices)
    else throw new InvalidInputError('publishFeedIn needs the import curve (prices) or the netTariffHash')
    const receipt = await this.send('publishFeedIn', [
      checkUint('tariffId', feedIn.tariffId, 256),
      hash,
      feedIn.feedInPrices.map((p, i) => checkUint(`feedInPrices[${i}]`, p, 64)),
    ])
    return { netTariffHash: hash, receipt }
  }

  /** A tariff's net-bill tariff hash, or undefined while it has no feed-in curve. */
  async feedInHash(tariffId: Numeric): Promise<bigint | undefined> {
    const hash = await this.call<bigint>('feedInHash', [checkUint('tariffId', tariffId, 256)])
    return hash === 0n ? undefined : hash
  }

  /**
   * Submits a period's net bill (docs/contracts.md, "Net bills"). `due` is what is left to pay after
   * the period's credit and the meter's carried credit (0: the bill is recorded paid).
   */
  async submitNetBill(
    bill: NetBillSubmission,
  ): Promise<{ billId: `0x${string}`; due: bigint; receipt: TransactionReceipt }> {
    if (bill === null || typeof bill !== 'object') throw new InvalidInputError('bill must be an object')
    for (const name of ['signature', 'exportSignature'] as const) {
      if (typeof bill[name] !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(bill[name])) {
        throw new InvalidInputError(`${name} must be 0x hex bytes (65 bytes r ‖ s ‖ v)`)
      }
    }
    const p = periodArgs(bill.period)
    const x = periodArgs(bill.exportPeriod)
    // The contract hashes the export half with the import half's meter and bounds (the calldata
    // carries them once): a half of another period or meter is a caller's mistake, named here.
    if (
      x.meter.toLowerCase() !== p.meter.toLowerCase() ||
      x.periodStart !== p.periodStart ||
      x.periodEnd !== p.periodEnd
    ) {
      throw new InvalidInputError(
        `the export half is of ${x.meter} [${x.periodStart}, ${x.periodEnd}), the import half of ${p.meter} [${p.periodStart}, ${p.periodEnd}): both halves of one period close are needed`,
      )
    }
    const proof = proofArgs(bill.proof)
    const receipt = await this.send('submitNetBill', [
      [p.meter, p.periodStart, p.periodEnd, p.startCounter, p.endCounter, p.commitment],
      compactSignatureArgs('signature', bill.signature),
      [x.startCounter, x.endCounter, x.commitment],
      compactSignatureArgs('exportSignature', bill.exportSignature),
      [proof.a, proof.b, proof.c],
      [
        checkUint('cost', bill.cost, 256),
        checkUint('credit', bill.credit, 256),
        checkUint('tariffId', bill.tariffId, 256),
        checkBytes32('cidDigest', bill.cidDigest),
      ],
    ])
    const event = this.eventArgs(receipt, 'NetBillSubmitted')
    return { billId: event.billId as `0x${string}`, due: event.due as bigint, receipt }
  }

  /** A meter's carried credit, in its area's asset. */
  async creditOf(meter: string): Promise<bigint> {
    return this.call<bigint>('creditOf', [checkAddress('meter', meter)])
  }

  /** Where the meter's next net bill's export counter must start (known: false until a net bill). */
  async exportCursor(meter: string): Promise<{ nextExportCounter: bigint; known: boolean }> {
    const [nextExportCounter, known] = await this.call<[bigint, boolean]>('exportCursor', [
      checkAddress('meter', meter),
    ])
    return { nextExportCounter, known }
  }

  /** The net-bill extension, its verifier and its verifying key's hash (undefined: net bills disabled). */
  async netSetup(): Promise<
    { netBills: Address; netVerifier: Address; netVerifyingKeyHash: `0x${string}` } | undefined
  > {
    const netBills = await this.call<string>('netBills', [])
    if (netBills === ZeroAddress) return undefined
    const hash = await this.call<string>('netVerifyingKeyHash', [])
    // The extension's immutable, read through the ledger's fallback.
    const netVerifier = await this.call<string>('netVerifier', [])
    return {
      netBills: netBills as Address,
      netVerifier: netVerifier as Address,
      netVerifyingKeyHash: hash as `0x${string}`,
    }
  }

  /** Net bills (NetBillSubmitted), optionally of one meter or household, oldest first. */
  async netBills(filter: { meter?: string; household?: string } = {}): Promise<NetBillRecord[]> {
    const meter = filter.meter === undefined ? null : checkAddress('meter', filter.meter)
    const household = filter.household === undefined ? null : checkAddress('household', filter.household)
    const logs = await this.contract.queryFilter(
      this.contract.getEvent('NetBillSubmitted')(null, meter, household),
      this.fromBlock,
    )
    const out: NetBillRecord[] = []
    for (const log of logs) {
      const a = this.interface.parseLog(log)?.args
      if (a === undefined) continue
      const p = a.period as unknown as [string, bigint, bigint, bigint, bigint, bigint]
      const x = a.exportHalf as unknown as [bigint, bigint, bigint]
      const c = a.claim as unknown as [bigint, bigint, bigint, string]
      const status = await this.billStatus(a.billId as string)
      out.push({
        billId: a.billId as `0x${string}`,
        meter: a.meter as Address,
        household: a.household as Address,
        areaId: Number(a.areaId),
        period: {
          meter: p[0] as Address,
          periodStart: p[1],
          periodEnd: p[2],
          startCounter: p[3],
          endCounter: p[4],
          commitment: p[5],
        },
        exportHalf: { startCounter: x[0], endCounter: x[1], commitment: x[2] },
        cost: c[0],
        credit: c[1],
        tariffId: c[2],
        cidDigest: c[3] as `0x${string}`,
        due: a.due as bigint,
        paid: status.paid,
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
      })
    }
    return out
  }

  /** A meter's credit changes (CreditRecorded, CreditApplied), oldest first. */
  async creditHistory(meter: string): Promise<CreditEvent[]> {
    const m = checkAddress('meter', meter)
    const out: CreditEvent[] = []
    for (const [name, kind] of [
      ['CreditRecorded', 'recorded'],
      ['CreditApplied', 'applied'],
    ] as const) {
      const logs = await this.contract.queryFilter(this.contract.getEvent(name)(m), this.fromBlock)
      for (const log of logs) {
        const args = this.interface.parseLog(log)?.args
        if (args === undefined) continue
        out.push({
          kind,
          meter: args.meter as Address,
          billId: args.billId as `0x${string}`,
          amount: args.amount as bigint,
          balance: args.balance as bigint,
          blockNumber: log.blockNumber,
          transactionHash: log.transactionHash as `0x${string}`,
        })
      }
    }
    return out.sort((a, b) => a.blockNumber - b.blockNumber)
  }

  /**
   * Pays `amount` of a meter's carried credit to its household (owner only), in the meter's asset,
   * out of what was paid and not withdrawn (docs/contracts.md, "Paying a credit out"). Without
   * `amount`, the whole credit as it reads now (a bill that uses part of it first makes the payout
   * revert PayoutExceedsCredit rather than pay another sum).
   */
  async payOutCredit(
    meter: string,
    amount?: bigint,
  ): Promise<{ amount: bigint; household: Address; balance: bigint; receipt: TransactionReceipt }> {
    const m = checkAddress('meter', meter)
    const value = amount === undefined ? await this.creditOf(m) : checkUint('amount', amount, 256)
    const receipt = await this.send('payOutCredit', [m, value])
    const event = this.eventArgs(receipt, 'CreditPaidOut')
    return {
      amount: event.amount as bigint,
      household: event.household as Address,
      balance: event.balance as bigint,
      receipt,
    }
  }

  /** The meters a net bill ever credited (CreditRecorded), in order of their first credit. */
  async creditedMeters(): Promise<Address[]> {
    const logs = await this.contract.queryFilter(this.contract.getEvent('CreditRecorded')(), this.fromBlock)
    const meters = new Set<Address>()
    for (const log of logs) {
      const meter = this.interface.parseLog(log)?.args.meter
      if (typeof meter === 'string') meters.add(meter as Address)
    }
    return [...meters]
  }

  /** Credit payouts (CreditPaidOut), optionally of one meter, oldest first. */
  async creditPayouts(filter: { meter?: string; household?: string } = {}): Promise<CreditPayout[]> {
    const meter = filter.meter === undefined ? null : checkAddress('meter', filter.meter)
    const household = filter.household === undefined ? null : checkAddress('household', filter.household)
    const logs = await this.contract.queryFilter(
      this.contract.getEvent('CreditPaidOut')(meter, household),
      this.fromBlock,
    )
    const out: CreditPayout[] = []
    for (const log of logs) {
      const a = this.interface.parseLog(log)?.args
      if (a === undefined) continue
      out.push({
        meter: a.meter as Address,
        household: a.household as Address,
        amount: a.amount as bigint,
        balance: a.balance as bigint,
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash as `0x${string}`,
      })
    }
    return out
  }

  /** Pays a bill; sends its recorded total unless `amount` is given. */
  async payBill(billId: string, amount?: bigint): Promise<TransactionReceipt> {
    const id = checkBytes32('billId', billId)
    // The bill slot's total: what is due after any credit (not the claim's cost in the event).
    const value = amount === undefined ? (await this.billStatus(id)).total : checkUint('amount', amount, 256)
    return this.send('payBill', [id], value)
  }

  async withdraw(to: string): Promise<TransactionReceipt> {
    return this.send('withdraw', [checkAddress('to', to)])
  }

  /** Registers an ERC-20 token tariffs may be priced in; returns its asset id. */
  async registerAsset(
    token: string,
    decimals: number,
  ): Promise<{ assetId: number; receipt: TransactionReceipt }> {
    const receipt = await this.send('registerAsset', [
      checkAddress('token', token),
      checkUint('decimals', decimals, 8),
    ])
    return { assetId: Number(this.eventArgs(receipt, 'AssetRegistered').assetId), receipt }
  }

  /** Sets an area's asset (0 Ether); refused once the area has a meter. */
  async setAreaAsset(areaId: number, assetId: number): Promise<TransactionReceipt> {
    return this.send('setAreaAsset', [checkUint('areaId', areaId, 32), checkUint('assetId', assetId, 32)])
  }

  async assetCount(): Promise<number> {
    return Number(await this.call<bigint>('assetCount', []))
  }

  /** An asset's token, decimals and symbol (the token's own symbol()); asset 0 is Ether. */
  async asset(assetId: number): Promise<AssetInfo> {
    const id = Number(checkUint('assetId', assetId, 32))
    if (id === 0) return ETHER_ASSET
    const [token, decimals] = await this.call<[string, bigint]>('asset', [id])
    let symbol = `asset ${id}`
    const erc20 = new Contract(token, ERC20_PERMIT_ABI, this.contract.runner)
    try {
      symbol = String(await erc20.getFunction('symbol').staticCall())
    } catch {
      // symbol() is optional in ERC-20: the asset number is shown instead.
    }
    let permit: { name: string; version: string } | null = null
    try {
      // EIP-2612 tokens expose DOMAIN_SEPARATOR(); the domain's name and version come from EIP-5267.
      await erc20.getFunction('DOMAIN_SEPARATOR').staticCall()
      const domain = await permitDomain(token, this.contract.runner as Signer)
      permit = { name: domain.name, version: domain.version }
    } catch {
      // No permit: a wallet approves the ledger, then pays.
    }
    return { assetId: id, token: token as Address, decimals: Number(decimals), symbol, permit }
  }

  async areaAsset(areaId: number): Promise<{ assetId: number; fixed: boolean }> {
    const [assetId, fixed] = await this.call<[bigint, boolean]>('areaAsset', [
      checkUint('areaId', areaId, 32),
    ])
    return { assetId: Number(assetId), fixed }
  }

  async tariffAsset(tariffId: Numeric): Promise<number> {
    return Number(await this.call<bigint>('tariffAsset', [checkUint('tariffId', tariffId, 256)]))
  }

  async billAsset(billId: string): Promise<number> {
    return Number(await this.call<bigint>('billAsset', [checkBytes32('billId', billId)]))
  }

  async tokenWithdrawable(assetId: number): Promise<bigint> {
    return this.call<bigint>('tokenWithdrawable', [checkUint('assetId', assetId, 32)])
  }

  async withdrawToken(assetId: number, to: string): Promise<TransactionReceipt> {
    return this.send('withdrawToken', [checkUint('assetId', assetId, 32), checkAddress('to', to)])
  }

  /** Pays a token bill from the sender's tokens; the sender must have approved the ledger (approveToken). */
  async payBillWithToken(billId: string): Promise<TransactionReceipt> {
    return this.send('payBillWithToken', [checkBytes32('billId', billId)])
  }

  /** Approves the ledger to take `amount` of the token from the sender (the approve of approve + pay). */
  async approveToken(token: string, amount: bigint): Promise<TransactionReceipt> {
    try {
      const erc20 = new Contract(checkAddress('token', token), ERC20_PERMIT_ABI, this.contract.runner)
      const tx = (await erc20
        .getFunction('approve')
        .send(this.address, checkUint('amount', amount, 256))) as ContractTransactionResponse
      const receipt = await tx.wait()
      if (receipt === null) throw new LedgerTransactionError('approve: the transaction was dropped')
      return receipt
    } catch (err) {
      throw this.decodeError(err)
    }
  }

  /**
   * Pays a token bill with an EIP-2612 permit: the sender's wallet signs the permit (typed data, no
   * transaction), then one transaction pays. `permit` may be given (signed elsewhere, e.g. in a
   * browser wallet); otherwise the client's signer signs one for the bill's total.
   */
  async payBillWithPermit(
    billId: string,
    permit?: { deadline: bigint; signature: string },
  ): Promise<TransactionReceipt> {
    const id = checkBytes32('billId', billId)
    let signed = permit
    if (signed === undefined) {
      const signer = this.contract.runner as Signer | null
      if (signer === null || typeof (signer as Signer).signTypedData !== 'function') {
        throw new InvalidInputError('payBillWithPermit needs a signer to sign the permit')
      }
      const { total } = await this.billStatus(id)
      const asset = await this.asset(await this.billAsset(id))
      if (asset.token === undefined) throw new LedgerRevertError('WrongAsset', { billId: id, assetId: 0n })
      signed = await signPermit(signer, asset.token, this.address, total)
    }
    const sig = checkSignature65('permit signature', signed.signature)
    return this.send('payBillWithPermit', [
      id,
      checkUint('deadline', signed.deadline, 256),
      sig.v,
      sig.r,
      sig.s,
    ])
  }

  async transferOwnership(newOwner: string): Promise<TransactionReceipt> {
    return this.send('transferOwnership', [checkAddress('newOwner', newOwner)])
  }

  async acceptOwnership(): Promise<TransactionReceipt> {
    return this.send('acceptOwnership', [])
  }

  async owner(): Promise<Address> {
    return this.call<Address>('owner', [])
  }

  async withdrawable(): Promise<bigint> {
    return this.call<bigint>('withdrawable', [])
  }

  async meter(meter: string): Promise<MeterState> {
    const r = await this.call<[string, bigint, boolean, boolean, bigint, bigint, bigint]>('meters', [
      checkAddress('meter', meter),
    ])
    return {
      meter: meter as Address,
      household: r[0] as Address,
      areaId: Number(r[1]),
      registered: r[2],
      active: r[3],
      nextStart: r[4],
      nextCounter: r[5],
      assetId: Number(r[6]),
    }
  }

  /** The ledger's minimum billing period, tariff notice and minimum price run. */
  async policy(): Promise<LedgerPolicyState> {
    const [minBillingPeriod, tariffNotice, minPriceRun] = await Promise.all([
      this.call<bigint>('minBillingPeriod', []),
      this.call<bigint>('tariffNotice', []),
      this.call<bigint>('minPriceRun', []),
    ])
    return { minBillingPeriod, tariffNotice, minPriceRun: Number(minPriceRun) }
  }

  /** Asks the ledger whether `prices` obey its tariff rules: resolves, or rejects with the rule's LedgerRevertError. */
  async checkTariff(prices: readonly bigint[]): Promise<void> {
    if (!Array.isArray(prices)) throw new InvalidInputError('prices must be an array of bigint wei per Wh')
    await this.call('checkTariff', [prices.map((p, i) => checkUint(`prices[${i}]`, p, 64))])
  }

  async tariffCount(): Promise<bigint> {
    return this.call<bigint>('tariffCount', [])
  }

  /** The id of the latest tariff priced in `assetId` (0 Ether), if there is one. */
  async latestTariff(assetId = 0): Promise<bigint | undefined> {
    const wanted = Number(checkUint('assetId', assetId, 32))
    const count = await this.tariffCount()
    if ((await this.assetCount()) === 0) return wanted === 0 && count > 0n ? count : undefined
    for (let id = count; id >= 1n; id--) if ((await this.tariffAsset(id)) === wanted) return id
    return undefined
  }

  /** A tariff with its prices (from its event), refusing prices that do not hash to the stored hash. */
  async tariff(tariffId: Numeric): Promise<TariffState> {
    const id = checkUint('tariffId', tariffId, 256)
    const [effectiveFrom, until, hash] = await this.call<[bigint, bigint, bigint]>('tariff', [id])
    const assetId = await this.tariffAsset(id)
    const logs = await this.contract.queryFilter(
      this.contract.getEvent('TariffPublished')(id),
      this.fromBlock,
    )
    const log = logs.find((l): l is EventLog => 'args' in l)
    if (log === undefined)
      throw new LedgerTransactionError(
        `no TariffPublished event for tariff ${id} since block ${this.fromBlock}`,
      )
    const prices = (log.args.prices as bigint[]).map((p) => BigInt(p))
    if (computeTariffHash(prices) !== hash) {
      throw new TariffMismatchError(
        `tariff ${id}: the published prices do not hash to the on-chain tariff hash; do not bill against it`,
      )
    }
    const block = await log.getBlock()
    return {
      tariffId: id,
      effectiveFrom,
      until,
      tariffHash: hash,
      assetId,
      prices,
      publishedAt: BigInt(block.timestamp),
    }
  }

  /**
   * A tariff's feed-in curve from its FeedInPublished event, checked: Poseidon(T, T_f) of the
   * tariff's published import curve and this curve must be the hash the ledger verifies net bills
   * with (TariffMismatchError otherwise: do not prove against it). Undefined while it has none.
   * `publishedAt`: the publishing block's time (a household node refuses a curve published after a
   * period began, as it does an import tariff).
   */
  async feedIn(
    tariffId: Numeric,
  ): Promise<{ netTariffHash: bigint; feedInPrices: bigint[]; publishedAt: bigint } | undefined> {
    const id = checkUint('tariffId', tariffId, 256)
    const hash = await this.feedInHash(id)
    if (hash === undefined) return undefined
    const logs = await this.contract.queryFilter(
      this.contract.getEvent('FeedInPublished')(id),
      this.fromBlock,
    )
    const log = logs.find((l): l is EventLog => 'args' in l)
    if (log === undefined) {
      throw new LedgerTransactionError(
        `no FeedInPublished event for tariff ${id} since block ${this.fromBlock}`,
      )
    }
    const feedInPrices = (log.args.feedInPrices as bigint[]).map((p) => BigInt(p))
    const { prices } = await this.tariff(id)
    if (computeNetTariffHash(prices, feedInPrices) !== hash) {
      throw new TariffMismatchError(
        `tariff ${id}: the published import and feed-in curves do not hash to the on-chain net tariff hash; do not bill against it`,
      )
    }
    const block = await log.getBlock()
    return { netTariffHash: hash, feedInPrices, publishedAt: BigInt(block.timestamp) }
  }

  /**
   * The tariff of `assetId` (0 Ether, the default) in force for all of [periodStart, periodEnd), if one
   * is. Each asset has its own chain of tariffs; other assets' tariffs are skipped.
   */
  async tariffCovering(
    periodStart: Numeric,
    periodEnd: Numeric,
    assetId = 0,
  ): Promise<TariffState | undefined> {
    const start = checkUint('periodStart', periodStart, 64)
    const end = checkUint('periodEnd', periodEnd, 64)
    const wanted = Number(checkUint('assetId', assetId, 32))
    const tokens = (await this.assetCount()) > 0
    for (let id = await this.tariffCount(); id >= 1n; id--) {
      // A ledger without tokens has one chain: no per-tariff asset look-up (the RPC round trips).
      if (tokens && (await this.tariffAsset(id)) !== wanted) continue
      const [effectiveFrom, until] = await this.call<[bigint, bigint, bigint]>('tariff', [id])
      if (effectiveFrom <= start) return until >= end ? this.tariff(id) : undefined
    }
    return undefined
  }

  private billFromLog(log: Log, status: { submitted: boolean; paid: boolean; total: bigint }): BillRecord {
    const parsed = this.interface.parseLog(log)
    if (parsed === null) throw new LedgerTransactionError('not a ledger log')
    const a = parsed.args
    const period = a.period as unknown as bigint[] & { meter: string }
    const claim = a.claim as unknown as [bigint, bigint, bigint, string]
    return {
      billId: a.billId as `0x${string}`,
      meter: a.meter as Address,
      household: a.household as Address,
      areaId: Number(a.areaId),
      period: {
        meter: period[0] as unknown as Address,
        periodStart: period[1] as bigint,
        periodEnd: period[2] as bigint,
        startCounter: period[3] as bigint,
        endCounter: period[4] as bigint,
        commitment: period[5] as bigint,
      },
      total: claim[0],
      due: status.total,
      energyWh: claim[1],
      tariffId: claim[2],
      cidDigest: claim[3] as `0x${string}`,
      submitted: status.submitted,
      paid: status.paid,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    }
  }

  /** A bill's payment state (one storage slot). */
  async billStatus(billId: string): Promise<{ submitted: boolean; paid: boolean; total: bigint }> {
    const [submitted, paid, total] = await this.call<[boolean, boolean, bigint]>('billStatus', [
      checkBytes32('billId', billId),
    ])
    return { submitted, paid, total }
  }

  /** A bill's full record: its event plus its payment state. */
  async bill(billId: string): Promise<BillRecord> {
    const id = checkBytes32('billId', billId)
    const status = await this.billStatus(id)
    if (!status.submitted) throw new LedgerRevertError('UnknownBill', { billId: id })
    const logs = await this.contract.queryFilter(this.contract.getEvent('BillSubmitted')(id), this.fromBlock)
    const log = logs[0]
    if (log === undefined)
      throw new LedgerTransactionError(`no BillSubmitted event for ${id} since block ${this.fromBlock}`)
    return this.billFromLog(log, status)
  }

  /**
   * A bill's payment from its BillPaid event (undefined while unpaid). The event, not the bill's own
   * record, names the payer and the paying transaction: a browser wallet may pay from any account.
   */
  async payment(billId: string): Promise<Payment | undefined> {
    const id = checkBytes32('billId', billId)
    const logs = await this.contract.queryFilter(this.contract.getEvent('BillPaid')(id), this.fromBlock)
    const log = logs[0]
    if (log === undefined) return undefined
    const args = this.interface.parseLog(log)?.args
    if (args === undefined) throw new LedgerTransactionError('not a ledger log')
    return {
      billId: id as `0x${string}`,
      payer: args.payer as Address,
      amount: args.amount as bigint,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash as `0x${string}`,
    }
  }

  /** All bills, optionally of one meter or household, oldest first. */
  async bills(filter: { meter?: string; household?: string } = {}): Promise<BillRecord[]> {
    const meter = filter.meter === undefined ? null : checkAddress('meter', filter.meter)
    const household = filter.household === undefined ? null : checkAddress('household', filter.household)
    const eventFilter = this.contract.getEvent('BillSubmitted')(null, meter, household)
    const logs = await this.contract.queryFilter(eventFilter, this.fromBlock)
    const out: BillRecord[] = []
    for (const log of logs) {
      const id = this.interface.parseLog(log)?.args.billId as string
      out.push(this.billFromLog(log, await this.billStatus(id)))
    }
    return out
  }

  async notices(filter: { areaId?: number } = {}): Promise<Notice[]> {
    const area = filter.areaId === undefined ? null : checkUint('areaId', filter.areaId, 32)
    const logs = await this.contract.queryFilter(
      this.contract.getEvent('NoticePublished')(area),
      this.fromBlock,
    )
    return logs.map((log) => {
      const a = this.interface.parseLog(log)?.args
      if (a === undefined) throw new LedgerTransactionError('not a ledger log')
      return {
        areaId: Number(a.areaId),
        kind: Number(a.kind),
        startsAt: a.startsAt as bigint,
        endsAt: a.endsAt as bigint,
        message: a.message as string,
        blockNumber: log.blockNumber,
      }
    })
  }
}
