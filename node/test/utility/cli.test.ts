/**
 * `zkmeter utility …` as a user runs it, against a dev chain served on loopback JSON-RPC, with the
 * utility key in the environment. Each kind of outcome goes through the real CLI in a child process
 * at least once (a deploy, a ledger revert, a configuration error, the help: what cli.ts prints and
 * its exit code); the other cases call the same entry point in process (`call`: cli.ts's argument
 * parsing, runUtility, and cli.ts's error line), which proves the same and saves a Node start
 * (about 3 s of CPU) per case.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Contract, ContractFactory, getAddress, type InterfaceAbi, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { netTariffHash } from '#protocol/commitment.ts'
import {
  loadNetCircuit,
  netBillSubmission,
  prepareNetBill,
  priceCurve,
} from '../../../contracts/test/bills.ts'
import { DAY, MIDNIGHT, meterKey, REGISTERED_AT, START_COUNTER } from '../../../contracts/test/env.ts'
import {
  type DevChain,
  devAccount,
  type JsonRpcServerHandle,
  jsonRpcProvider,
  serveJsonRpc,
  startDevChain,
} from '../../../contracts/ts/chain.ts'
import {
  type CompiledContract,
  compileLedger,
  compileSolidity,
  REPO_ROOT,
} from '../../../contracts/ts/compile.ts'
import { connectLedger } from '../../../contracts/ts/ledger.ts'
import { scaledBudget } from '../../../test/support/load.ts'
import { cliErrorLine } from '../../src/cli-message.ts'
import { parseFlags } from '../../src/config.ts'
import { runUtility } from '../../src/utility/cli.ts'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const UTILITY_KEY = devAccount(0).privateKey
const METER = devAccount(5).address
const HOUSEHOLD = devAccount(6).address

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, 'utility', ...args],
      {
        env: {
          ...process.env,
          ZKMETER_UTILITY_KEY: UTILITY_KEY,
          RPC_URL: undefined,
          ZKMETER_LEDGER: undefined,
          ...env,
        },
        // A Node start is seconds of CPU: on a loaded 2-core machine each takes a while.
        timeout: scaledBudget(60_000),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout: String(stdout), stderr: String(stderr) })
      },
    )
    child.stdin?.end()
  })
}

/** The same command through the same entry point as `run`, in this process: what cli.ts does with it. */
async function call(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const { flags, positionals } = parseFlags(['utility', ...args])
  try {
    const out = await runUtility(
      { positionals: positionals.slice(1), flags },
      {
        ...process.env,
        ZKMETER_UTILITY_KEY: UTILITY_KEY,
        RPC_URL: undefined,
        ZKMETER_LEDGER: undefined,
        ...env,
      },
    )
    return { code: 0, stdout: `${out}\n`, stderr: '' }
  } catch (error) {
    return { code: 1, stdout: '', stderr: cliErrorLine(error) }
  }
}

let chain: DevChain
let server: JsonRpcServerHandle
let dir: string
let ledger: string

beforeAll(async () => {
  chain = await startDevChain()
  server = await serveJsonRpc(chain.provider, { host: '127.0.0.1', port: 0 })
  dir = await mkdtemp(join(tmpdir(), 'zkmeter-utility-'))
})

afterAll(async () => {
  await server?.close()
  await chain?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('zkmeter utility', () => {
  it(
    'deploys, registers a meter, publishes a tariff and a notice, reads balance and bills',
    async () => {
      const deployed = await run(['deploy', '--rpc-url', server.url, '--profile', 'test'])
      expect(deployed.stderr).toBe('')
      expect(deployed.code).toBe(0)
      const d = JSON.parse(deployed.stdout)
      expect(d.ledger).toMatch(/^0x[0-9a-fA-F]{40}$/)
      expect(d.utility.toLowerCase()).toBe(devAccount(0).address.toLowerCase())
      expect(d).toMatchObject({ chainId: '31337', profile: 'test', slots: 96, maxIntervals: 192 })
      // The key never appears in what the CLI prints.
      expect(deployed.stdout).not.toContain(UTILITY_KEY.slice(2))
      ledger = d.ledger
      const chainArgs = ['--rpc-url', server.url, '--ledger', ledger]

      const registered = await call([
        'register',
        ...chainArgs,
        '--meter',
        METER,
        '--household',
        HOUSEHOLD,
        '--area',
        '7',
        '--start-time',
        '1767225600',
        '--start-counter',
        '1000',
      ])
      expect(registered.stderr).toBe('')
      expect(JSON.parse(registered.stdout)).toMatchObject({ meter: METER, areaId: 7, startCounter: '1000' })

      // Registering the same meter twice is the ledger's error, decoded and named.
      const again = await run([
        'register',
        ...chainArgs,
        '--meter',
        METER,
        '--household',
        HOUSEHOLD,
        '--area',
        '7',
        '--start-time',
        '1767225600',
        '--start-counter',
        '1000',
      ])
      expect(again.code).toBe(1)
      expect(again.stderr).toMatch(/^zkmeter: LedgerRevertError: /)

      const pricesFile = join(dir, 'prices.json')
      // A curve that obeys the tariff rules (docs/privacy.md): two levels, a 17–21 h peak.
      await writeFile(
        pricesFile,
        JSON.stringify({ prices: Array.from({ length: 96 }, (_, i) => (i >= 68 && i < 84 ? 250 : 100)) }),
      )
      const fromFile = await call([
        'tariff',
        ...chainArgs,
        '--effective-from',
        '1767225600',
        '--prices-file',
        pricesFile,
      ])
      expect(fromFile.stderr).toBe('')
      const t0 = JSON.parse(fromFile.stdout)
      expect(t0.tariffId).toBe('1')
      expect(t0.tariffHash).toMatch(/^\d+$/)
      const peak = await call([
        'tariff',
        ...chainArgs,
        '--effective-from',
        '1767312000',
        '--peak',
        '300',
        '--offpeak',
        '120',
        '--peak-hours',
        '17-21',
      ])
      expect(peak.stderr).toBe('')
      expect(JSON.parse(peak.stdout)).toMatchObject({ tariffId: '2', effectiveFrom: '1767312000', slots: 96 })

      const notice = await call([
        'notice',
        ...chainArgs,
        '--area',
        '7',
        '--kind',
        'maintenance',
        '--starts',
        '1767330000',
        '--ends',
        '1767340000',
        '--message',
        'transformer work on Elm Street',
      ])
      expect(notice.stderr).toBe('')
      expect(JSON.parse(notice.stdout)).toMatchObject({ areaId: 7, kind: 1, kindName: 'maintenance' })

      const balance = await call(['balance', ...chainArgs])
      expect(JSON.parse(balance.stdout)).toEqual({
        withdrawable: '0',
        assets: [
          {
            assetId: 0,
            symbol: 'ETH',
            decimals: 18,
            token: null,
            collected: '0',
            withdrawable: '0',
            collectedText: '0 ETH',
            withdrawableText: '0 ETH',
          },
        ],
      })

      // Nothing paid yet: the ledger refuses, and the CLI names its error.
      const withdraw = await call(['withdraw', ...chainArgs, '--to', HOUSEHOLD])
      expect(withdraw.code).toBe(1)
      expect(withdraw.stderr).toContain('LedgerRevertError: NothingToWithdraw')

      const bills = await call(['bills', ...chainArgs, '--meter', METER])
      expect(bills.stderr).toBe('')
      expect(JSON.parse(bills.stdout)).toEqual({
        bills: [],
        count: 0,
        totalBilled: '0',
        totalPaid: '0',
        totalUnpaid: '0',
      })
    },
    scaledBudget(90_000),
  )

  it(
    'rejects bad arguments with a named error and exit code 1',
    async () => {
      const shortFile = join(dir, 'short.json')
      await writeFile(shortFile, JSON.stringify([1, 2, 3]))
      // The audit's oracle: slots 76–79 priced 1, 2^15, 2^30, 2^45, the rest 0.
      const oracleFile = join(dir, 'oracle.json')
      await writeFile(
        oracleFile,
        JSON.stringify(Array.from({ length: 96 }, (_, i) => (i >= 76 && i < 80 ? 2 ** (15 * (i - 76)) : 0))),
      )
      const chainArgs = ['--rpc-url', server.url, '--ledger', METER]
      // Independent runs, in parallel, most failing before any network use: a configuration error and
      // the help through the real CLI (its exit codes 1 and 0), the rest in process.
      const [noKey, badKey, fewPrices, tooBig, badAddress, unknownOption, noRpc, help, oracle] =
        await Promise.all([
          run(['balance', ...chainArgs], { ZKMETER_UTILITY_KEY: undefined }),
          call(['balance', ...chainArgs], { ZKMETER_UTILITY_KEY: '0x1234' }),
          call(['tariff', ...chainArgs, '--effective-from', '0', '--prices-file', shortFile]),
          call(['tariff', ...chainArgs, '--effective-from', '0', '--flat', String(1n << 64n)]),
          call(['withdraw', ...chainArgs, '--to', '0x1234']),
          call(['bills', ...chainArgs, '--area', '3']),
          call(['balance', '--ledger', METER]),
          run(['--help']),
          call(['tariff', ...chainArgs, '--effective-from', '0', '--prices-file', oracleFile]),
        ])
      expect(oracle.code).toBe(1)
      expect(oracle.stderr).toContain(
        'UtilityUsageError: the tariff breaks a privacy rule: a tariff may have at most 4',
      )
      expect(noKey.code).toBe(1)
      expect(noKey.stderr).toContain('UtilityConfigError: set ZKMETER_UTILITY_KEY')
      expect(badKey.code).toBe(1)
      expect(badKey.stderr).toContain(
        'UtilityConfigError: ZKMETER_UTILITY_KEY must be 0x followed by 64 hex digits',
      )
      expect(badKey.stderr).not.toContain('1234')
      expect(fewPrices.code).toBe(1)
      expect(fewPrices.stderr).toContain('UtilityUsageError: a tariff needs exactly 96 prices')
      expect(tooBig.code).toBe(1)
      expect(tooBig.stderr).toContain('UtilityUsageError: --flat must be below 18446744073709551616')
      expect(badAddress.code).toBe(1)
      expect(badAddress.stderr).toContain('UtilityUsageError: --to must be a 0x address')
      expect(unknownOption.code).toBe(1)
      expect(unknownOption.stderr).toContain('unknown option --area')
      expect(noRpc.code).toBe(1)
      expect(noRpc.stderr).toContain('UtilityConfigError: give --rpc-url URL or set RPC_URL')
      expect(help.code).toBe(0)
      expect(help.stdout).toContain('usage: zkmeter utility <command>')
    },
    scaledBudget(90_000),
  )

  it(
    'prices a tariff in a token: checks the token, fixes the area, reads balances and withdraws tokens',
    async () => {
      const deployed = await call(['deploy', '--rpc-url', server.url, '--profile', 'test'])
      expect(deployed.code, deployed.stderr).toBe(0)
      const ledgerAddress = JSON.parse(deployed.stdout).ledger as string
      const chainArgs = ['--rpc-url', server.url, '--ledger', ledgerAddress]
      // The tokens: the dev chain's test stablecoin, and a USDT-like token with no decimals().
      const provider = await jsonRpcProvider(server.url)
      onTestFinished(() => provider.destroy())
      const deployer = new Wallet(UTILITY_KEY, provider)
      const deploy = async (c: CompiledContract) => {
        const contract = await new ContractFactory(c.abi as InterfaceAbi, c.bytecode, deployer).deploy()
        await contract.waitForDeployment()
        return contract as unknown as Contract
      }
      const { testStablecoin } = await compileLedger('test')
      const fixtures = await compileSolidity(
        {
          'Tokens.sol': await readFile(
            join(REPO_ROOT, 'contracts', 'test', 'fixtures', 'Tokens.sol'),
            'utf8',
          ),
        },
        { cacheDir: join(REPO_ROOT, 'contracts', 'build', 'fixtures-tokens') },
      )
      const tusd = await deploy(testStablecoin)
      const noDecimals = await deploy(fixtures.NoReturnToken!)
      const token = await tusd.getAddress()

      // What is no token is refused before any transaction, naming why.
      const [account, notErc20, undeclared, badChoice] = await Promise.all([
        call(['area-asset', ...chainArgs, '--area', '3', '--asset', HOUSEHOLD]),
        call([
          'tariff',
          ...chainArgs,
          '--effective-from',
          '1767225600',
          '--flat',
          '250',
          '--asset',
          ledgerAddress,
        ]),
        call([
          'tariff',
          ...chainArgs,
          '--effective-from',
          '1767225600',
          '--flat',
          '250',
          '--asset',
          await noDecimals.getAddress(),
        ]),
        call(['withdraw', ...chainArgs, '--to', HOUSEHOLD, '--asset', 'usd']),
      ])
      expect(account.code).toBe(1)
      expect(account.stderr).toContain(`NotATokenError: ${HOUSEHOLD} has no contract code on this chain`)
      expect(notErc20.code).toBe(1)
      expect(notErc20.stderr).toContain('NotATokenError: ')
      expect(notErc20.stderr).toContain('is a contract but not an ERC-20 token')
      expect(undeclared.code).toBe(1)
      expect(undeclared.stderr).toContain('TokenMetadataError: token ')
      expect(undeclared.stderr).toContain('has no decimals()')
      expect(badChoice.code).toBe(1)
      expect(badChoice.stderr).toContain(
        'UtilityUsageError: --asset must be "eth" or a token contract\'s address',
      )
      const assetsBefore = JSON.parse((await call(['assets', ...chainArgs])).stdout)
      expect(assetsBefore.assets.map((a: { symbol: string }) => a.symbol)).toEqual(['ETH'])

      // Area 3 bills in tUSD: the token is read (6 decimals, tUSD) and registered on first use.
      const area = await run(['area-asset', ...chainArgs, '--area', '3', '--asset', token])
      expect(area.stderr).toBe('')
      expect(JSON.parse(area.stdout)).toEqual({
        areaId: 3,
        asset: { assetId: 1, symbol: 'tUSD', decimals: 6, token },
        changed: true,
        assetRegistered: true,
      })
      const registered = await call([
        'register',
        ...chainArgs,
        '--meter',
        METER,
        '--household',
        HOUSEHOLD,
        '--area',
        '3',
        '--start-time',
        '1767225600',
        '--start-counter',
        '0',
        '--asset',
        token,
      ])
      expect(registered.stderr).toBe('')
      expect(JSON.parse(registered.stdout).asset).toMatchObject({ assetId: 1, symbol: 'tUSD' })

      // The first meter fixed the area's asset: Ether there is refused, by the CLI, in words.
      const [etherTariff, etherArea] = await Promise.all([
        call(['tariff', ...chainArgs, '--effective-from', '1767225600', '--flat', '250', '--area', '3']),
        call(['area-asset', ...chainArgs, '--area', '3', '--asset', 'eth']),
      ])
      expect(etherTariff.code).toBe(1)
      expect(etherTariff.stderr).toContain(
        'AreaAssetMismatchError: area 3 bills in tUSD (' +
          token +
          '), fixed on the ledger since its first meter: a tariff or meter in ETH would not apply to it',
      )
      expect(etherArea.code).toBe(1)
      expect(etherArea.stderr).toContain('AreaAssetMismatchError: area 3 bills in tUSD')

      // 0.25 tUSD a kWh = 250 units of 10^-6 tUSD per Wh.
      const tariff = await call([
        'tariff',
        ...chainArgs,
        '--effective-from',
        '1767225600',
        '--flat',
        '250',
        '--asset',
        token,
        '--area',
        '3',
      ])
      expect(tariff.stderr).toBe('')
      expect(JSON.parse(tariff.stdout)).toMatchObject({
        tariffId: '1',
        asset: { assetId: 1, symbol: 'tUSD', decimals: 6, token },
      })
      expect(JSON.parse(tariff.stdout).assetRegistered).toBeUndefined()

      // Tokens held by the ledger are the utility's to withdraw (here sent straight to it).
      await (await tusd.getFunction('mint')(ledgerAddress, 12_500_000n)).wait()
      const balance = JSON.parse((await call(['balance', ...chainArgs])).stdout)
      expect(balance.assets[1]).toMatchObject({
        assetId: 1,
        symbol: 'tUSD',
        withdrawable: '12500000',
        withdrawableText: '12.5 tUSD',
        collected: '0',
      })
      const payee = devAccount(7).address
      const withdrawn = await call(['withdraw', ...chainArgs, '--to', payee, '--asset', token])
      expect(withdrawn.stderr).toBe('')
      expect(JSON.parse(withdrawn.stdout)).toMatchObject({ amount: '12500000', amountText: '12.5 tUSD' })
      expect(await tusd.getFunction('balanceOf')(payee)).toBe(12_500_000n)
      const again = await call(['withdraw', ...chainArgs, '--to', payee, '--asset', token])
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('LedgerRevertError: NothingToWithdraw')
      // Ether withdrawals are unchanged: --asset eth (the default) withdraws wei.
      const ether = await call(['withdraw', ...chainArgs, '--to', payee, '--asset', 'eth'])
      expect(ether.stderr).toContain('LedgerRevertError: NothingToWithdraw')
    },
    scaledBudget(120_000),
  )

  it(
    'publishes a feed-in curve under the tariff rules and notice, lists carried credits and pays one out',
    async () => {
      const household = devAccount(6)
      const solar = meterKey('cli-solar')
      const tokenPrices = priceCurve(300n, 450n, 96)
      // The proof takes seconds: it runs while the ledger is set up.
      const proving = prepareNetBill(loadNetCircuit('test'), {
        meter: solar,
        start: REGISTERED_AT,
        end: REGISTERED_AT + DAY,
        startCounter: START_COUNTER,
        exportStartCounter: 250_000n,
        prices: tokenPrices,
        feedInPrices: Array.from({ length: 96 }, () => 500n),
        tariffId: 2n,
        seed: 4,
        sun: 20,
      })
      const deployed = await call([
        'deploy',
        '--rpc-url',
        server.url,
        '--profile',
        'test',
        '--tariff-notice-days',
        '7',
      ])
      expect(deployed.code, deployed.stderr).toBe(0)
      const ledgerAddress = JSON.parse(deployed.stdout).ledger as string
      const chainArgs = ['--rpc-url', server.url, '--ledger', ledgerAddress]
      const provider = await jsonRpcProvider(server.url)
      onTestFinished(() => provider.destroy())
      const { testStablecoin } = await compileLedger('test')
      const tusd = (await new ContractFactory(
        testStablecoin.abi as InterfaceAbi,
        testStablecoin.bytecode,
        new Wallet(UTILITY_KEY, provider),
      ).deploy()) as unknown as Contract
      await tusd.waitForDeployment()
      const token = await tusd.getAddress()
      const registered = await call([
        'register',
        ...chainArgs,
        '--meter',
        solar.address,
        '--household',
        household.address,
        '--area',
        '3',
        '--start-time',
        String(REGISTERED_AT),
        '--start-counter',
        String(START_COUNTER),
        '--asset',
        token,
      ])
      expect(registered.code, registered.stderr).toBe(0)
      // Tariff 1 takes effect as soon as the 7-day notice allows; tariff 2 (the net bill's) years later.
      const now = (await provider.getBlock('latest'))?.timestamp ?? 0
      const soon = Math.ceil((now + 7 * DAY + 1) / 900) * 900
      const tariffArgs = ['--asset', token, '--area', '3']
      const t1 = await call([
        'tariff',
        ...chainArgs,
        '--effective-from',
        String(soon),
        '--flat',
        '300',
        ...tariffArgs,
      ])
      expect(t1.code, t1.stderr).toBe(0)
      const pricesFile = join(dir, 'token-prices.json')
      await writeFile(pricesFile, JSON.stringify(tokenPrices.map(String)))
      const t2 = await call([
        'tariff',
        ...chainArgs,
        '--effective-from',
        String(MIDNIGHT),
        '--prices-file',
        pricesFile,
        ...tariffArgs,
      ])
      expect(JSON.parse(t2.stdout).tariffId).toBe('2')
      // An hour passes: tariff 1 is now less than its notice ahead.
      await chain.provider.request({ method: 'evm_increaseTime', params: [3600] })
      await chain.provider.request({ method: 'evm_mine', params: [] })

      const fiveLevels = join(dir, 'five-levels.json')
      await writeFile(
        fiveLevels,
        JSON.stringify(Array.from({ length: 96 }, (_, i) => 100 + 10 * Math.floor(i / 20))),
      )
      const [rules, unknown, late, noTariff, tooBig] = await Promise.all([
        call(['feed-in', ...chainArgs, '--tariff', '2', '--prices-file', fiveLevels]),
        call(['feed-in', ...chainArgs, '--tariff', '9', '--flat', '500']),
        call(['feed-in', ...chainArgs, '--tariff', '1', '--flat', '500']),
        call(['feed-in', ...chainArgs, '--flat', '500']),
        call(['feed-in', ...chainArgs, '--tariff', '2', '--flat', String(1n << 64n)]),
      ])
      expect(rules.stderr).toContain(
        'UtilityUsageError: the feed-in curve breaks a privacy rule (feed-in prices follow the tariff rules too): a tariff may have at most 4',
      )
      expect(unknown.stderr).toContain('LedgerRevertError: UnknownTariff: tariff 9 has not been published')
      expect(late.code).toBe(1)
      expect(late.stderr).toMatch(
        /FeedInRefusedError: tariff 1 takes effect at \d+; its feed-in curve had to be published 604800 s ahead/,
      )
      expect(noTariff.stderr).toContain('UtilityUsageError: --tariff is required')
      expect(tooBig.stderr).toContain('UtilityUsageError: --flat must be below 18446744073709551616')

      const feedIn = await call(['feed-in', ...chainArgs, '--tariff', '2', '--flat', '500'])
      expect(feedIn.stderr).toBe('')
      expect(JSON.parse(feedIn.stdout)).toMatchObject({
        tariffId: '2',
        netTariffHash: String(
          netTariffHash(
            tokenPrices,
            Array.from({ length: 96 }, () => 500n),
          ),
        ),
        effectiveFrom: String(MIDNIGHT),
        asset: { assetId: 1, symbol: 'tUSD' },
      })
      const again = await call(['feed-in', ...chainArgs, '--tariff', '2', '--flat', '500'])
      expect(again.stderr).toContain('FeedInRefusedError: tariff 2 already has its feed-in curve')

      // The household's sunny net bill: its credit above its cost is carried.
      const bill = await proving
      const surplus = bill.credit - bill.cost
      expect(surplus > 0n).toBe(true)
      const domain = { chainId: 31337n, verifyingContract: ledgerAddress as `0x${string}` }
      const { artifacts } = { artifacts: await compileLedger('test') }
      const hh = connectLedger(
        ledgerAddress,
        new Wallet(household.privateKey, provider),
        artifacts.ledger.abi,
      )
      await hh.submitNetBill(netBillSubmission(bill, solar, domain))
      const credits = await call(['credits', ...chainArgs])
      expect(credits.stderr).toBe('')
      expect(JSON.parse(credits.stdout)).toEqual({
        credits: [
          {
            meter: getAddress(solar.address),
            household: getAddress(household.address),
            areaId: 3,
            active: true,
            asset: { assetId: 1, symbol: 'tUSD', decimals: 6, token },
            credit: String(surplus),
            creditText: expect.stringMatching(/ tUSD$/),
          },
        ],
        owed: [expect.objectContaining({ assetId: 1, owed: String(surplus) })],
      })

      const [tooMuch, uncollected, zero, stranger] = await Promise.all([
        call(['pay-credit', ...chainArgs, '--meter', solar.address, '--amount', String(surplus + 1n)]),
        call(['pay-credit', ...chainArgs, '--meter', solar.address]),
        call(['pay-credit', ...chainArgs, '--meter', solar.address, '--amount', '0']),
        call(['pay-credit', ...chainArgs, '--meter', METER]),
      ])
      expect(tooMuch.stderr).toContain('LedgerRevertError: PayoutExceedsCredit')
      expect(uncollected.stderr).toContain(
        'LedgerRevertError: PayoutExceedsCollected: the ledger holds 0 of asset 1 paid and not withdrawn',
      )
      expect(zero.stderr).toContain('UtilityUsageError: --amount must be at least 1')
      expect(stranger.stderr).toContain(`is not registered on this ledger`)

      // What households paid in tUSD (here sent straight to the ledger) pays the credit.
      await (await tusd.getFunction('mint')(ledgerAddress, 2n * surplus)).wait()
      const part = await call(['pay-credit', ...chainArgs, '--meter', solar.address, '--amount', '1000'])
      expect(part.stderr).toBe('')
      expect(JSON.parse(part.stdout)).toMatchObject({
        meter: solar.address,
        household: getAddress(household.address),
        amount: '1000',
        amountText: '0.001 tUSD',
        creditLeft: String(surplus - 1000n),
      })
      const rest = await call(['pay-credit', ...chainArgs, '--meter', solar.address])
      expect(rest.stderr).toBe('')
      expect(JSON.parse(rest.stdout)).toMatchObject({ amount: String(surplus - 1000n), creditLeft: '0' })
      expect(await tusd.getFunction('balanceOf')(household.address)).toBe(surplus)
      expect(JSON.parse((await call(['credits', ...chainArgs])).stdout)).toEqual({ credits: [], owed: [] })
    },
    scaledBudget(120_000),
  )
})
