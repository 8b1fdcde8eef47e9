/**
 * The household node's start-time check of the ledger's trusted setup, and `zkmeter verify-setup`
 * against a real (in-process) chain: a ledger recording another key than the node's is caught,
 * billing is held with the reason, and verify-setup says which check failed.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ContractFactory, type InterfaceAbi, ZeroAddress, ZeroHash } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profileBuildDir } from '../../../circuits/src/profiles.ts'
import { readZkeyVerificationKey, verifyingKeyHash } from '../../../circuits/src/setup.ts'
import { startTestEnv, type TestEnv } from '../../../contracts/test/env.ts'
import { serveJsonRpc } from '../../../contracts/ts/chain.ts'
import { deployLedger, type LedgerSetup } from '../../../contracts/ts/ledger.ts'
import type { BillProver } from '../../src/billing/biller.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'
import { runVerifySetup } from '../../src/setup/cli.ts'
import {
  checkLedgerSetup,
  guardProver,
  netBillsUsable,
  SetupMismatchError,
} from '../../src/setup/ledger-setup.ts'

let env: TestEnv
let server: { url: string; close(): Promise<void> }
let nodeKey: `0x${string}`

beforeAll(async () => {
  env = await startTestEnv()
  server = await serveJsonRpc(env.chain.provider, { host: '127.0.0.1', port: 0 })
  nodeKey = verifyingKeyHash(await readZkeyVerificationKey(join(profileBuildDir('test'), 'bill.zkey')))
})

afterAll(async () => {
  await server?.close()
  await env?.chain.close()
})

const OTHER_KEY = `0x${'ab'.repeat(32)}` as const

describe('start-time check of the ledger’s net-bill key (issue 17)', () => {
  const quiet = createLogger({ sink: () => {} })
  const netKey = async () =>
    verifyingKeyHash(await readZkeyVerificationKey(join(profileBuildDir('test'), 'net', 'bill.zkey')))

  it('makes net bills only on a ledger that verifies them under the key of this node’s net build', async () => {
    const ledger = (hash: string | undefined) => ({
      netSetup: async () => (hash === undefined ? undefined : { netVerifyingKeyHash: hash }),
    })
    expect(await netBillsUsable({ ledger: ledger(await netKey()), profile: 'test', log: quiet })).toBe(true)
    // Net bills disabled on the ledger: import bills, silently (nothing is wrong).
    expect(await netBillsUsable({ ledger: ledger(undefined), profile: 'test', log: quiet })).toBe(false)
    // Another key: every net proof would be refused (ProofRejected); import bills, and the node says why.
    const entries: LogEntry[] = []
    const log = createLogger({ sink: (e) => entries.push(e) })
    expect(await netBillsUsable({ ledger: ledger(OTHER_KEY), profile: 'test', log })).toBe(false)
    expect(entries.map((e) => e.msg)).toContain(
      'the ledger verifies net bills under another verifying key than this node proves with: import bills only',
    )
  })
})

describe('start-time check of the ledger’s verifying key', () => {
  const fakeLedger = (over: Partial<LedgerSetup>) => ({
    trustedSetup: async (): Promise<LedgerSetup> => ({
      verifier: '0x0000000000000000000000000000000000000001',
      verifyingKeyHash: nodeKey,
      setupTranscript: env.artifacts.setup.transcript.sha256,
      insecureDevSetup: true,
      ...over,
    }),
  })

  it('passes for the ledger of this build and reports the dev setup and its transcript', async () => {
    const status = await checkLedgerSetup({
      ledger: fakeLedger({}),
      profile: 'test',
      log: createLogger({ sink: () => {} }),
    })
    expect(status).toMatchObject({ keyMatches: true, transcriptMatches: true, insecureDev: true })
    expect(status.contributors.length).toBeGreaterThan(0)
  })

  it('holds billing, with the reason, when the ledger verifies under another key', async () => {
    const entries: LogEntry[] = []
    const status = await checkLedgerSetup({
      ledger: fakeLedger({ verifyingKeyHash: OTHER_KEY }),
      profile: 'test',
      log: createLogger({ sink: (e) => entries.push(e) }),
    })
    expect(status.keyMatches).toBe(false)
    expect(entries.some((e) => e.level === 'error' && /billing is held/.test(String(e.msg)))).toBe(true)
    let proved = 0
    const inner: BillProver = {
      prove: async () => {
        proved++
        return { proof: {} as never, commitment: 0n, tariffHash: 0n, total: 0n, energyWh: 0n }
      },
    }
    const prover = guardProver(inner, status)
    await expect(prover.prove({ readings: [], salt: 1n, prices: [] })).rejects.toThrow(SetupMismatchError)
    await expect(prover.prove({ readings: [], salt: 1n, prices: [] })).rejects.toThrow(/verify-setup/)
    expect(proved).toBe(0)
  })
})

describe('zkmeter verify-setup', () => {
  /** `zkmeter verify-setup --rpc-url … --ledger <address> --profile test`, in process. */
  const verifySetupOf = (ledger: string) =>
    runVerifySetup({
      flags: new Map([
        ['rpc-url', server.url],
        ['ledger', ledger],
        ['profile', 'test'],
      ]),
    })

  it('confirms a ledger deployed from this build (and says it is the INSECURE dev setup)', async () => {
    const ledger = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const report = (await verifySetupOf(ledger.address)) as {
      ok: boolean
      insecureDevSetup: boolean
      checks: { ok: boolean }[]
    }
    expect(report.ok).toBe(true)
    expect(report.insecureDevSetup).toBe(true)
    expect(report.checks.every((c) => c.ok)).toBe(true)
  })

  it('names the check that fails for a ledger recording another key', async () => {
    const factory = new ContractFactory(
      env.artifacts.ledger.abi as InterfaceAbi,
      env.artifacts.ledger.bytecode,
      env.signers[0]!,
    )
    const honest = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const verifier = (await honest.trustedSetup()).verifier
    // The ledger refuses a batch verifier whose key is not the one it records: the lying deployment
    // needs a batch verifier of another key too, and records that key's hash.
    const batchFactory = new ContractFactory(
      env.artifacts.batchVerifier.abi as InterfaceAbi,
      env.artifacts.batchVerifier.bytecode,
      env.signers[0]!,
    )
    const otherBatch = await batchFactory.deploy(
      env.artifacts.verifyingKey.map((c, i) => (i === 0 ? c + 1n : c)),
    )
    await otherBatch.waitForDeployment()
    const otherKey = (await otherBatch.getFunction('verifyingKeyHash')()) as string
    const lying = await factory.deploy(
      verifier,
      await otherBatch.getAddress(),
      96,
      192,
      3600, // minBillingPeriod (the dev policy)
      0, // tariffNotice
      otherKey,
      env.artifacts.setup.transcript.sha256,
      true,
      ZeroAddress, // no net-bill verifier
      ZeroHash,
    )
    await lying.waitForDeployment()
    await expect(verifySetupOf(await lying.getAddress())).rejects.toThrow(/verifying key hash/)
  })

  it('checks the net-bill key too: a ledger recording another net key is named', async () => {
    const honest = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const setup = await honest.trustedSetup()
    const net = await honest.netSetup()
    expect(net?.netVerifyingKeyHash).toBe(env.artifacts.net?.setup.verifyingKeyHash)
    const factory = new ContractFactory(
      env.artifacts.ledger.abi as InterfaceAbi,
      env.artifacts.ledger.bytecode,
      env.signers[0]!,
    )
    const lying = await factory.deploy(
      setup.verifier,
      await honest.contract.getFunction('batchVerifier')(),
      96,
      192,
      3600,
      0,
      setup.verifyingKeyHash,
      setup.setupTranscript,
      true,
      net?.netVerifier,
      `0x${'ab'.repeat(32)}`,
    )
    await lying.waitForDeployment()
    await expect(verifySetupOf(await lying.getAddress())).rejects.toThrow(/net-bill verifying key hash/)
  })

  it('refuses a development net-bill key beside the flag of a ceremony, and the reverse', async () => {
    // The build as verify-setup reads it, with the net manifest claiming a ceremony: the ledger's one
    // dev flag (true here) speaks for both keys, so the net key's kind must agree with it.
    const build = profileBuildDir('test')
    const dir = await mkdtemp(join(tmpdir(), 'zkmeter-setup-kind-'))
    try {
      await mkdir(join(dir, 'net'))
      for (const f of ['bill.zkey', 'transcript.json', 'manifest.json', 'net/bill.zkey']) {
        await symlink(join(build, f), join(dir, f))
      }
      const manifest = JSON.parse(await readFile(join(build, 'net', 'manifest.json'), 'utf8'))
      manifest.trustedSetup.kind = 'ceremony'
      await writeFile(join(dir, 'net', 'manifest.json'), JSON.stringify(manifest))
      const ledger = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
      await expect(
        runVerifySetup({
          flags: new Map([
            ['rpc-url', server.url],
            ['ledger', ledger.address],
            ['profile', 'test'],
            ['build-dir', dir],
          ]),
        }),
      ).rejects.toThrow(
        /net-bill setup kind \(ledger flag = net\/manifest.json\): net-bill key from ceremony/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
