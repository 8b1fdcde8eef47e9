/**
 * `npm run bench:firmware`: the UNO build's flash/SRAM use, the host cost (C++ core, Release) of
 * the incremental commitment of a full N = 2976 period and of one EIP-712 digest + secp256k1
 * signature, and an estimate of both on an 80 MHz ESP8266 (firmware/tools/lx106-estimate.ts;
 * method in docs/benchmarks/firmware.md). Last line: the BENCH.md JSON summary.
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { buildUno } from '../firmware/tools/build-uno.ts'
import { buildHost } from '../firmware/tools/host-test.ts'
import { ASSUMED_CPI, estimateCommitment, LX106_HZ } from '../firmware/tools/lx106-estimate.ts'
import { FirmwareBuildError, run } from '../firmware/tools/toolchain.ts'

/**
 * Field multiplications of one secp256k1 signature: a 256-bit scalar multiplication with a 4-bit
 * window in Jacobian coordinates (~256 doublings × 8 + ~64 additions × 16) plus one inversion
 * (~300) — priced at the cost of the core's own 8×32-bit Montgomery multiplication on the lx106.
 */
const FIELD_MULS_PER_SIGNATURE = 256 * 8 + 64 * 16 + 300

interface HostFigures {
  commit_host_ms: number
  poseidon16_host_ms: number
  sign_host_ms: number
}

const uno = buildUno()
const hostDir = buildHost()
const out = run(join(hostDir, 'zkm_bench'), ['7']).stdout.trim().split('\n').at(-1) ?? ''
let host: HostFigures
try {
  host = JSON.parse(out) as HostFigures
} catch (cause) {
  throw new FirmwareBuildError(`zkm_bench printed no JSON: ${out}`, { cause })
}
const esp = estimateCommitment()
const mulMs = ((esp.mulInstructions * ASSUMED_CPI) / LX106_HZ) * 1000
console.log(
  `lx106: feMulRaw ≈ ${esp.mulInstructions} instructions, feAdd ≈ ${esp.addInstructions}; ` +
    `${esp.mulsPerPermutation} mul + ${esp.addsPerPermutation} add per Poseidon16; CPI ${ASSUMED_CPI} at ${LX106_HZ / 1e6} MHz`,
)
const round = (x: number, digits = 3) => Number(x.toFixed(digits))
const figures = {
  uno_flash_bytes: uno.flashBytes,
  uno_sram_bytes: uno.sramBytes,
  commit_host_ms: round(host.commit_host_ms),
  sign_host_ms: round(host.sign_host_ms, 4),
  poseidon16_host_ms: round(host.poseidon16_host_ms, 4),
  poseidon16_esp8266_est_ms: round(esp.permutationMs, 0),
  commit_esp8266_est_ms: round(esp.commitMs, 0),
  commit_close_esp8266_est_ms: round(esp.closeMs, 0),
  sign_esp8266_est_ms: round(FIELD_MULS_PER_SIGNATURE * mulMs, 0),
}
console.log(
  JSON.stringify({
    bench: 'firmware',
    machine: `${availableParallelism()} cores, node ${process.version}`,
    figures,
  }),
)
