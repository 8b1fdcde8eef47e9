import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import solc from 'solc'
import { afterAll, describe, expect, it } from 'vitest'
import { buildProfile } from '../scripts/build.ts'
import { readR1csHeader, setupPower } from '../scripts/pipeline.ts'
import { loadCircuit } from '../src/index.ts'
import { loadNetCircuit } from '../src/net.ts'
import { netBuildDir, profileBuildDir } from '../src/profiles.ts'
import { contentId, readZkeyVerificationKey, verifyingKeyHash } from '../src/setup.ts'

const dir = profileBuildDir('test')

afterAll(async () => {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
})

describe('test profile build', () => {
  it('skips every step when nothing changed (npm test built it just before)', async () => {
    const lines: string[] = []
    const manifest = await buildProfile('test', { log: (m) => lines.push(m) })
    // Compile, zkey and export, for the bill and for the net bill (issue 17), and the one dev ptau
    // both are set up on (the net bill's power, 2^14, serves the bill's 2^13 too).
    expect(lines.filter((l) => /cached/.test(l))).toHaveLength(7)
    expect(lines.filter((l) => /dev ptau .*cached/.test(l))).toEqual(['dev ptau 2^14 (INSECURE): cached'])
    expect(lines.join('\n')).not.toMatch(/compiled in|setup in|written in/)
    expect(manifest).toMatchObject({
      profile: 'test',
      n: 192,
      slots: 96,
      power: 13,
      trustedSetup: { kind: 'insecure-dev' },
      publicSignals: ['commitment', 'tariffHash', 'total', 'energyWh'],
    })
    // The manifest names the key and the transcript the ledger will anchor.
    expect(manifest.trustedSetup.verifyingKeyHash).toBe(
      verifyingKeyHash(await readZkeyVerificationKey(join(dir, 'bill.zkey'))),
    )
    expect(manifest.trustedSetup.transcript.sha256).toBe(
      contentId(await readFile(join(dir, 'transcript.json'))).sha256,
    )
    expect(manifest.constraints).toBe((await readR1csHeader(join(dir, 'bill.r1cs'))).nConstraints)
    // The net-bill circuit's own key, recorded the same way in its own manifest.
    const net = JSON.parse(await readFile(join(dir, 'net', 'manifest.json'), 'utf8'))
    expect(net).toMatchObject({
      profile: 'test',
      circuit: 'net-bill',
      power: 14,
      trustedSetup: { kind: 'insecure-dev' },
      publicSignals: ['commitment', 'exportCommitment', 'tariffHash', 'packed'],
    })
    expect(net.trustedSetup.verifyingKeyHash).toBe(
      verifyingKeyHash(await readZkeyVerificationKey(join(dir, 'net', 'bill.zkey'))),
    )
    expect(net.trustedSetup.verifyingKeyHash).not.toBe(manifest.trustedSetup.verifyingKeyHash)
  })

  it('reads the verifying key from the zkey as snarkjs exports it', async () => {
    const mine = await readZkeyVerificationKey(join(dir, 'bill.zkey'))
    const theirs = JSON.parse(await readFile(join(dir, 'verification_key.json'), 'utf8'))
    for (const k of ['nPublic', 'vk_alpha_1', 'vk_beta_2', 'vk_gamma_2', 'vk_delta_2', 'IC'] as const) {
      expect(mine[k]).toEqual(theirs[k])
    }
  })

  it('refuses to build without a setup the operator chose (no default)', async () => {
    const { spawnSync } = await import('node:child_process')
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(import.meta.dirname, '..', 'scripts', 'build.ts'), ...args], {
        encoding: 'utf8',
      })
    const production = run(['--profile', 'production'])
    expect(production.status).toBe(2)
    expect(production.stderr).toMatch(
      /SetupRequiredError: .*--ptau FILE.*Perpetual Powers of Tau.*--insecure-dev-setup/s,
    )
    expect(run(['--profile', 'test']).status).toBe(2)
    const missing = run(['--profile', 'production', '--ptau', join(dir, 'no-such.ptau')])
    expect(missing.status).not.toBe(0)
  })

  it('reads the r1cs header as snarkjs does', async () => {
    const mine = await readR1csHeader(join(dir, 'bill.r1cs'))
    const theirs = (await snarkjs.r1cs.info(join(dir, 'bill.r1cs'))) as unknown as {
      nConstraints: number
      nOutputs: number
      nPubInputs: number
      nPrvInputs: number
      nVars: number
    }
    expect(mine).toEqual({
      nWires: theirs.nVars,
      nOutputs: theirs.nOutputs,
      nPubInputs: theirs.nPubInputs,
      nPrvInputs: theirs.nPrvInputs,
      nConstraints: theirs.nConstraints,
    })
    expect(mine.nOutputs).toBe(4)
    expect(await setupPower(join(dir, 'bill.r1cs'))).toBe(13)
  })

  it('exports a Groth16Verifier that solc 0.8.37 compiles, marked INSECURE', async () => {
    const source = await readFile(join(dir, 'Groth16Verifier.sol'), 'utf8')
    expect(source).toMatch(/INSECURE/)
    const out = JSON.parse(
      solc.compile(
        JSON.stringify({
          language: 'Solidity',
          sources: { 'Groth16Verifier.sol': { content: source } },
          settings: { outputSelection: { '*': { '*': ['abi'] } } },
        }),
      ),
    ) as {
      errors?: { severity: string; formattedMessage: string }[]
      contracts: Record<string, Record<string, { abi: { name?: string; inputs?: unknown[] }[] }>>
    }
    expect((out.errors ?? []).filter((e) => e.severity === 'error')).toEqual([])
    const abi = out.contracts['Groth16Verifier.sol']?.Groth16Verifier?.abi ?? []
    const verifyProof = abi.find((f) => f.name === 'verifyProof')
    expect(verifyProof?.inputs).toHaveLength(4)
  })

  it('loads each build only as its own circuit: the bill and the net bill have the same signal count', () => {
    expect(loadCircuit('test').n).toBe(192)
    expect(loadNetCircuit('test').n).toBe(192)
    expect(() => loadCircuit('test', { buildDir: netBuildDir('test') })).toThrow(
      /does not hold a "test" circuit build/,
    )
    expect(() => loadNetCircuit('test', { buildDir: dir })).toThrow(
      /does not hold a "test" net-bill circuit build/,
    )
  })
})
