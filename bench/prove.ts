/**
 * npm run bench:prove — the bill circuit at the production size (N = 2976, SLOTS = 96):
 * constraints of our circuit (commitment version 3: the circuit opens the meter's per-slot sums, packed 12 to an element)
 * and by part (each part of circuits/main/parts/ compiled alone: sum range checks, commitment tail,
 * tariff hash; the tariff products are the remainder)
 * and of the naive construction (a private price per interval bound by a Poseidon chain, N
 * multiplications), then input, witness, prove and verify wall time and the peak RSS of the
 * proving process.
 *
 * Proving runs in a child process (this file with --child) so its peak RSS (getrusage maxRSS,
 * main and worker threads together) is the prover's alone, not the build's. The child proves as
 * the node's prover child does: `prove()` of circuits/src (inputs, witness, Groth16) with one curve
 * held for every proof and the circuit's witness calculator and proving key loaded once. It proves
 * once to warm up (WASM compile, curve threads, zkey read; prove_first_s), then RUNS times; times
 * are medians (prove_s: the whole prove() call, what the node waits for; witness_s: the witness
 * alone, measured apart; prove_min_s: the fastest run; prove_cpu_s: CPU seconds of all threads,
 * robust to machine load). Every child runs with the V8 flags and environment of the node's prover
 * child (node/src/billing/prover/threads.ts). A second child proves on one thread
 * (prove_single_thread_s, peak_rss_single_thread_mb), which the node's prover child does on a
 * single core. A third child proves once only (peak_rss_one_proof_mb):
 * the node's prover child proves a bill a month and ends when idle. A fourth proves the net-bill
 * circuit (issue 17: import cost and export credit, net_* figures). Last line: the JSON summary
 * of ../shared/BENCH.md.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as snarkjs from 'snarkjs'
import { buildProfile } from '../circuits/scripts/build.ts'
import { compileCircuit } from '../circuits/scripts/pipeline.ts'
import {
  billTotals,
  commit,
  holdCurve,
  loadCircuit,
  prove,
  readingsDigest,
  slotSums,
  tariffHash,
  witnessOf,
} from '../circuits/src/index.ts'
import { loadNetCircuit, netWitnessInput, proveNet, verifyNet } from '../circuits/src/net.ts'
import { BUILD_ROOT, NAIVE_PRODUCTION, netBuildDir, PROFILES, REPO_ROOT } from '../circuits/src/profiles.ts'
import { PROVER_CHILD_EXEC_ARGV, proverChildEnv } from '../node/src/billing/prover/threads.ts'

// Shared 2-core machine: single runs swing by ±30 %, so report the median (and the best) of five.
const RUNS = 5

interface ChildResult {
  inputs_s: number[]
  witness_s: number[]
  prove_first_s: number
  prove_s: number[]
  prove_cpu_s: number[]
  verify_s: number[]
  peak_rss_mb: number
  verified: boolean
}

/** One run's timings into `result`; run 0 is the warm-up (it builds the curve, loads the circuit). */
function recordRun(
  result: ChildResult,
  run: number,
  r: { inputs?: number; witness: number; prove: number; cpuUsed: NodeJS.CpuUsage; verify: number },
): void {
  if (run === 0) {
    result.prove_first_s = r.prove
    return
  }
  if (r.inputs !== undefined) result.inputs_s.push(r.inputs)
  result.witness_s.push(r.witness)
  result.prove_s.push(r.prove)
  result.prove_cpu_s.push((r.cpuUsed.user + r.cpuUsed.system) / 1e6)
  result.verify_s.push(r.verify)
}

/** The child's last line: its figures, with the peak RSS of the whole process. */
function reportChild(result: ChildResult): void {
  // maxRSS is in kilobytes (getrusage), over the whole process: main thread and curve workers.
  result.peak_rss_mb = process.resourceUsage().maxRSS / 1024
  console.log(JSON.stringify(result))
}

/** A child's figures before its first proof. */
function emptyResult(): ChildResult {
  return {
    inputs_s: [],
    witness_s: [],
    prove_first_s: 0,
    prove_s: [],
    prove_cpu_s: [],
    verify_s: [],
    peak_rss_mb: 0,
    verified: true,
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits))

/** A month of 15-minute readings with a daily shape, deterministic. */
function monthOfReadings(n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const slot = i % 96
    const evening = slot >= 68 && slot < 88 ? 350 : 0
    return 60 + evening + ((i * 2654435761) % 240)
  })
}

function timeOfUsePrices(slots: number): bigint[] {
  return Array.from({ length: slots }, (_, s) =>
    s < 28 ? 12_000_000_000n : s >= 68 ? 40_000_000_000n : 24_000_000_000n,
  )
}

async function child(singleThread: boolean, runs: number): Promise<void> {
  const circuit = loadCircuit('production')
  const readings = monthOfReadings(circuit.n)
  const prices = timeOfUsePrices(circuit.slots)
  const salt = 0xdecafbadn
  const totals = billTotals(readings, prices, circuit.n)
  const expected = [commit(readings, salt, circuit.n), tariffHash(prices), totals.total, totals.energyWh].map(
    String,
  )
  const result = emptyResult()
  // As the node's prover child does (node/src/billing/prover/prover-worker.ts): one curve held for
  // every proof, threaded or not, and the circuit's witness calculator and proving key loaded once.
  const release = holdCurve({ singleThread })
  for (let run = 0; run <= runs; run++) {
    // The private inputs: the readings digest and the per-slot sums, from the month's readings
    // (what circuits/src/index.ts prove() computes before the witness).
    let t = performance.now()
    const input = {
      readingsDigest: readingsDigest(readings, salt, circuit.n).toString(),
      slotSums: slotSums(readings, circuit.n, circuit.slots).map(String),
      prices: prices.map(String),
    }
    const inputs = (performance.now() - t) / 1000
    t = performance.now()
    const wtns = await witnessOf(circuit, input)
    const witness = (performance.now() - t) / 1000
    // The whole of what the node waits for: inputs, witness and proof (prove() of circuits/src).
    // CPU time of the whole process (main thread and curve workers): the cost of a proof
    // independent of what else the shared machine runs.
    t = performance.now()
    const cpu = process.cpuUsage()
    const { proof, raw } = await prove(circuit, { readings, salt, prices })
    const prove_ = (performance.now() - t) / 1000
    const cpuUsed = process.cpuUsage(cpu)
    t = performance.now()
    const ok = await snarkjs.groth16.verify(circuit.verificationKey, raw.publicSignals, proof)
    const verify = (performance.now() - t) / 1000
    result.verified &&= ok && raw.publicSignals.join() === expected.join() && wtns.byteLength > 0
    recordRun(result, run, { inputs, witness, prove: prove_, cpuUsed, verify })
  }
  await release()
  reportChild(result)
}

/**
 * The net-bill circuit (issue 17) at N = 2976, as the node would prove it: a month of imports and a
 * month of rooftop-PV exports, both curves; same curve handling as the bill's child.
 */
async function netChild(runs: number): Promise<void> {
  const circuit = loadNetCircuit('production')
  const importReadings = monthOfReadings(circuit.n)
  const exportReadings = Array.from({ length: circuit.n }, (_, i) => {
    const slot = i % 96
    return slot >= 36 && slot < 64 ? 200 + ((i * 2654435761) % 400) : 0
  })
  const prices = timeOfUsePrices(circuit.slots)
  const feedInPrices = Array.from({ length: circuit.slots }, (_, s) =>
    s >= 40 && s < 56 ? 6_000_000_000n : 8_000_000_000n,
  )
  const salt = 0xdecafbadn
  const result = emptyResult()
  const release = holdCurve()
  for (let run = 0; run <= runs; run++) {
    const input = { importReadings, exportReadings, salt, prices, feedInPrices }
    let t = performance.now()
    const wtns = await witnessOf(circuit, netWitnessInput(circuit, input))
    const witness = (performance.now() - t) / 1000
    t = performance.now()
    const cpu = process.cpuUsage()
    const proved = await proveNet(circuit, input)
    const prove_ = (performance.now() - t) / 1000
    const cpuUsed = process.cpuUsage(cpu)
    t = performance.now()
    const ok = await verifyNet(circuit, proved.proof, proved.publicSignals)
    result.verified &&= ok && wtns.byteLength > 0
    const verify = (performance.now() - t) / 1000
    recordRun(result, run, { witness, prove: prove_, cpuUsed, verify })
  }
  await release()
  reportChild(result)
}

function runChild(singleThread: boolean, runs = RUNS, net = false): Promise<ChildResult> {
  return new Promise((resolveChild, reject) => {
    const args = [
      fileURLToPath(import.meta.url),
      '--child',
      `--runs=${runs}`,
      ...(singleThread ? ['--single-thread'] : []),
      ...(net ? ['--net'] : []),
    ]
    // With the node's prover child's V8 flags and environment (node/src/billing/prover/threads.ts):
    // the peak RSS measured here is the one the node's prover child reaches.
    const proc = spawn(process.execPath, [...PROVER_CHILD_EXEC_ARGV, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: proverChildEnv(),
    })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    proc.on('error', reject)
    proc.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0) reject(new Error(`the proving child exited with ${code}: ${out}`))
      else resolveChild(JSON.parse(last) as ChildResult)
    })
  })
}

/**
 * The constraint breakdown by part: each part of Bill(96) compiled alone (circuits/main/parts/),
 * for its count only; the tariff products and anything else are the remainder. The build cache
 * keys a compile by the sources under circuits/ and circuits/main/, not by a part's own file, so
 * each part compiles into a directory named after a hash of its text.
 */
async function constraintBreakdown(total: number, log: (m: string) => void) {
  const count = async (part: string) => {
    const main = join('circuits', 'main', 'parts', `${part}.circom`)
    const digest = createHash('sha256')
      .update(await readFile(join(REPO_ROOT, main)))
      .digest('hex')
      .slice(0, 16)
    const out = join(BUILD_ROOT, 'parts', `${part}-${digest}`)
    return (await compileCircuit(main, out, { wasm: false, log, outName: part })).constraints
  }
  const rangeChecks = await count('range_checks')
  const commitment = await count('commitment_tail')
  const tariffHash = await count('tariff_hash')
  return {
    constraints_range_checks: rangeChecks,
    constraints_commitment: commitment,
    constraints_tariff_hash: tariffHash,
    constraints_products_rest: total - rangeChecks - commitment - tariffHash,
  }
}

async function main(): Promise<void> {
  const log = (m: string) => console.log(`[bench:prove] ${m}`)
  const manifest = await buildProfile('production', { log })
  const naive = await compileCircuit(NAIVE_PRODUCTION.main, join(BUILD_ROOT, 'naive'), {
    wasm: false,
    log,
    outName: 'naive_bill',
  })
  const breakdown = await constraintBreakdown(manifest.constraints, log)
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate()
  log(`ours: ${manifest.constraints} constraints; naive: ${naive.constraints} constraints`)
  log(`ours by part: ${JSON.stringify(breakdown)}`)
  log(`proving N = ${PROFILES.production.n} in a child process (1 warm-up + ${RUNS} runs)…`)
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  const r = await runChild(false)
  const single = await runChild(true)
  // The node's prover child proves a bill a month and ends when idle: its peak is one proof's.
  const once = await runChild(false, 0)
  // The net-bill circuit (built by buildProfile beside the bill's): three runs after a warm-up.
  const netConstraints = (
    JSON.parse(await readFile(join(netBuildDir('production'), 'manifest.json'), 'utf8')) as {
      constraints: number
    }
  ).constraints
  log(`net bill: ${netConstraints} constraints; proving N = ${PROFILES.production.n} (1 warm-up + 3 runs)…`)
  const net = await runChild(false, 3, true)
  if (!r.verified || !single.verified || !once.verified || !net.verified) {
    throw new Error('a benchmark proof did not verify or had unexpected public signals')
  }
  const figures = {
    constraints: manifest.constraints,
    naive_constraints: naive.constraints,
    constraint_ratio: round(naive.constraints / manifest.constraints, 2),
    ...breakdown,
    inputs_s: round(median(r.inputs_s)),
    witness_s: round(median(r.witness_s)),
    prove_s: round(median(r.prove_s)),
    prove_first_s: round(r.prove_first_s),
    prove_min_s: round(Math.min(...r.prove_s)),
    prove_cpu_s: round(median(r.prove_cpu_s)),
    verify_s: round(median(r.verify_s)),
    witness_plus_prove_s: round(median(r.witness_s.map((w, i) => w + (r.prove_s[i] as number)))),
    peak_rss_mb: round(r.peak_rss_mb, 0),
    peak_rss_one_proof_mb: round(once.peak_rss_mb, 0),
    prove_single_thread_s: round(median(single.prove_s)),
    prove_single_thread_cpu_s: round(median(single.prove_cpu_s)),
    peak_rss_single_thread_mb: round(single.peak_rss_mb, 0),
    n: PROFILES.production.n,
    net_constraints: netConstraints,
    net_witness_s: round(median(net.witness_s)),
    net_prove_s: round(median(net.prove_s)),
    net_prove_min_s: round(Math.min(...net.prove_s)),
    net_prove_cpu_s: round(median(net.prove_cpu_s)),
    net_verify_s: round(median(net.verify_s)),
    net_peak_rss_mb: round(net.peak_rss_mb, 0),
  }
  log(
    `load average (1, 5, 15 min) before / after: ${loadBefore} / ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  log(
    `runs: witness ${r.witness_s.map((x) => x.toFixed(3)).join(', ')} s; prove ${r.prove_s.map((x) => x.toFixed(3)).join(', ')} s; single thread ${single.prove_s.map((x) => x.toFixed(3)).join(', ')} s`,
  )
  console.log(
    JSON.stringify({
      bench: 'prove',
      machine: `${availableParallelism()} cores, node ${process.version}`,
      figures,
    }),
  )
}

if (process.argv.includes('--child')) {
  const runsArg = process.argv.find((a) => a.startsWith('--runs='))
  const runs = runsArg === undefined ? RUNS : Number(runsArg.slice('--runs='.length))
  if (!Number.isInteger(runs) || runs < 0) throw new Error(`--runs must be a whole number, got ${runsArg}`)
  if (process.argv.includes('--net')) await netChild(runs)
  else await child(process.argv.includes('--single-thread'), runs)
} else await main()
