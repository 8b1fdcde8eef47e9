/**
 * The money a utility prices its tariffs in, as the `zkmeter utility` CLI and the utility console
 * (POST /api/utility/…) both choose it: Ether, or an ERC-20 token given by its address. A token is
 * read before anything is sent: its decimals and symbol are what every amount of a bill in it is
 * shown with, so a token without them, or an address that is no token at all, is refused here with
 * words a person can act on, not left to a revert (the ledger takes a token without decimals() at
 * the utility's word, docs/contracts.md "Token tariffs").
 */
import { Contract, type Provider } from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'
import {
  type AssetInfo,
  type BillRecord,
  ERC20_PERMIT_ABI,
  ETHER_ASSET,
} from '../../../contracts/ts/ledger.ts'

/** The address given is no ERC-20 token (an account, or a contract that does not answer as one). */
export class NotATokenError extends InvalidInputError {
  override name = 'NotATokenError'
}

/** The token has no usable decimals() or symbol(): its amounts would have no unit to show. */
export class TokenMetadataError extends InvalidInputError {
  override name = 'TokenMetadataError'
}

/** The area's bills are in another asset, fixed on the ledger since its first meter. */
export class AreaAssetMismatchError extends InvalidInputError {
  override name = 'AreaAssetMismatchError'
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
/** A symbol a person can read in a bill: printable, short (ERC-20 does not bound it). */
const SYMBOL = /^[\p{L}\p{N}$€£¥.\-_ ]{1,16}$/u
/** Beyond 36 decimals a price per Wh below 2^64 cannot reach a cent a kWh: no real money has them. */
const MAX_DECIMALS = 36

/** A token as read from its contract, before or after it is registered on the ledger. */
export interface TokenInfo {
  token: `0x${string}`
  decimals: number
  symbol: string
}

/** The ledger reads asset handling needs (LedgerClient fits; so does the routes' ledger). */
export interface AssetReads {
  assetCount(): Promise<number>
  asset(assetId: number): Promise<AssetInfo>
  areaAsset(areaId: number): Promise<{ assetId: number; fixed: boolean }>
  tariffAsset(tariffId: bigint): Promise<number>
  withdrawable(): Promise<bigint>
  tokenWithdrawable(assetId: number): Promise<bigint>
  bills(): Promise<Pick<BillRecord, 'paid' | 'total' | 'tariffId'>[]>
}

/** …and the utility's transactions on assets. */
export interface AssetLedger extends AssetReads {
  registerAsset(token: string, decimals: number): Promise<{ assetId: number }>
  setAreaAsset(areaId: number, assetId: number): Promise<unknown>
  withdraw(to: string): Promise<{ hash: string }>
  withdrawToken(assetId: number, to: string): Promise<{ hash: string }>
}

/** "eth" (or "ether") for Ether, else a token's 0x address; anything else is refused. */
export function parseAssetChoice(value: unknown, what = '--asset'): 'eth' | `0x${string}` {
  if (typeof value !== 'string') throw new InvalidInputError(`${what} must be "eth" or a token's 0x address`)
  const v = value.trim()
  if (v.toLowerCase() === 'eth' || v.toLowerCase() === 'ether') return 'eth'
  if (!ADDRESS.test(v)) {
    throw new InvalidInputError(
      `${what} must be "eth" or a token contract's address (0x and 40 hex digits), got ${JSON.stringify(v.slice(0, 60))}`,
    )
  }
  return v as `0x${string}`
}

async function staticCall(contract: Contract, fn: string, ...args: unknown[]): Promise<unknown> {
  return contract.getFunction(fn).staticCall(...args)
}

/**
 * Reads and checks a token: it has code, answers balanceOf() as an ERC-20 does,
 * and has decimals() (≤ 36) and a readable symbol().
 */
export async function inspectToken(provider: Provider, address: string): Promise<TokenInfo> {
  if (!ADDRESS.test(address)) {
    throw new NotATokenError(
      `a token is given by its 0x address of 40 hex digits, got ${JSON.stringify(address)}`,
    )
  }
  const code = await provider.getCode(address)
  if (code === '0x' || code === '') {
    throw new NotATokenError(
      `${address} has no contract code on this chain: it is an account, not an ERC-20 token (check the address and the chain)`,
    )
  }
  const erc20 = new Contract(address, ERC20_PERMIT_ABI, provider)
  try {
    // balanceOf is what the ledger reads to know what it can withdraw (tokenWithdrawable).
    await staticCall(erc20, 'balanceOf', address)
  } catch (cause) {
    throw new NotATokenError(
      `${address} is a contract but not an ERC-20 token: it does not answer balanceOf()`,
      { cause },
    )
  }
  let decimals: number
  try {
    decimals = Number(await staticCall(erc20, 'decimals'))
  } catch (cause) {
    throw new TokenMetadataError(
      `token ${address} has no decimals(): its amounts have no known unit, so bills in it could not be shown; use a token that declares its decimals`,
      { cause },
    )
  }
  if (!Number.isInteger(decimals) || decimals > MAX_DECIMALS) {
    throw new TokenMetadataError(
      `token ${address} reports ${decimals} decimals; at most ${MAX_DECIMALS} are supported`,
    )
  }
  let symbol: string
  try {
    symbol = String(await staticCall(erc20, 'symbol'))
  } catch (cause) {
    throw new TokenMetadataError(
      `token ${address} has no symbol(): bills in it would have no unit to show; use a token that declares its symbol`,
      { cause },
    )
  }
  if (!SYMBOL.test(symbol)) {
    throw new TokenMetadataError(
      `token ${address}'s symbol ${JSON.stringify(symbol.slice(0, 40))} is not 1 to 16 letters, digits or currency signs`,
    )
  }
  return { token: address as `0x${string}`, decimals, symbol }
}

/** The registered asset of `token`, if it is one (assets are few: a linear walk). */
export async function findAsset(ledger: AssetReads, token: string): Promise<AssetInfo | undefined> {
  const count = await ledger.assetCount()
  for (let id = 1; id <= count; id++) {
    const asset = await ledger.asset(id)
    if (asset.token?.toLowerCase() === token.toLowerCase()) return asset
  }
  return undefined
}

/** Every asset the ledger knows: Ether, then the registered tokens. */
export async function listAssets(ledger: AssetReads): Promise<AssetInfo[]> {
  const count = await ledger.assetCount()
  const out = [ETHER_ASSET]
  for (let id = 1; id <= count; id++) out.push(await ledger.asset(id))
  return out
}

/**
 * The asset for a choice of Ether or a token address. A token is inspected first; one the ledger
 * does not know yet is registered (with the decimals it reports) when `register` is set, so one
 * command publishes a tariff in a new token. `registered` says whether this call registered it.
 */
export async function resolveAsset(
  ledger: AssetLedger,
  provider: Provider | (() => Provider),
  choice: 'eth' | `0x${string}`,
  options: { register: boolean },
): Promise<{ asset: AssetInfo; registered: boolean }> {
  if (choice === 'eth') return { asset: ETHER_ASSET, registered: false }
  // Read only for a token: Ether needs no chain read.
  const info = await inspectToken(typeof provider === 'function' ? provider() : provider, choice)
  const known = await findAsset(ledger, info.token)
  if (known !== undefined) return { asset: known, registered: false }
  if (!options.register) {
    throw new InvalidInputError(
      `token ${info.token} (${info.symbol}) is not registered on the ledger: publish a tariff in it first`,
    )
  }
  const { assetId } = await ledger.registerAsset(info.token, info.decimals)
  return { asset: await ledger.asset(assetId), registered: true }
}

export const assetName = (asset: Pick<AssetInfo, 'assetId' | 'symbol' | 'token'>): string =>
  asset.assetId === 0 ? 'ETH' : `${asset.symbol} (${asset.token})`

/**
 * Refuses a tariff or meter in `asset` for an area whose bills are fixed in another asset: the
 * ledger fixes an area's asset at its first meter, and a tariff in another asset would never apply
 * to its meters (their bills would fail with AssetMismatch).
 */
export async function checkAreaAsset(ledger: AssetReads, areaId: number, asset: AssetInfo): Promise<void> {
  const area = await ledger.areaAsset(areaId)
  if (area.assetId === asset.assetId) return
  const current = assetName(await ledger.asset(area.assetId))
  if (area.fixed) {
    throw new AreaAssetMismatchError(
      `area ${areaId} bills in ${current}, fixed on the ledger since its first meter: a tariff or meter in ${assetName(asset)} would not apply to it`,
    )
  }
  throw new AreaAssetMismatchError(
    `area ${areaId} bills in ${current}: set its asset first (it can change until its first meter is registered)`,
  )
}

/**
 * Sets an area's asset before its first meter, or confirms it is already that asset; refuses an
 * area whose asset is fixed (it has meters) in another asset.
 */
export async function ensureAreaAsset(
  ledger: AssetLedger,
  areaId: number,
  asset: AssetInfo,
): Promise<{ changed: boolean }> {
  const area = await ledger.areaAsset(areaId)
  if (area.assetId === asset.assetId) return { changed: false }
  if (area.fixed) await checkAreaAsset(ledger, areaId, asset) // throws, naming both assets
  await ledger.setAreaAsset(areaId, asset.assetId)
  return { changed: true }
}

/** One asset's money at the ledger: what was paid in it and what is waiting to be withdrawn. */
export interface AssetBalance {
  asset: AssetInfo
  /** Every paid bill's total in this asset, smallest units (withdrawn or not). */
  collected: bigint
  /** Paid and not withdrawn yet (for a token: the ledger's balance of it). */
  withdrawable: bigint
}

/** Collected and withdrawable per asset, Ether first. */
export async function assetBalances(ledger: AssetReads): Promise<AssetBalance[]> {
  const assets = await listAssets(ledger)
  const bills = await ledger.bills()
  const tariffAssets = new Map<bigint, number>()
  const collected = new Map<number, bigint>()
  for (const bill of bills) {
    if (!bill.paid) continue
    let assetId = tariffAssets.get(bill.tariffId)
    if (assetId === undefined) {
      // Ledgers before token tariffs have no tariffAsset(): every bill there is in Ether.
      assetId = assets.length > 1 ? await ledger.tariffAsset(bill.tariffId) : 0
      tariffAssets.set(bill.tariffId, assetId)
    }
    collected.set(assetId, (collected.get(assetId) ?? 0n) + bill.total)
  }
  return Promise.all(
    assets.map(async (asset) => ({
      asset,
      collected: collected.get(asset.assetId) ?? 0n,
      withdrawable:
        asset.assetId === 0 ? await ledger.withdrawable() : await ledger.tokenWithdrawable(asset.assetId),
    })),
  )
}

/** Withdraws everything paid in `asset` to `to`; returns the amount and the receipt. */
export async function withdrawAsset(
  ledger: Pick<AssetLedger, 'withdraw' | 'withdrawToken' | 'withdrawable' | 'tokenWithdrawable'>,
  asset: AssetInfo,
  to: string,
): Promise<{ amount: bigint; hash: string }> {
  if (asset.assetId === 0) {
    const amount = await ledger.withdrawable()
    const receipt = await ledger.withdraw(to)
    return { amount, hash: receipt.hash }
  }
  const amount = await ledger.tokenWithdrawable(asset.assetId)
  const receipt = await ledger.withdrawToken(asset.assetId, to)
  return { amount, hash: receipt.hash }
}
