/**
 * The trusted setup anchored in the ledger (issue 13): the verifying key hash and transcript id
 * recorded immutably at deploy, and an INSECURE development verifier refused on any chain but the
 * development one, by the deploy tools and by the constructor itself.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BrowserProvider, ContractFactory, type InterfaceAbi, Network, ZeroAddress, ZeroHash } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profileBuildDir } from '../../circuits/src/profiles.ts'
import { contentId, readZkeyVerificationKey, verifyingKeyHash } from '../../circuits/src/setup.ts'
import { type DevChain, devAccount, serveJsonRpc, startDevChain } from '../ts/chain.ts'
import { REPO_ROOT } from '../ts/compile.ts'
import { decodeLedgerError, deployLedger, InsecureSetupError } from '../ts/ledger.ts'
import { startTestEnv, type TestEnv } from './env.ts'

let env: TestEnv
let mainnetLike: DevChain
let mainnetProvider: BrowserProvider

beforeAll(async () => {
  env = await startTestEnv()
  // Any chain id but 31337 stands for a chain where money moves.
  mainnetLike = await startDevChain({ chainId: 1, accounts: 2 })
  mainnetProvider = new BrowserProvider(mainnetLike.provider, Network.from(1), { staticNetwork: true })
})

afterAll(async () => {
  await env?.chain.close()
  await mainnetLike?.close()
})

describe('the ledger anchors the trusted setup', () => {
  it('records the verifying key hash, the transcript id and the dev flag at deploy', async () => {
    const ledger = await deployLedger(env.signers[0]!, env.artifacts, { slots: 96, maxIntervals: 192 })
    const dir = profileBuildDir('test')
    const setup = await ledger.trustedSetup()
    expect(setup.verifyingKeyHash).toBe(
      verifyingKeyHash(await readZkeyVerificationKey(join(dir, 'bill.zkey'))),
    )
    expect(setup.setupTranscript).toBe(contentId(await readFile(join(dir, 'transcript.json'))).sha256)
    expect(setup.insecureDevSetup).toBe(true)
    expect(setup.verifier).toBe(await ledger.contract.getFunction('verifier')())
  })
})

describe('an INSECURE development verifier only goes to the development chain', () => {
  it('deployLedger refuses it on chain 1 (the path of deploy:contracts and zkmeter utility deploy)', async () => {
    const signer = await mainnetProvider.getSigner(mainnetLike.accounts[0]!.address)
    await expect(deployLedger(signer, env.artifacts, { slots: 96, maxIntervals: 192 })).rejects.toThrow(
      InsecureSetupError,
    )
  })

  it('the constructor refuses it too, for a deployer who skips the tools, and a batch verifier of another key', async () => {
    const signer = await mainnetProvider.getSigner(mainnetLike.accounts[0]!.address)
    const factory = new ContractFactory(
      env.artifacts.ledger.abi as InterfaceAbi,
      env.artifacts.ledger.bytecode,
      signer,
    )
    const setup = env.artifacts.setup
    const deployBatchVerifier = async (vk: bigint[]) => {
      const batchFactory = new ContractFactory(
        env.artifacts.batchVerifier.abi as InterfaceAbi,
        env.artifacts.batchVerifier.bytecode,
        signer,
      )
      const c = await batchFactory.deploy(vk)
      await c.waitForDeployment()
      return c.getAddress()
    }
    const batchVerifier = await deployBatchVerifier(env.artifacts.verifyingKey)
    // A batch verifier for another key (one coordinate changed): its own hash says so.
    const otherBatchVerifier = await deployBatchVerifier(
      env.artifacts.verifyingKey.map((c, i) => (i === 0 ? c + 1n : c)),
    )
    const attempt = async (vkHash: string, transcript: string, insecure: boolean, batch = batchVerifier) => {
      try {
        const c = await factory.deploy(
          mainnetLike.accounts[1]!.address,
          batch,
          96,
          192,
          3600, // minBillingPeriod (the dev policy)
          0, // tariffNotice
          vkHash,
          transcript,
          insecure,
          ZeroAddress, // no net-bill verifier
          ZeroHash,
        )
        await c.waitForDeployment()
        return 'deployed'
      } catch (err) {
        return (decodeLedgerError(err, factory.interface) as { errorName?: string }).errorName
      }
    }
    expect(await attempt(setup.verifyingKeyHash, setup.transcript.sha256, true)).toBe('InsecureSetupOnChain')
    expect(await attempt(ZeroHash, setup.transcript.sha256, false)).toBe('MissingSetupAnchor')
    expect(await attempt(setup.verifyingKeyHash, setup.transcript.sha256, false, otherBatchVerifier)).toBe(
      'VerifyingKeyMismatch',
    )
    expect(await attempt(setup.verifyingKeyHash, setup.transcript.sha256, false)).toBe('deployed')
  })

  it('npm run deploy:contracts refuses it with a message that says why and what to do', async () => {
    const server = await serveJsonRpc(mainnetLike.provider, { host: '127.0.0.1', port: 0 })
    try {
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'contracts', 'ts', 'deploy-cli.ts'), '--profile', 'test'],
        {
          env: { ...process.env, RPC_URL: server.url, DEPLOYER_KEY: devAccount(0).privateKey },
        },
      )
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(code).not.toBe(0)
      expect(stderr).toMatch(/InsecureSetupError|INSECURE development setup/)
      expect(stderr).toMatch(/--ptau/)
    } finally {
      await server.close()
    }
  })
})
