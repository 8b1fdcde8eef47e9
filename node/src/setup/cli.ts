/**
 * `zkmeter ceremony …` (the trusted-setup ceremony, passed between machines as a directory) and
 * `zkmeter verify-setup` (the chain's anchor against the files). Loaded only for these commands:
 * snarkjs is not the household node's memory. docs/trusted-setup.md is the walkthrough.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'
import { ceremonyDir } from '../../../circuits/scripts/build.ts'
import {
  contributeAll,
  exportAll,
  finalizeAll,
  initAll,
  loadTranscript,
  NET_SUBDIR,
  verifyAll,
  verifyCeremony,
} from '../../../circuits/scripts/ceremony.ts'
import { phase1Beacon, phase1Contribute, phase1New, phase1Prepare } from '../../../circuits/scripts/phase1.ts'
import { isProfileName, type ProfileName, profileBuildDir } from '../../../circuits/src/profiles.ts'
import {
  bytecodePushes,
  contentId,
  readSetupInfo,
  readZkeyVerificationKey,
  verifyingKeyConstants,
  verifyingKeyHash,
} from '../../../circuits/src/setup.ts'
import { jsonRpcProvider } from '../../../contracts/ts/chain.ts'
import { compileLedger } from '../../../contracts/ts/compile.ts'
import { connectLedger } from '../../../contracts/ts/ledger.ts'
import { SetupMismatchError } from './ledger-setup.ts'

export class SetupUsageError extends InvalidInputError {
  override name = 'SetupUsageError'
}

type Flags = Map<string, string>
type Env = Record<string, string | undefined>

export const CEREMONY_USAGE = `usage: zkmeter ceremony <command> [options]   (docs/trusted-setup.md)
phase 2 (per circuit: the bill's in D, the net bill's in D/net), one directory passed from party to party:
  init --ptau FILE --profile test|production [--dir D]   verify the Powers of Tau (2^14 at least: the
                                           net-bill circuit), compile both circuits, start both
  contribute --name WHO [--dir D]          add your contribution to each (secrets from crypto.randomBytes)
  verify --ptau FILE [--dir D]             recompute every step of both from the files
  finalize --beacon HEX [--iterations-exp 10] [--dir D] [--out BUILD_DIR]
                                           apply the public beacon announced in advance, export both builds
phase 1 (Powers of Tau), for operators who do not import one:
  phase1 new --power K --dir D | phase1 contribute --name WHO --dir D
  phase1 beacon --beacon HEX --dir D | phase1 prepare --dir D      (writes D/pot_final.ptau)
D defaults to circuits/build/ceremony/<profile> (--profile, default production).`

function need(flags: Flags, name: string, what: string): string {
  const v = flags.get(name)
  if (v === undefined || v === '')
    throw new SetupUsageError(`--${name} ${what} is required\n${CEREMONY_USAGE}`)
  return v
}

function profileFlag(flags: Flags): ProfileName {
  const p = flags.get('profile') ?? 'production'
  if (!isProfileName(p)) throw new SetupUsageError(`--profile must be test or production, got ${p}`)
  return p
}

const log = (m: string) => process.stderr.write(`[ceremony] ${m}\n`)

async function withCurveStopped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } finally {
    // snarkjs keeps its curve's worker threads alive; without this the command never exits.
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  }
}

export async function runCeremony(argv: { positionals: readonly string[]; flags: Flags }): Promise<unknown> {
  const [command, sub] = argv.positionals
  const flags = argv.flags
  if (command === undefined || command === 'help' || flags.has('help')) return CEREMONY_USAGE
  const dir = flags.get('dir') ?? ceremonyDir(profileFlag(flags))
  return withCurveStopped(async () => {
    switch (command) {
      case 'init': {
        const [bill, net] = await initAll(
          dir,
          { profile: profileFlag(flags), ptau: need(flags, 'ptau', 'FILE') },
          log,
        )
        return {
          dir,
          circuit: bill?.circuit,
          netCircuit: net?.circuit,
          phase1: bill?.phase1,
          next: 'zkmeter ceremony contribute --name WHO --dir …',
        }
      }
      case 'contribute': {
        const steps = await contributeAll(dir, need(flags, 'name', 'WHO (public)'), log, flags.get('entropy'))
        return {
          dir,
          contributions: steps,
          next: `pass the directory on (the transcripts and the last zkeys, of D and D/${NET_SUBDIR}, are enough)`,
        }
      }
      case 'verify': {
        const results = await verifyAll(dir, need(flags, 'ptau', 'FILE'), log)
        return {
          ok: true,
          dir,
          contributors: results[0]?.contributors ?? [],
          ceremonies: results.map((r) => ({
            circuit: r.circuit,
            contributors: r.contributors,
            verifyingKeyHash: r.transcript.verifyingKeyHash ?? null,
          })),
          verifyingKeyHash: results[0]?.transcript.verifyingKeyHash ?? null,
        }
      }
      case 'finalize': {
        const [bill] = await finalizeAll(
          dir,
          need(flags, 'beacon', 'HEX'),
          Number(flags.get('iterations-exp') ?? '10'),
          log,
        )
        const out = flags.get('out') ?? profileBuildDir(bill?.transcript.circuit.profile as ProfileName)
        const exported = await exportAll(dir, out, log)
        return {
          dir,
          out,
          trustedSetup: exported[0]?.trustedSetup,
          netTrustedSetup: exported.find((e) => e.circuit === 'net-bill')?.trustedSetup ?? null,
        }
      }
      case 'phase1':
        return runPhase1(sub, flags)
      default:
        throw new SetupUsageError(`unknown ceremony command ${JSON.stringify(command)}\n${CEREMONY_USAGE}`)
    }
  })
}

async function runPhase1(sub: string | undefined, flags: Flags): Promise<unknown> {
  const dir = need(flags, 'dir', 'D')
  switch (sub) {
    case 'new':
      await phase1New(dir, Number(need(flags, 'power', 'K')), log)
      return { dir }
    case 'contribute':
      return phase1Contribute(dir, need(flags, 'name', 'WHO'), log)
    case 'beacon':
      await phase1Beacon(dir, need(flags, 'beacon', 'HEX'), Number(flags.get('iterations-exp') ?? '10'), log)
      return { dir }
    case 'prepare':
      return { ptau: await phase1Prepare(dir, log) }
    default:
      throw new SetupUsageError(`unknown phase1 command ${JSON.stringify(sub ?? '')}\n${CEREMONY_USAGE}`)
  }
}

export const VERIFY_SETUP_USAGE = `usage: zkmeter verify-setup --ledger ADDR [--rpc-url URL] [--profile test|production | --build-dir DIR]
                           [--ceremony DIR --ptau FILE]
compares the ledger's recorded verifying key hash and transcript id with the circuit build, checks the
deployed verifier embeds that key, and (with --ptau) recomputes the whole ceremony from its files.`

interface Check {
  check: string
  ok: boolean
  detail: string
}

export async function runVerifySetup(argv: { flags: Flags }, env: Env = process.env): Promise<unknown> {
  const flags = argv.flags
  if (flags.has('help')) return VERIFY_SETUP_USAGE
  const rpcUrl = flags.get('rpc-url') ?? env.RPC_URL
  const address = flags.get('ledger') ?? env.ZKMETER_LEDGER
  if (rpcUrl === undefined || address === undefined) {
    throw new SetupUsageError(
      `give --rpc-url (or RPC_URL) and --ledger (or ZKMETER_LEDGER)\n${VERIFY_SETUP_USAGE}`,
    )
  }
  const profile = profileFlag(new Map([['profile', flags.get('profile') ?? 'test']]))
  const buildDir = flags.get('build-dir') ?? profileBuildDir(profile)
  const provider = await jsonRpcProvider(rpcUrl)
  try {
    const abi = (await compileLedger(profile)).ledger.abi
    const ledger = connectLedger(address, Wallet.createRandom().connect(provider), abi)
    const chain = await ledger.trustedSetup()
    const checks: Check[] = []
    const vk = await readZkeyVerificationKey(join(buildDir, 'bill.zkey'))
    const vkHash = verifyingKeyHash(vk)
    checks.push({
      check: 'verifying key hash (ledger = the build’s zkey)',
      ok: vkHash === chain.verifyingKeyHash,
      detail: `ledger ${chain.verifyingKeyHash}, zkey ${vkHash}`,
    })
    const transcript = contentId(await readFile(join(buildDir, 'transcript.json')))
    checks.push({
      check: 'transcript id (ledger = the build’s transcript.json)',
      ok: transcript.sha256 === chain.setupTranscript,
      detail: `ledger ${chain.setupTranscript}, file ${transcript.sha256} (${transcript.cid})`,
    })
    // The verifier the ledger calls must embed this very key (every α, β, γ, δ, IC coordinate).
    const code = (await provider.getCode(chain.verifier)).toLowerCase()
    const missing = verifyingKeyConstants(vk).filter((c) => !bytecodePushes(code, c))
    checks.push({
      check: 'deployed verifier embeds the key',
      ok: missing.length === 0,
      detail:
        missing.length === 0
          ? chain.verifier
          : `${missing.length} key constants absent from ${chain.verifier}`,
    })
    const info = readSetupInfo(buildDir)
    checks.push({
      check: 'setup kind (ledger flag = manifest)',
      ok: (info?.kind === 'insecure-dev') === chain.insecureDevSetup,
      detail: chain.insecureDevSetup ? 'INSECURE development setup: anyone can forge bills' : 'ceremony',
    })
    // The net-bill circuit's key (issue 17), when the ledger verifies net bills: the same checks
    // against the build's net/ directory (and, with --ptau, its ceremony in D/net).
    const net = await ledger.netSetup()
    if (net === undefined) {
      checks.push({ check: 'net-bill key (ledger)', ok: true, detail: 'net bills disabled on this ledger' })
    } else {
      const netZkey = join(buildDir, 'net', 'bill.zkey')
      const netVk = existsSync(netZkey) ? await readZkeyVerificationKey(netZkey) : undefined
      const netHash = netVk === undefined ? undefined : verifyingKeyHash(netVk)
      checks.push({
        check: 'net-bill verifying key hash (ledger = the build’s net/bill.zkey)',
        ok: netHash === net.netVerifyingKeyHash,
        detail: `ledger ${net.netVerifyingKeyHash}, zkey ${netHash ?? `none at ${netZkey}`}`,
      })
      const netCode = (await provider.getCode(net.netVerifier)).toLowerCase()
      const netMissing =
        netVk === undefined ? [] : verifyingKeyConstants(netVk).filter((c) => !bytecodePushes(netCode, c))
      checks.push({
        check: 'deployed net-bill verifier embeds the key',
        ok: netVk !== undefined && netMissing.length === 0,
        detail:
          netMissing.length === 0
            ? net.netVerifier
            : `${netMissing.length} key constants absent from ${net.netVerifier}`,
      })
      // The ledger's one dev flag speaks for both keys: a ceremony bill key beside a development
      // net-bill key (anyone could forge net bills) is a mismatch, and the reverse too.
      const netInfo = readSetupInfo(join(buildDir, NET_SUBDIR))
      checks.push({
        check: 'net-bill setup kind (ledger flag = net/manifest.json)',
        ok: (netInfo?.kind === 'insecure-dev') === chain.insecureDevSetup,
        detail: `net-bill key from ${netInfo?.kind ?? 'no manifest'}`,
      })
    }
    const ptau = flags.get('ptau')
    let contributors = info?.contributors ?? []
    if (ptau !== undefined) {
      const dir = flags.get('ceremony') ?? ceremonyDir(profile)
      const result = await verifyCeremonyStopped(dir, ptau)
      contributors = result.contributors
      const cid = contentId(await readFile(join(dir, 'transcript.json')))
      checks.push({
        check: 'ceremony recomputed from its files (ptau, r1cs, every contribution, beacon)',
        ok:
          cid.sha256 === chain.setupTranscript &&
          result.transcript.verifyingKeyHash === chain.verifyingKeyHash,
        detail: `${result.contributors.length} steps; transcript ${cid.sha256}`,
      })
      if (net !== undefined) {
        // The net-bill key's ceremony, in D/net: recomputed the same way, its final key the one the
        // ledger records (the ledger anchors its key hash; the transcript is the build's and D's).
        const netDir = join(dir, NET_SUBDIR)
        const netResult = existsSync(join(netDir, 'transcript.json'))
          ? await verifyCeremonyStopped(netDir, ptau)
          : undefined
        checks.push({
          check: 'net-bill ceremony recomputed from its files (D/net)',
          ok: netResult?.transcript.verifyingKeyHash === net.netVerifyingKeyHash,
          detail:
            netResult === undefined
              ? `no net-bill ceremony in ${netDir}`
              : `${netResult.contributors.length} steps; final key ${netResult.transcript.verifyingKeyHash}, ledger ${net.netVerifyingKeyHash}`,
        })
      }
    }
    const ok = checks.every((c) => c.ok)
    const report = { ok, ledger: address, insecureDevSetup: chain.insecureDevSetup, contributors, checks }
    if (!ok) {
      throw new SetupMismatchError(
        `the ledger's trusted setup does not match the files: ${checks
          .filter((c) => !c.ok)
          .map((c) => `${c.check}: ${c.detail}`)
          .join('; ')}`,
        { details: report },
      )
    }
    return report
  } finally {
    provider.destroy()
  }
}

async function verifyCeremonyStopped(dir: string, ptau: string) {
  await loadTranscript(dir)
  return withCurveStopped(() => verifyCeremony(dir, ptau, log))
}
