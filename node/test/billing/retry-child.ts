/**
 * A billing process for crash-retry.test.ts: the real biller, bill store, circuit prover and ledger
 * (over JSON-RPC, so the chain outlives this process), killed with SIGKILL by the test. Prints one
 * JSON line per event on stdout. With `hangAfterSubmit`, it stops right after a submission is mined
 * and before the bill's `verified` state is saved — the narrowest crash window, held open for the
 * kill.
 *
 *   node retry-child.ts '{"rpcUrl":…,"ledger":…,"dataDir":…,"meter":…,"mode":"add|retry|resume",…}'
 */
import { Wallet } from 'ethers'
import { meterKey } from '../../../contracts/test/env.ts'
import { devAccount, jsonRpcProvider } from '../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { connectLedger } from '../../../contracts/ts/ledger.ts'
import { type BillingChain, createBiller } from '../../src/billing/biller.ts'
import { isTransientChainError, ledgerBillingChain } from '../../src/billing/ledger-chain.ts'
import { circuitProver } from '../../src/billing/prover/prover.ts'
import { openBillStore } from '../../src/billing/store.ts'
import { createLogger } from '../../src/log/logger.ts'
import { inputsOf, twoPeriods } from './fixtures.ts'

interface Args {
  rpcUrl: string
  ledger: string
  dataDir: string
  meter: string
  mode: 'add' | 'retry' | 'resume'
  billId?: string
  maxAttempts?: number
  hangAfterSubmit?: boolean
}

const args = JSON.parse(process.argv[2] as string) as Args
const out = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`)

const provider = await jsonRpcProvider(args.rpcUrl)
provider.pollingInterval = 50
const wallet = new Wallet(devAccount(1).privateKey, provider)
const ledger = connectLedger(args.ledger, wallet, (await compileLedger('test')).ledger.abi)
const { chainId } = await provider.getNetwork()
const periods = twoPeriods(meterKey(args.meter), { chainId, verifyingContract: ledger.address }, 11)

const onLedger = ledgerBillingChain(ledger)
const chain: BillingChain = args.hangAfterSubmit
  ? {
      ...onLedger,
      async submitBill(submission) {
        const result = await onLedger.submitBill(submission)
        out({ event: 'submitted', ...result })
        // Held here until the test kills the process: the chain has the bill, the store does not.
        await new Promise((resolve) => setTimeout(resolve, 120_000))
        return result
      },
    }
  : onLedger

const store = await openBillStore(args.dataDir)
const biller = createBiller({
  store,
  chain,
  prover: await circuitProver('test'),
  inputs: inputsOf(periods),
  isTransient: isTransientChainError,
  maxAttempts: args.maxAttempts ?? 3,
  baseDelayMs: 20,
  log: createLogger({ sink: (entry) => out({ event: 'log', ...entry }) }),
})
biller.on('bill', (bill) =>
  out({ event: 'bill', id: bill.id, status: bill.status, kind: bill.failure?.kind }),
)

if (args.mode === 'add') await biller.addPeriod(periods[0].period)
else if (args.mode === 'retry') await biller.retry(args.billId as string)
else await biller.resume()
await biller.idle()
out({ event: 'idle' })
provider.destroy()
process.exit(0)
