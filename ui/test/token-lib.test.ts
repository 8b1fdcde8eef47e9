/**
 * The browser's token payment helpers (issue 17): amounts in a token's own decimals and symbol, and
 * the hand-encoded calldata of the ledger's token pay functions and ERC-20 calls, checked against
 * ethers' ABI encoder.
 */
import { Interface, Signature, Wallet } from 'ethers'
import { describe, expect, it } from 'vitest'
import { isDue, nothingToPayBelow } from '#protocol/money.ts'
import {
  encodeAddressCall,
  encodeApprove,
  encodePayBillWithPermit,
  encodePayBillWithToken,
} from '../src/lib/abi.ts'
import { formatAmount } from '../src/lib/format.ts'

const TUSD = { assetId: 1, symbol: 'tUSD', decimals: 6 }
const LEDGER = new Interface([
  'function payBillWithPermit(bytes32 billId, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
  'function payBillWithToken(bytes32 billId)',
  'function approve(address spender, uint256 amount)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function nonces(address owner) view returns (uint256)',
])
const BILL = `0x${'ab'.repeat(32)}`
const A = '0x1111111111111111111111111111111111111111'
const B = '0x2222222222222222222222222222222222222222'

describe('token amounts', () => {
  it('formats in the token’s decimals and symbol, Ether as before', () => {
    expect(formatAmount('12345678', TUSD)).toBe('12.345678 tUSD')
    expect(formatAmount('1234000000', TUSD)).toBe('1,234 tUSD')
    expect(formatAmount(0n, TUSD)).toBe('0 tUSD')
    expect(formatAmount('1234567', TUSD, 2)).toBe('1.23 tUSD')
    expect(formatAmount('1', TUSD, 2)).toBe('< 0.01 tUSD')
    expect(formatAmount('10234000000000000', null)).toBe('0.010234 ETH')
    expect(formatAmount('bad', TUSD)).toBe('—')
  })

  it('calls a token bill of a few units of tUSD due (the wei threshold would call it nothing)', () => {
    expect(nothingToPayBelow(TUSD)).toBe(100n)
    expect(isDue({ status: 'verified', total: '2500000', asset: TUSD })).toBe(true)
    expect(isDue({ status: 'verified', total: '99', asset: TUSD })).toBe(false)
    expect(isDue({ status: 'verified', total: '2500000' })).toBe(false)
  })
})

describe('token calldata', () => {
  it('matches ethers’ encoding', async () => {
    const signature = await new Wallet(`0x${'01'.repeat(32)}`).signMessage('permit')
    const sig = Signature.from(signature)
    expect(encodePayBillWithPermit(BILL, 1234n, signature)).toBe(
      LEDGER.encodeFunctionData('payBillWithPermit', [BILL, 1234n, sig.v, sig.r, sig.s]),
    )
    expect(encodePayBillWithToken(BILL)).toBe(LEDGER.encodeFunctionData('payBillWithToken', [BILL]))
    expect(encodeApprove(A, 10n ** 6n)).toBe(LEDGER.encodeFunctionData('approve', [A, 10n ** 6n]))
    expect(encodeAddressCall('allowance(address,address)', A, B)).toBe(
      LEDGER.encodeFunctionData('allowance', [A, B]),
    )
    expect(encodeAddressCall('nonces(address)', A)).toBe(LEDGER.encodeFunctionData('nonces', [A]))
    expect(() => encodePayBillWithPermit(BILL, 1n, '0x1234')).toThrow(/65 bytes/)
  })
})
