/**
 * Paying a bill from a browser wallet over EIP-1193: connect, make sure the wallet is on the
 * node's chain (switch, or add it on error 4902), send payBill(chainBillId) with value = total,
 * then poll for the receipt. Every failure becomes a PaymentError whose message tells the
 * resident what happened and what to do.
 */
import type { ChainInfo } from '#protocol/api/types.ts'
import {
  encodeAddressCall,
  encodeApprove,
  encodePayBill,
  encodePayBillWithPermit,
  encodePayBillWithToken,
} from './abi.ts'
import type { Eip1193Provider } from './eip6963.ts'
import { formatAmount, formatEth, toHexQuantity } from './format.ts'

/** What a wallet needs to pay a bill: the contract's GET /api/chain answer. */
export type { ChainInfo }

export type PaymentErrorKind =
  | 'rejected'
  | 'wrong-network'
  | 'insufficient-funds'
  | 'reverted'
  | 'no-account'
  | 'timeout'
  | 'wallet'

export class PaymentError extends Error {
  override name = 'PaymentError'
  readonly kind: PaymentErrorKind
  constructor(kind: PaymentErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
  }
}

export interface Receipt {
  transactionHash: string
  blockNumber: string
  status: string
  gasUsed: string
  from: string
  to: string
}

interface RpcError {
  code?: number
  message?: string
  data?: unknown
}

function rpcError(error: unknown): RpcError {
  if (typeof error !== 'object' || error === null) return { message: String(error) }
  const e = error as RpcError & { error?: RpcError; cause?: unknown }
  // Wallets nest the JSON-RPC error differently; take the innermost code that exists.
  if (e.code === undefined && e.error) return rpcError(e.error)
  return e
}

/** Turns a wallet error into a PaymentError with a message a resident can act on. */
export function classifyWalletError(error: unknown, what: string): PaymentError {
  if (error instanceof PaymentError) return error
  const { code, message = '' } = rpcError(error)
  if (code === 4001 || /user (rejected|denied)/i.test(message)) {
    return new PaymentError(
      'rejected',
      `You declined ${what} in your wallet. Nothing was sent; press Pay to try again.`,
      {
        cause: error,
      },
    )
  }
  if (/insufficient funds/i.test(message)) {
    return new PaymentError(
      'insufficient-funds',
      'Your account does not hold enough ETH for this bill plus gas. Add funds or choose another account, then pay again.',
      { cause: error },
    )
  }
  if (/revert/i.test(message)) {
    return new PaymentError(
      'reverted',
      `The ledger refused the payment (${message}). Reload the bill: it may already be paid.`,
      {
        cause: error,
      },
    )
  }
  return new PaymentError('wallet', `The wallet could not complete ${what}: ${message || 'unknown error'}.`, {
    cause: error,
  })
}

async function call<T>(
  provider: Eip1193Provider,
  method: string,
  params: unknown[],
  what: string,
): Promise<T> {
  try {
    return (await provider.request({ method, params })) as T
  } catch (error) {
    throw classifyWalletError(error, what)
  }
}

/** Asks for account access; returns the first account. */
export async function connect(provider: Eip1193Provider): Promise<string> {
  const accounts = await call<string[]>(provider, 'eth_requestAccounts', [], 'the connection request')
  const account = accounts?.[0]
  if (!account)
    throw new PaymentError(
      'no-account',
      'The wallet shared no account. Unlock it or create an account, then connect again.',
    )
  return account
}

export function sameChain(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b)
  } catch {
    return false
  }
}

/**
 * Ensures the wallet is on `chain`: switches, and if the wallet does not know the chain (4902)
 * adds it with the node's RPC URL. Refusing either is reported as the wrong network.
 */
export async function ensureChain(provider: Eip1193Provider, chain: ChainInfo): Promise<void> {
  const current = await call<string>(provider, 'eth_chainId', [], 'reading the network')
  if (sameChain(current, chain.chainIdHex)) return
  try {
    await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: chain.chainIdHex }] })
  } catch (error) {
    const { code } = rpcError(error)
    if (code === 4902) {
      try {
        await provider.request({
          method: 'wallet_addEthereumChain',
          params: [
            {
              chainId: chain.chainIdHex,
              chainName: chain.chainName,
              rpcUrls: [chain.rpcUrl],
              nativeCurrency: chain.nativeCurrency,
            },
          ],
        })
      } catch (addError) {
        throw wrongNetwork(current, chain, addError)
      }
    } else {
      throw wrongNetwork(current, chain, error)
    }
  }
  const after = await call<string>(provider, 'eth_chainId', [], 'reading the network')
  if (!sameChain(after, chain.chainIdHex)) throw wrongNetwork(after, chain)
}

function wrongNetwork(current: string, chain: ChainInfo, cause?: unknown): PaymentError {
  return new PaymentError(
    'wrong-network',
    `Your wallet is on chain ${BigInt(current).toString()}, but bills are paid on ${chain.chainName} (chain ${chain.chainId}). Switch your wallet to it (RPC ${chain.rpcUrl}) and pay again.`,
    { cause },
  )
}

export interface PayRequest {
  chainBillId: string
  total: string
}

/** Sends payBill; checks the balance first so "insufficient funds" is said before the wallet prompt. */
export async function sendPayment(
  provider: Eip1193Provider,
  chain: ChainInfo,
  from: string,
  bill: PayRequest,
): Promise<string> {
  const value = BigInt(bill.total)
  const balance = await call<string>(
    provider,
    'eth_getBalance',
    [from, 'latest'],
    'reading your balance',
  ).catch(() => undefined)
  if (balance !== undefined && BigInt(balance) < value) {
    throw new PaymentError(
      'insufficient-funds',
      `Your account ${from} holds ${formatEth(BigInt(balance))}, less than the bill's ${formatEth(value)}. Add funds or choose another account.`,
    )
  }
  const tx = { from, to: chain.ledger, data: encodePayBill(bill.chainBillId), value: toHexQuantity(value) }
  return call<string>(provider, 'eth_sendTransaction', [tx], 'the payment')
}

/** A uint256 answer of eth_call (0x + 64 hex), as bigint. */
async function callUint(provider: Eip1193Provider, to: string, data: string, what: string): Promise<bigint> {
  const answer = await call<string>(provider, 'eth_call', [{ to, data }, 'latest'], what)
  if (typeof answer !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(answer)) {
    throw new PaymentError(
      'wallet',
      `The chain answered ${what} with ${JSON.stringify(answer)}, not a number.`,
    )
  }
  return BigInt(answer)
}

/** Wallet answers meaning "I cannot sign typed data" (not "the resident declined"). */
function signingUnsupported(error: unknown): boolean {
  const { code, message = '' } = rpcError(error)
  return (
    code === 4200 ||
    code === -32601 ||
    /not (supported|implemented)|unsupported|does not exist/i.test(message)
  )
}

/**
 * Pays a token bill (GET /api/chain `asset` is a token). With a token that has EIP-2612 permits
 * (`tokenPermit`), the wallet signs the permit for the bill's total as typed data
 * (eth_signTypedData_v4, no transaction) and one transaction pays: `payBillWithPermit`. Without
 * permits, or a wallet that cannot sign typed data, it approves the ledger (unless the allowance is
 * there already) and pays with `payBillWithToken`. The token balance is checked first, so "not
 * enough" is said before any prompt. `onStep` tells the resident which confirmation comes next.
 */
export async function sendTokenPayment(
  provider: Eip1193Provider,
  chain: ChainInfo,
  from: string,
  bill: PayRequest,
  onStep: (step: string) => void = () => {},
): Promise<string> {
  const asset = chain.asset
  const token = asset?.token
  if (!asset || !token) throw new PaymentError('wallet', 'This bill is in Ether; pay it with payBill.')
  const total = BigInt(bill.total)
  const balance = await callUint(
    provider,
    token,
    encodeAddressCall('balanceOf(address)', from),
    'your token balance',
  )
  if (balance < total) {
    throw new PaymentError(
      'insufficient-funds',
      `Your account ${from} holds ${formatAmount(balance, asset)}, less than the bill's ${formatAmount(total, asset)}. Add ${asset.symbol} or choose another account.`,
    )
  }
  if (chain.tokenPermit) {
    const nonce = await callUint(
      provider,
      token,
      encodeAddressCall('nonces(address)', from),
      'your permit nonce',
    )
    const block = await call<{ timestamp: string } | null>(
      provider,
      'eth_getBlockByNumber',
      ['latest', false],
      'reading the latest block',
    )
    // An hour from the chain's own clock (the dev chain's runs years behind the wall clock).
    const deadline = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000)) + 3600n
    const typedData = {
      types: {
        EIP712Domain: [
          { name: 'name', type: 'string' },
          { name: 'version', type: 'string' },
          { name: 'chainId', type: 'uint256' },
          { name: 'verifyingContract', type: 'address' },
        ],
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      domain: {
        name: chain.tokenPermit.name,
        version: chain.tokenPermit.version,
        chainId: Number(chain.chainId),
        verifyingContract: token,
      },
      message: {
        owner: from,
        spender: chain.ledger,
        value: total.toString(),
        nonce: nonce.toString(),
        deadline: deadline.toString(),
      },
    }
    onStep(`Sign the permit for ${formatAmount(total, asset)} in your wallet (a signature, no transaction)…`)
    let signature: string | undefined
    try {
      signature = (await provider.request({
        method: 'eth_signTypedData_v4',
        params: [from, JSON.stringify(typedData)],
      })) as string
    } catch (error) {
      if (!signingUnsupported(error)) throw classifyWalletError(error, 'the permit')
    }
    if (signature !== undefined) {
      onStep('Confirm the payment in your wallet…')
      const data = encodePayBillWithPermit(bill.chainBillId, deadline, signature)
      return call<string>(provider, 'eth_sendTransaction', [{ from, to: chain.ledger, data }], 'the payment')
    }
  }
  const allowance = await callUint(
    provider,
    token,
    encodeAddressCall('allowance(address,address)', from, chain.ledger),
    'the ledger allowance',
  )
  if (allowance < total) {
    onStep(`Approve the ledger to take ${formatAmount(total, asset)} in your wallet…`)
    const approveTx = await call<string>(
      provider,
      'eth_sendTransaction',
      [{ from, to: token, data: encodeApprove(chain.ledger, total) }],
      'the approval',
    )
    await waitForReceipt(provider, approveTx)
  }
  onStep('Confirm the payment in your wallet…')
  return call<string>(
    provider,
    'eth_sendTransaction',
    [{ from, to: chain.ledger, data: encodePayBillWithToken(bill.chainBillId) }],
    'the payment',
  )
}

export interface WaitOptions {
  intervalMs?: number
  timeoutMs?: number
  signal?: AbortSignal
}

/** Polls eth_getTransactionReceipt; a receipt with status 0x0 is a reverted payment. */
export async function waitForReceipt(
  provider: Eip1193Provider,
  txHash: string,
  options: WaitOptions = {},
): Promise<Receipt> {
  const { intervalMs = 1000, timeoutMs = 180_000, signal } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    signal?.throwIfAborted()
    const receipt = await call<Receipt | null>(
      provider,
      'eth_getTransactionReceipt',
      [txHash],
      'reading the receipt',
    )
    if (receipt) {
      if (BigInt(receipt.status) !== 1n) {
        throw new PaymentError(
          'reverted',
          `The payment transaction ${txHash} was mined but reverted: no ETH was taken except gas. Reload the bill (it may be paid already) and try again.`,
        )
      }
      return receipt
    }
    if (Date.now() > deadline) {
      throw new PaymentError(
        'timeout',
        `No receipt for ${txHash} after ${Math.round(timeoutMs / 1000)} s. Check the transaction in your wallet before paying again.`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** One bill's outcome in a payment of several. */
export interface PayOutcome<T> {
  item: T
  state: 'waiting' | 'paying' | 'paid' | 'failed' | 'skipped'
  txHash?: string
  message?: string
}

/** Failures that would refuse every later bill too: the run stops there instead of asking again. */
const STOPS_THE_RUN: readonly PaymentErrorKind[] = [
  'rejected',
  'wrong-network',
  'insufficient-funds',
  'no-account',
]

/**
 * Pays several bills one after another (the ledger has one payBill per bill): `payOne` pays one
 * and returns its transaction hash. `onProgress` gets every outcome after each change, for a
 * progress list. A bill that fails (reverted: paid meanwhile, say) does not stop the others; a
 * refusal that would repeat for each (declined in the wallet, wrong network, not enough ETH)
 * stops the run, and the bills not tried are marked skipped with the reason.
 */
export async function payInTurn<T>(
  items: readonly T[],
  payOne: (item: T) => Promise<string>,
  onProgress: (outcomes: PayOutcome<T>[]) => void,
): Promise<PayOutcome<T>[]> {
  const outcomes: PayOutcome<T>[] = items.map((item) => ({ item, state: 'waiting' }))
  const report = () => onProgress(outcomes.map((o) => ({ ...o })))
  report()
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i] as PayOutcome<T>
    outcome.state = 'paying'
    report()
    try {
      outcome.txHash = await payOne(outcome.item)
      outcome.state = 'paid'
    } catch (error) {
      outcome.state = 'failed'
      outcome.message = error instanceof Error ? error.message : String(error)
      if (error instanceof PaymentError && STOPS_THE_RUN.includes(error.kind)) {
        for (const rest of outcomes.slice(i + 1)) {
          rest.state = 'skipped'
          rest.message = 'Not tried: the payment before it was refused for a reason that applies to it too.'
        }
        report()
        break
      }
    }
    report()
  }
  return outcomes
}

/** Checks the account holds `total` (several bills at once) before any wallet prompt. */
export async function checkBalance(
  provider: Eip1193Provider,
  from: string,
  total: bigint,
  what: string,
): Promise<void> {
  const balance = await call<string>(
    provider,
    'eth_getBalance',
    [from, 'latest'],
    'reading your balance',
  ).catch(() => undefined)
  if (balance !== undefined && BigInt(balance) < total) {
    throw new PaymentError(
      'insufficient-funds',
      `Your account ${from} holds ${formatEth(BigInt(balance))}, less than ${what} (${formatEth(total)}). Add funds, choose another account, or select fewer bills.`,
    )
  }
}
