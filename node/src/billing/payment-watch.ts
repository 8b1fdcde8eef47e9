/**
 * Paid bills, from the ledger's BillPaid event: the truth whoever paid. A browser wallet pays from
 * any account and the node only learns of it on the chain, so the receipt (the paying transaction)
 * and the payer are read from that event, never assumed: the household's address and the bill's
 * submission transaction were once recorded instead, and the wallet's correct receipt then vanished
 * on reload. Bills recorded that way are corrected once from the event.
 */
import type { LedgerClient, Payment } from '../../../contracts/ts/ledger.ts'
import type { Logger } from '../log/logger.ts'
import type { Biller } from './biller.ts'
import type { BillRecord, BillStore } from './store.ts'

/** What the watch reads from the ledger (LedgerClient fits). */
export interface PaymentLedger {
  billStatus(billId: string): Promise<{ paid: boolean }>
  payment(billId: string): Promise<Payment | undefined>
  /** The block's timestamp (unix s), for the receipt's time; absent: the receipt has no time. */
  blockTime?(blockNumber: number): Promise<number | undefined>
}

/** The ledger's reads the watch needs, with the paying block's time from its provider. */
export function paymentLedger(ledger: LedgerClient): PaymentLedger {
  const provider = ledger.contract.runner?.provider
  return {
    billStatus: (id) => ledger.billStatus(id),
    payment: (id) => ledger.payment(id),
    blockTime: async (n) => {
      const block = await provider?.getBlock(n)
      return block ? Number(block.timestamp) : undefined
    },
  }
}

export interface PaymentWatch {
  /** One pass over the bills: marks newly paid ones, corrects wrongly recorded ones. */
  check(): Promise<void>
}

/** A paid bill whose receipt is missing or is its own submission: recorded before the event was read. */
function receiptSuspect(bill: BillRecord): boolean {
  return (
    bill.status === 'paid' &&
    // Covered by export credit: the ledger recorded it paid, no one paid it, there is no receipt.
    bill.amountDue !== '0' &&
    bill.chainBillId !== undefined &&
    (bill.paidTx === undefined ||
      bill.paidTx === '0x' ||
      bill.paidBy === undefined ||
      bill.paidTx.toLowerCase() === bill.submitTx?.toLowerCase())
  )
}

/** A paid bill recorded before receipts kept their block and time (or paid by the dev route). */
function receiptIncomplete(bill: BillRecord): boolean {
  return (
    bill.status === 'paid' &&
    bill.amountDue !== '0' &&
    bill.chainBillId !== undefined &&
    bill.paidBlock === undefined
  )
}

export function createPaymentWatch(options: {
  bills: Pick<BillStore, 'list'>
  biller: Pick<Biller, 'markPaid'>
  ledger: PaymentLedger
  log: Logger
}): PaymentWatch {
  const { bills, biller, ledger } = options
  // A suspect bill is looked up once per run of the node: a ledger without its event keeps it as is.
  const corrected = new Set<string>()
  let pass: Promise<void> | undefined

  async function record(bill: BillRecord & { chainBillId: `0x${string}` }): Promise<void> {
    const payment = await ledger.payment(bill.chainBillId)
    // Paid per the bill's slot but the event not yet visible to this provider: the next pass.
    if (payment === undefined) return
    const paidAt = await ledger.blockTime?.(payment.blockNumber)
    await biller.markPaid(bill.chainBillId, payment.transactionHash, payment.payer, {
      paidBlock: payment.blockNumber,
      paidAmount: payment.amount.toString(),
      ...(paidAt === undefined ? {} : { paidAt }),
    })
  }

  async function once(): Promise<void> {
    for (const bill of bills.list()) {
      if (!bill.chainBillId) continue
      const onChain = bill as BillRecord & { chainBillId: `0x${string}` }
      if (bill.status === 'verified') {
        if ((await ledger.billStatus(bill.chainBillId)).paid) await record(onChain)
      } else if ((receiptSuspect(bill) || receiptIncomplete(bill)) && !corrected.has(bill.id)) {
        corrected.add(bill.id)
        if (receiptSuspect(bill))
          options.log.info('correcting a payment recorded without its BillPaid event', { bill: bill.id })
        await record(onChain)
      }
    }
  }

  return {
    // Passes do not overlap: a slow chain makes the interval's next pass wait for this one.
    check() {
      pass ??= once().finally(() => {
        pass = undefined
      })
      return pass
    },
  }
}
