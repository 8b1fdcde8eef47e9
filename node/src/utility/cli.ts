/**
 * `zkmeter utility …` — the utility's side, acting directly on a chain with the utility's key (the
 * ledger owner). No household node is involved: the utility only ever sees what the ledger holds
 * (meters, tariffs, notices, bill totals and payments), never readings.
 *
 * The key comes from ZKMETER_UTILITY_KEY only: a flag would show up in process lists and shell
 * history. It is never printed.
 */
import { readFile } from 'node:fs/promises'
import { type Provider, Wallet } from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'
import { unitsToDecimal } from '#protocol/money.ts'
import { explainViolation, type LedgerPolicy, tariffViolation } from '#protocol/tariff-rules.ts'
import { isProfileName, PROFILES } from '../../../circuits/src/profiles.ts'
import { jsonRpcProvider } from '../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { deploymentPolicy } from '../../../contracts/ts/deploy-policy.ts'
import {
  type AssetInfo,
  connectLedger,
  deployLedger,
  ETHER_ASSET,
  type LedgerClient,
} from '../../../contracts/ts/ledger.ts'
import {
  assetBalances,
  checkAreaAsset,
  ensureAreaAsset,
  findAsset,
  inspectToken,
  listAssets,
  parseAssetChoice,
  resolveAsset,
  withdrawAsset,
} from './assets.ts'
import { carriedCredits, checkFeedInRules, payCredit, publishFeedInCurve } from './credits.ts'

export const UTILITY_USAGE = `usage: zkmeter utility <command> [options]
  deploy [--profile test|production] [--min-billing-days D] [--tariff-notice-days D]
                                                deploy verifier + ledger; the key's account becomes the utility
                                                (production: bills of 28+ days, tariffs 7 days ahead)
  register --meter 0x.. --household 0x.. --area N --start-time T --start-counter C [--asset eth|0xTOKEN]
                                                --asset: what the area bills in, set before its first meter
                                                (the first meter fixes it for good)
  tariff --effective-from T (--prices-file prices.json | --flat P | --peak P --offpeak P [--peak-hours 17-21])
         [--asset eth|0xTOKEN] [--area N]       publish a daily price curve of 96 slots in the smallest unit
                                                of the asset per Wh (wei for Ether; < 2^64 each); a token is
                                                checked (ERC-20 with decimals and symbol) and registered on
                                                first use; --area refuses a tariff its bills cannot use
  area-asset --area N --asset eth|0xTOKEN       set what an area bills in (until its first meter)
  assets                                        Ether and the registered tokens: symbol, decimals, balances
  bills [--meter 0x..]                          verified bills: totals and paid status (all the utility sees)
  balance                                       per asset: paid in total (collected) and waiting to be withdrawn
  withdraw --to 0x.. [--asset eth|0xTOKEN]      withdraw what was paid in the asset (default Ether)
  notice --area N --kind outage|maintenance|price --starts T --ends T --message "…"
  feed-in --tariff ID (--prices-file feed-in.json | --flat P | --peak P --offpeak P [--peak-hours 10-14])
                                                publish tariff ID's feed-in curve (net bills of homes that
                                                export): 96 prices per exported Wh in the tariff's asset, the
                                                tariff rules and the tariff's notice apply; once per tariff
  credits [--meter 0x..]                        credits meters carry from net bills (what the utility owes)
  pay-credit --meter 0x.. [--amount N]          pay a meter's credit (default: all of it) to its household,
                                                in its asset, from what was paid and not withdrawn
chain:  --rpc-url URL (or RPC_URL), --ledger 0x.. (or ZKMETER_LEDGER), --from-block B (ledger deployment block)
        --profile test|production picks the compiled ABI/verifier (default: production for deploy, test otherwise)
key:    ZKMETER_UTILITY_KEY=0x<32-byte private key> in the environment (never a flag)
times are Unix seconds (UTC); outputs are JSON with integers as decimal strings`

/** A bad or missing argument of a utility command. */
export class UtilityUsageError extends InvalidInputError {
  override name = 'UtilityUsageError'
}

/** The chain, ledger or key the utility commands need is not configured. */
export class UtilityConfigError extends InvalidInputError {
  override name = 'UtilityConfigError'
}

const NOTICE_KINDS = { outage: 0, maintenance: 1, price: 2 } as const
const U64_LIMIT = 1n << 64n
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

const COMMAND_FLAGS: Record<string, readonly string[]> = {
  deploy: ['min-billing-days', 'tariff-notice-days'],
  register: ['meter', 'household', 'area', 'start-time', 'start-counter', 'asset'],
  tariff: ['effective-from', 'prices-file', 'flat', 'peak', 'offpeak', 'peak-hours', 'asset', 'area'],
  'area-asset': ['area', 'asset'],
  assets: [],
  bills: ['meter'],
  balance: [],
  withdraw: ['to', 'asset'],
  notice: ['area', 'kind', 'starts', 'ends', 'message'],
  'feed-in': ['tariff', 'prices-file', 'flat', 'peak', 'offpeak', 'peak-hours'],
  credits: ['meter'],
  'pay-credit': ['meter', 'amount'],
}
const CHAIN_FLAGS = ['rpc-url', 'ledger', 'from-block', 'profile', 'help']

type Env = Record<string, string | undefined>

function required(flags: Map<string, string>, name: string): string {
  const v = flags.get(name)
  if (v === undefined || v === 'true')
    throw new UtilityUsageError(`--${name} is required (zkmeter utility --help)`)
  return v
}

function address(flags: Map<string, string>, name: string): string {
  const v = required(flags, name)
  if (!ADDRESS.test(v))
    throw new UtilityUsageError(`--${name} must be a 0x address of 40 hex digits, got ${v}`)
  return v
}

function uint(value: string, what: string, limit = U64_LIMIT): bigint {
  if (!/^\d+$/.test(value))
    throw new UtilityUsageError(`${what} must be a non-negative integer, got ${value}`)
  const n = BigInt(value)
  if (n >= limit) throw new UtilityUsageError(`${what} must be below ${limit}, got ${value}`)
  return n
}

const uintFlag = (flags: Map<string, string>, name: string, limit = U64_LIMIT) =>
  uint(required(flags, name), `--${name}`, limit)

/** Validates a daily price curve: exactly `slots` integers in [0, 2^64) wei per Wh. */
export function parsePrices(values: unknown, slots: number): bigint[] {
  if (!Array.isArray(values) || values.length !== slots) {
    throw new UtilityUsageError(
      `a tariff needs exactly ${slots} prices (one per ${86400 / slots / 60}-minute slot of the UTC day), got ${Array.isArray(values) ? values.length : typeof values}`,
    )
  }
  return values.map((v, i) => {
    const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v
    if (typeof s !== 'string')
      throw new UtilityUsageError(`price ${i} must be an integer (number or decimal string)`)
    return uint(s, `price ${i}`)
  })
}

async function tariffPrices(flags: Map<string, string>, slots: number): Promise<bigint[]> {
  const file = flags.get('prices-file')
  const flat = flags.get('flat')
  const peak = flags.get('peak')
  const chosen = [file, flat, peak].filter((v) => v !== undefined).length
  if (chosen !== 1) {
    throw new UtilityUsageError(
      'give exactly one of --prices-file FILE, --flat WEI, --peak WEI --offpeak WEI',
    )
  }
  if (file !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'))
    } catch (cause) {
      throw new UtilityUsageError(`--prices-file ${file}: ${(cause as Error).message}`, { cause })
    }
    // Either a bare array or { "prices": [...] }, the shape `tariff` output and docs use.
    const list = Array.isArray(parsed) ? parsed : (parsed as { prices?: unknown } | null)?.prices
    return parsePrices(list, slots)
  }
  if (flat !== undefined) return new Array<bigint>(slots).fill(uint(flat, '--flat'))
  const high = uint(peak as string, '--peak')
  const low = uintFlag(flags, 'offpeak')
  const hours = flags.get('peak-hours') ?? '17-21'
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(hours)
  const from = Number(m?.[1])
  const to = Number(m?.[2])
  if (!m || from >= to || to > 24) {
    throw new UtilityUsageError(`--peak-hours must be H1-H2 with 0 <= H1 < H2 <= 24 (UTC), got ${hours}`)
  }
  const perHour = slots / 24
  return Array.from({ length: slots }, (_, i) => (i >= from * perHour && i < to * perHour ? high : low))
}

function profileOf(flags: Map<string, string>, fallback: 'test' | 'production') {
  const profile = flags.get('profile') ?? fallback
  if (!isProfileName(profile))
    throw new UtilityUsageError(`--profile must be test or production, got ${profile}`)
  return profile
}

function utilityKey(env: Env): string {
  const key = env.ZKMETER_UTILITY_KEY
  if (key === undefined || key === '') {
    throw new UtilityConfigError('set ZKMETER_UTILITY_KEY to the 0x private key of the utility account')
  }
  // The message must not echo the value: it may be a near-miss of the real key.
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UtilityConfigError('ZKMETER_UTILITY_KEY must be 0x followed by 64 hex digits')
  }
  return key
}

/** --asset: undefined when not given. */
function assetFlag(flags: Map<string, string>): 'eth' | `0x${string}` | undefined {
  if (!flags.has('asset')) return undefined
  try {
    return parseAssetChoice(required(flags, 'asset'))
  } catch (cause) {
    if (cause instanceof UtilityUsageError) throw cause
    throw new UtilityUsageError((cause as Error).message, { cause })
  }
}

/** The asset a choice is or would be once registered (assetId -1: not registered yet). */
async function candidateAsset(
  ledger: LedgerClient,
  provider: Provider,
  choice: 'eth' | `0x${string}`,
): Promise<AssetInfo> {
  if (choice === 'eth') return ETHER_ASSET
  const info = await inspectToken(provider, choice)
  return (await findAsset(ledger, info.token)) ?? { assetId: -1, ...info }
}

/** An asset as the outputs name it. */
function assetView(asset: AssetInfo) {
  return {
    assetId: asset.assetId,
    symbol: asset.symbol,
    decimals: asset.decimals,
    token: asset.token ?? null,
  }
}

/** An amount in the asset's unit, for people: "12.5 tUSD". */
function formatUnits(units: bigint, asset: Pick<AssetInfo, 'decimals' | 'symbol'>): string {
  return `${unitsToDecimal(units, asset.decimals)} ${asset.symbol}`
}

const json = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)

/** Runs one utility command; returns what to print. Errors are thrown (named ZkMeterError subclasses). */
export async function runUtility(
  argv: { positionals: readonly string[]; flags: Map<string, string> },
  env: Env = process.env,
): Promise<string> {
  const [command, ...extra] = argv.positionals
  const flags = argv.flags
  if (command === undefined || command === 'help' || flags.has('help')) return UTILITY_USAGE
  const allowed = COMMAND_FLAGS[command]
  if (allowed === undefined) {
    throw new UtilityUsageError(`unknown utility command ${JSON.stringify(command)}\n${UTILITY_USAGE}`)
  }
  if (extra.length > 0) throw new UtilityUsageError(`unexpected argument ${JSON.stringify(extra[0])}`)
  for (const name of flags.keys()) {
    if (!allowed.includes(name) && !CHAIN_FLAGS.includes(name)) {
      throw new UtilityUsageError(`unknown option --${name} for \`zkmeter utility ${command}\``)
    }
  }
  const profile = profileOf(flags, command === 'deploy' ? 'production' : 'test')
  const slots = PROFILES[profile].slots
  // Validate every argument before touching the key or the network: a typo fails fast and offline.
  let action: (ledger: LedgerClient, provider: Provider) => Promise<unknown>
  let policy: LedgerPolicy | undefined
  switch (command) {
    case 'deploy':
      policy = deploymentPolicy(profile, {
        minBillingDays: flags.get('min-billing-days'),
        tariffNoticeDays: flags.get('tariff-notice-days'),
      })
      action = async () => undefined
      break
    case 'register': {
      const meter = {
        meter: address(flags, 'meter'),
        household: address(flags, 'household'),
        areaId: Number(uintFlag(flags, 'area', 1n << 32n)),
        startTime: uintFlag(flags, 'start-time'),
        startCounter: uintFlag(flags, 'start-counter'),
      }
      const choice = assetFlag(flags)
      action = async (ledger, provider) => {
        let area: { asset: string; changed: boolean } | undefined
        if (choice !== undefined) {
          const { asset } = await resolveAsset(ledger, provider, choice, { register: true })
          const { changed } = await ensureAreaAsset(ledger, meter.areaId, asset)
          area = { asset: asset.symbol, changed }
        }
        const receipt = await ledger.registerMeter(meter)
        const { assetId } = await ledger.meter(meter.meter)
        const asset = await ledger.asset(assetId)
        return {
          ...meter,
          asset: assetView(asset),
          ...(area?.changed ? { areaAssetSet: true } : {}),
          transactionHash: receipt.hash,
          blockNumber: receipt.blockNumber,
        }
      }
      break
    }
    case 'tariff': {
      const effectiveFrom = uintFlag(flags, 'effective-from')
      const prices = await tariffPrices(flags, slots)
      // The ledger refuses a curve that breaks the tariff rules; say why before paying for a transaction.
      const violation = tariffViolation(prices, slots)
      if (violation !== undefined) {
        throw new UtilityUsageError(`the tariff breaks a privacy rule: ${explainViolation(violation, slots)}`)
      }
      const choice = assetFlag(flags) ?? 'eth'
      const areaId = flags.has('area') ? Number(uintFlag(flags, 'area', 1n << 32n)) : undefined
      action = async (ledger, provider) => {
        // Check the area before registering anything: a refused tariff leaves the ledger as it was.
        if (areaId !== undefined)
          await checkAreaAsset(ledger, areaId, await candidateAsset(ledger, provider, choice))
        const { asset, registered } = await resolveAsset(ledger, provider, choice, { register: true })
        const r = await ledger.publishTariff({
          effectiveFrom,
          prices,
          ...(asset.assetId === 0 ? {} : { assetId: asset.assetId }),
        })
        return {
          tariffId: r.tariffId,
          tariffHash: r.tariffHash,
          effectiveFrom,
          slots,
          asset: assetView(asset),
          ...(registered ? { assetRegistered: true } : {}),
          transactionHash: r.receipt.hash,
        }
      }
      break
    }
    case 'bills': {
      const meter = flags.has('meter') ? address(flags, 'meter') : undefined
      action = async (ledger) => {
        const bills = await ledger.bills(meter === undefined ? {} : { meter })
        const assets = await listAssets(ledger)
        const assetOf = new Map<bigint, number>()
        for (const b of bills) {
          // A ledger with no token registered bills only in Ether (and may predate tariffAsset()).
          if (!assetOf.has(b.tariffId))
            assetOf.set(b.tariffId, assets.length > 1 ? await ledger.tariffAsset(b.tariffId) : 0)
        }
        // Totals only: that is all the ledger holds about a household's consumption.
        const rows = bills.map((b) => ({
          billId: b.billId,
          meter: b.meter,
          household: b.household,
          areaId: b.areaId,
          periodStart: b.period.periodStart,
          periodEnd: b.period.periodEnd,
          energyWh: b.energyWh,
          total: b.total,
          assetId: assetOf.get(b.tariffId) ?? 0,
          symbol: assets.find((a) => a.assetId === assetOf.get(b.tariffId))?.symbol ?? 'ETH',
          tariffId: b.tariffId,
          paid: b.paid,
          blockNumber: b.blockNumber,
        }))
        const sum = (xs: typeof rows) => xs.reduce((s, b) => s + b.total, 0n)
        // Amounts of different assets never add up: total* are the Ether bills (wei), as before
        // tokens; each registered token has its own line in tokenTotals.
        const ether = rows.filter((b) => b.assetId === 0)
        const tokenTotals = assets.slice(1).map((a) => {
          const inToken = rows.filter((b) => b.assetId === a.assetId)
          return {
            ...assetView(a),
            billed: sum(inToken),
            paid: sum(inToken.filter((b) => b.paid)),
            unpaid: sum(inToken.filter((b) => !b.paid)),
          }
        })
        return {
          bills: rows,
          count: rows.length,
          totalBilled: sum(ether),
          totalPaid: sum(ether.filter((b) => b.paid)),
          totalUnpaid: sum(ether.filter((b) => !b.paid)),
          ...(tokenTotals.length > 0 ? { tokenTotals } : {}),
        }
      }
      break
    }
    case 'area-asset': {
      const areaId = Number(uintFlag(flags, 'area', 1n << 32n))
      const choice = assetFlag(flags)
      if (choice === undefined) throw new UtilityUsageError('--asset is required (eth or a token address)')
      action = async (ledger, provider) => {
        const { asset, registered } = await resolveAsset(ledger, provider, choice, { register: true })
        const { changed } = await ensureAreaAsset(ledger, areaId, asset)
        return { areaId, asset: assetView(asset), changed, ...(registered ? { assetRegistered: true } : {}) }
      }
      break
    }
    case 'assets':
    case 'balance':
      action = async (ledger) => {
        const balances = await assetBalances(ledger)
        const rows = balances.map((b) => ({
          ...assetView(b.asset),
          collected: b.collected,
          withdrawable: b.withdrawable,
          collectedText: formatUnits(b.collected, b.asset),
          withdrawableText: formatUnits(b.withdrawable, b.asset),
        }))
        // `withdrawable` alone stays Ether's wei, as before token tariffs.
        return { withdrawable: balances[0]?.withdrawable ?? 0n, assets: rows }
      }
      break
    case 'withdraw': {
      const to = address(flags, 'to')
      const choice = assetFlag(flags) ?? 'eth'
      action = async (ledger, provider) => {
        const { asset } = await resolveAsset(ledger, provider, choice, { register: false })
        const { amount, hash } = await withdrawAsset(ledger, asset, to)
        return {
          to,
          asset: assetView(asset),
          amount,
          amountText: formatUnits(amount, asset),
          transactionHash: hash,
        }
      }
      break
    }
    case 'notice': {
      const kindName = required(flags, 'kind')
      if (!Object.hasOwn(NOTICE_KINDS, kindName)) {
        throw new UtilityUsageError(
          `--kind must be one of ${Object.keys(NOTICE_KINDS).join(', ')}, got ${kindName}`,
        )
      }
      const startsAt = uintFlag(flags, 'starts')
      const endsAt = uintFlag(flags, 'ends')
      if (endsAt < startsAt) throw new UtilityUsageError('--ends must not be before --starts')
      const notice = {
        areaId: Number(uintFlag(flags, 'area', 1n << 32n)),
        kind: NOTICE_KINDS[kindName as keyof typeof NOTICE_KINDS],
        startsAt,
        endsAt,
        message: required(flags, 'message'),
      }
      action = async (ledger) => {
        const receipt = await ledger.publishNotice(notice)
        return { ...notice, kindName, transactionHash: receipt.hash }
      }
      break
    }
    case 'feed-in': {
      const tariffId = uintFlag(flags, 'tariff', 1n << 256n)
      if (tariffId === 0n) throw new UtilityUsageError('--tariff must be a published tariff id (1, 2, …)')
      const feedInPrices = await tariffPrices(flags, slots)
      try {
        checkFeedInRules(feedInPrices, slots)
      } catch (cause) {
        throw new UtilityUsageError((cause as Error).message, { cause })
      }
      action = async (ledger, provider) => {
        const r = await publishFeedInCurve(ledger, provider, tariffId, feedInPrices, slots)
        return {
          tariffId: r.tariffId,
          netTariffHash: r.netTariffHash,
          effectiveFrom: r.effectiveFrom,
          slots,
          asset: assetView(r.asset),
          transactionHash: r.transactionHash,
        }
      }
      break
    }
    case 'credits': {
      const meter = flags.has('meter') ? address(flags, 'meter') : undefined
      action = async (ledger) => {
        const credits = await carriedCredits(ledger, meter === undefined ? {} : { meter })
        // Per asset, never summed across assets: what the utility owes households in each.
        const totals = new Map<number, { asset: AssetInfo; owed: bigint }>()
        for (const c of credits) {
          const t = totals.get(c.asset.assetId) ?? { asset: c.asset, owed: 0n }
          t.owed += c.credit
          totals.set(c.asset.assetId, t)
        }
        return {
          credits: credits.map((c) => ({
            meter: c.meter,
            household: c.household,
            areaId: c.areaId,
            active: c.active,
            asset: assetView(c.asset),
            credit: c.credit,
            creditText: formatUnits(c.credit, c.asset),
          })),
          owed: [...totals.values()].map((t) => ({
            ...assetView(t.asset),
            owed: t.owed,
            owedText: formatUnits(t.owed, t.asset),
          })),
        }
      }
      break
    }
    case 'pay-credit': {
      const meter = address(flags, 'meter')
      const amount = flags.has('amount') ? uintFlag(flags, 'amount', 1n << 256n) : undefined
      if (amount === 0n)
        throw new UtilityUsageError('--amount must be at least 1 (or left out: the whole credit)')
      action = async (ledger) => {
        const r = await payCredit(ledger, meter, amount)
        return {
          meter: r.meter,
          household: r.household,
          asset: assetView(r.asset),
          amount: r.amount,
          amountText: formatUnits(r.amount, r.asset),
          creditLeft: r.balance,
          transactionHash: r.transactionHash,
        }
      }
      break
    }
    default:
      throw new UtilityUsageError(`unknown utility command ${JSON.stringify(command)}`)
  }

  const rpcUrl = flags.get('rpc-url') ?? env.RPC_URL
  if (rpcUrl === undefined) throw new UtilityConfigError('give --rpc-url URL or set RPC_URL')
  const ledgerAddress = command === 'deploy' ? undefined : (flags.get('ledger') ?? env.ZKMETER_LEDGER)
  if (command !== 'deploy') {
    if (ledgerAddress === undefined) throw new UtilityConfigError('give --ledger 0x.. or set ZKMETER_LEDGER')
    if (!ADDRESS.test(ledgerAddress)) {
      throw new UtilityUsageError(`--ledger must be a 0x address of 40 hex digits, got ${ledgerAddress}`)
    }
  }
  const fromBlock = flags.has('from-block') ? Number(uintFlag(flags, 'from-block', 1n << 53n)) : 0
  const key = utilityKey(env)

  const artifacts = await compileLedger(profile)
  const provider = await jsonRpcProvider(rpcUrl)
  try {
    const wallet = new Wallet(key, provider)
    if (command === 'deploy') {
      // Same deployment as `npm run deploy:contracts` (contracts/ts/deploy-cli.ts), same output.
      const { n, slots: s } = PROFILES[profile]
      const ledger = await deployLedger(wallet, artifacts, { slots: s, maxIntervals: n, ...policy })
      return json({
        chainId: (await provider.getNetwork()).chainId,
        profile,
        ledger: ledger.address,
        verifier: await ledger.contract.getFunction('verifier')(),
        batchVerifier: await ledger.contract.getFunction('batchVerifier')(),
        fromBlock: ledger.fromBlock,
        utility: wallet.address,
        slots: s,
        maxIntervals: n,
        ...policy,
      })
    }
    const ledger = connectLedger(ledgerAddress as string, wallet, artifacts.ledger.abi, fromBlock)
    try {
      return json(await action(ledger, provider))
    } catch (error) {
      // Reads (calls) surface raw ethers errors; decode so a revert is named like a send's.
      throw ledger.decodeError(error)
    }
  } finally {
    provider.destroy()
  }
}
