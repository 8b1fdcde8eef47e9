/**
 * The sparse masking graph (docs/aggregation.md §2a): which members mask with each other. With pairwise
 * masks between *every* two members, each home works for every other and an area's cost grows with n²;
 * here each member masks only with its neighbours in a random graph of logarithmic degree, as in Bell,
 * Bonawitz, Gascón, Lepoint and Raykova, "Secure Single-Server Aggregation with (Poly)Logarithmic
 * Overhead" (CCS 2020).
 *
 * Construction: every member i (index in the view sorted by meter) picks GRAPH_OUT_DEGREE distinct
 * other members from its 48 64-bit candidates, the i-th block of 384 bytes of the ChaCha20 stream keyed
 * with SHA-256("zkmeter/agg/graph/v2" ‖ D(V)) (zero nonce), index = candidate mod n, skipping itself and
 * repeats — if a block runs out (only in small areas), it continues with the four candidates of each
 * SHA-256(tag ‖ D(V) ‖ meterᵢ ‖ be32(c)), c = 0, 1, …. The graph is the undirected union of the choices. It depends only on the member set (D(V) binds the
 * area, every meter and every X25519 key), never on the round, so everybody computes the same graph
 * without talking and it is cached per member set. Every member has at least GRAPH_OUT_DEGREE
 * neighbours (about twice that on average). An area of at most 2·GRAPH_OUT_DEGREE + 1 members uses the
 * complete graph: there the sparse one would save nothing.
 */
import { createCipheriv, createHash } from 'node:crypto'
import type { MemberKey } from '../masking.ts'
import type { Member } from '../membership.ts'
import type { Address, Hex } from '../signing.ts'

/**
 * Each member's own choices. 24 gives a bound below 2⁻⁴⁰ on the honest contributors' graph falling
 * apart in an area of 1000 with up to 40 % of the other members corrupt or missing
 * (isolationBound(1000, 24, 0.4) ≈ 2⁻⁴³, docs/aggregation.md §4); the mean degree is then ≈ 48.
 */
export const GRAPH_OUT_DEGREE = 24
const TAG = Buffer.from('zkmeter/agg/graph/v2')
const MAX_CACHED_GRAPHS = 16

export interface MaskingGraph<M extends MemberKey = MemberKey> {
  /** Whether every member masks with every other (small areas). */
  complete: boolean
  /** The members `meter` masks with, sorted by meter; empty for a meter outside the view. */
  neighbours(meter: Address): readonly Address[]
  /** The same members as view entries (with their keys). */
  neighbourKeys(meter: Address): readonly M[]
  /** Whether `meter` is in the view the graph was built for. */
  has(meter: Address): boolean
  /** Whether {a, b} is an edge. */
  adjacent(a: Address, b: Address): boolean
}

/**
 * Builds the graph for a sorted member view with digest `digest` (= membersDigest(area, view)).
 * Neighbour lists are sorted on first use: a member needs its own, an aggregator those of the missing.
 */
export function buildMaskingGraph<M extends MemberKey>(
  view: readonly M[],
  digest: Hex,
  outDegree = GRAPH_OUT_DEGREE,
): MaskingGraph<M> {
  const meters = view.map((m) => m.meter)
  const n = meters.length
  const index = new Map(meters.map((m, i) => [m, i]))
  if (n - 1 <= 2 * outDegree) {
    return {
      complete: true,
      has: (meter) => index.has(meter),
      neighbours: (meter) => (index.has(meter) ? meters.filter((m) => m !== meter) : []),
      neighbourKeys: (meter) => (index.has(meter) ? view.filter((m) => m.meter !== meter) : []),
      adjacent: (a, b) => a !== b && index.has(a) && index.has(b),
    }
  }
  // Out-choices in one flat array (n × k); the reverse index (who chose j) in CSR form. Typed arrays:
  // an aggregator or member builds the graph of 1000 members in a few ms, without a Set per member.
  const out = new Int32Array(n * outDegree)
  const stream = candidateStream(digest, n * CANDIDATES_PER_MEMBER)
  for (let i = 0; i < n; i++) {
    const base = i * outDegree
    let size = 0
    const pick = (hi: number, lo: number) => {
      // A 64-bit candidate mod n (bias n / 2⁶⁴, negligible), in doubles: (hi mod n)·2³² + lo < 2⁵³.
      const j = ((hi % n) * 0x1_0000_0000 + lo) % n
      if (j === i || size === outDegree) return
      for (let c = base; c < base + size; c++) if (out[c] === j) return
      out[base + size++] = j
    }
    for (let c = 0; c < CANDIDATES_PER_MEMBER; c++) {
      const at = 8 * (i * CANDIDATES_PER_MEMBER + c)
      pick(stream.readUInt32BE(at), stream.readUInt32BE(at + 4))
    }
    // Rarely (small areas) the fixed candidates repeat too often: continue with hashes of (meter, c).
    for (let c = 0; size < outDegree; c++) {
      const h = createHash('sha256')
        .update(TAG)
        .update(Buffer.from(digest.slice(2), 'hex'))
        .update(Buffer.from((meters[i] as string).slice(2), 'hex'))
        .update(be32(c))
        .digest()
      for (let w = 0; w < 4; w++) pick(h.readUInt32BE(8 * w), h.readUInt32BE(8 * w + 4))
    }
  }
  const inStart = new Int32Array(n + 1)
  for (const j of out) (inStart[j + 1] as number)++
  for (let i = 0; i < n; i++) inStart[i + 1] = (inStart[i + 1] as number) + (inStart[i] as number)
  const inList = new Int32Array(n * outDegree)
  const fill = inStart.slice(0, n)
  for (let e = 0; e < out.length; e++) {
    const j = out[e] as number
    inList[(fill[j] as number)++] = Math.floor(e / outDegree)
  }
  const sorted = new Map<number, number[]>()
  /** i's neighbours: its own choices and those who chose it, sorted (by view index = by meter), once. */
  const sortedOf = (i: number) => {
    let list = sorted.get(i)
    if (list === undefined) {
      const all = [
        ...out.subarray(i * outDegree, (i + 1) * outDegree),
        ...inList.subarray(inStart[i] as number, inStart[i + 1] as number),
      ].sort((a, b) => a - b)
      list = all.filter((j, k) => k === 0 || j !== all[k - 1])
      sorted.set(i, list)
    }
    return list
  }
  return {
    complete: false,
    has: (meter) => index.has(meter),
    neighbours: (meter) => {
      const i = index.get(meter)
      return i === undefined ? [] : sortedOf(i).map((j) => meters[j] as Address)
    },
    neighbourKeys: (meter) => {
      const i = index.get(meter)
      return i === undefined ? [] : sortedOf(i).map((j) => view[j] as M)
    },
    adjacent: (a, b) => {
      const i = index.get(a)
      const j = index.get(b)
      return i !== undefined && j !== undefined && sortedOf(i).includes(j)
    },
  }
}

/** Candidates per member drawn from the stream: twice the out-degree, so repeats rarely exhaust them. */
const CANDIDATES_PER_MEMBER = 2 * GRAPH_OUT_DEGREE

const be32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

/**
 * `count` 64-bit candidates in one native call: ChaCha20 keyed with SHA-256(tag ‖ D(V)), zero nonce,
 * over zeros (a PRG; the key is public, the stream needs only to be unpredictable before D(V) exists).
 * One call instead of a hash per candidate: building the graph of 1000 members is ~1 ms of stream.
 */
function candidateStream(digest: Hex, count: number): Buffer {
  const key = createHash('sha256')
    .update(TAG)
    .update(Buffer.from(digest.slice(2), 'hex'))
    .digest()
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.alloc(8 * count)), cipher.final()])
}

/** A small cache of graphs by member-set digest: members, aggregators and recoveries share one. */
export function createGraphCache(outDegree = GRAPH_OUT_DEGREE) {
  const graphs = new Map<Hex, MaskingGraph<Member>>()
  return function graphOf(view: readonly Member[], digest: Hex): MaskingGraph<Member> {
    let graph = graphs.get(digest)
    if (graph === undefined) {
      graph = buildMaskingGraph(view, digest, outDegree)
      if (graphs.size >= MAX_CACHED_GRAPHS) graphs.delete(graphs.keys().next().value as Hex)
      graphs.set(digest, graph)
    }
    return graph
  }
}

export type GraphOf = ReturnType<typeof createGraphCache>

const logChoose = (n: number, k: number) => {
  let s = 0
  for (let i = 0; i < k; i++) s += Math.log((n - i) / (i + 1))
  return s
}

/**
 * A union bound on the probability that the graph restricted to the honest contributors is not
 * connected, when a fraction `bad` of the n members is corrupt or missing (docs/aggregation.md §4).
 * For a set S of s honest contributors to be cut off from the other h − s, every choice made by S must
 * fall in S ∪ B (B: the corrupt or missing members), and no choice of the others may fall in S:
 *   Σ_{s=1}^{⌊h/2⌋} C(h, s) · ((s − 1 + |B|)/(n − 1))^{s·k} · (1 − s/(n − 1))^{(h − s)·k}
 * (choices are without repetition, which only makes both factors smaller). Returns log₂ of the bound.
 */
export function isolationBoundLog2(n: number, outDegree: number, bad: number): number {
  const b = Math.round(bad * n)
  const h = n - b
  let total = 0
  for (let s = 1; s <= Math.floor(h / 2); s++) {
    const log =
      logChoose(h, s) +
      s * outDegree * Math.log((s - 1 + b) / (n - 1)) +
      (h - s) * outDegree * Math.log(1 - s / (n - 1))
    total += Math.exp(log)
  }
  return Math.log2(total)
}
