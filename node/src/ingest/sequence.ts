/**
 * Per-meter sequence and counter bookkeeping. The node acknowledges a contiguous high-water mark:
 * every seq in [base, mark] is stored. Records above the mark (after a gap) are kept sparse until the
 * gap is filled by a Resend. The cumulative counter must never go down with increasing seq: a record
 * is checked against its stored neighbours on both sides, so a fill-in must fit between them.
 *
 * The export counter (OBIS 2.8.0) is held to the same rule beside it: each stored seq keeps both
 * counters, and a record whose export counter is below its predecessor's or above its successor's
 * is refused as an export rollback (a snapshot from before export metering holds none: 0).
 *
 * A range the meter signed as gone (it no longer holds those records, docs/protocol.md §7 GONE)
 * counts as settled: the mark moves across it, it is no gap, and it carries no counter value (the
 * counter checks skip it and compare the stored records on either side).
 */

export interface SequenceSnapshot {
  base: number | null
  mark: number
  markEnergy: number
  /** The export counter at the mark (absent before export metering: 0). */
  markExport?: number
  /** [seq, energyWh] or, since export metering, [seq, energyWh, exportedWh]. */
  sparse: ([number, number] | [number, number, number])[]
  /** Ranges the meter declared gone (inclusive), in the order they were declared. */
  gone?: [number, number][]
}

export type Classification =
  | { kind: 'accept'; fillIn: boolean; gap?: { from: number; to: number } }
  | { kind: 'duplicate' }
  | { kind: 'before-start'; base: number }
  | { kind: 'counter-rollback'; neighbourSeq: number; neighbourEnergyWh: number }
  | { kind: 'export-rollback'; neighbourSeq: number; neighbourExportedWh: number }

export interface SequenceTracker {
  classify(seq: number, energyWh: number, exportedWh?: number): Classification
  /** Records a stored seq; returns true when the contiguous mark moved. */
  store(seq: number, energyWh: number, exportedWh?: number): boolean
  /**
   * Settles the seqs of [from, to] that are neither stored nor already gone as gone; returns the
   * sub-ranges that were newly settled (empty when the notice changes nothing).
   */
  skip(from: number, to: number): { from: number; to: number }[]
  /** Every range declared gone so far. */
  gone(): { from: number; to: number }[]
  has(seq: number): boolean
  /** All seq ≤ mark are stored; -1 / base-1 when nothing is. */
  readonly mark: number
  readonly base: number | null
  /** Missing ranges between the mark and the highest stored seq. */
  gaps(): { from: number; to: number }[]
  snapshot(): SequenceSnapshot
}

export function createSequenceTracker(initial?: SequenceSnapshot, firstSeq?: number): SequenceTracker {
  let base: number | null = initial?.base ?? firstSeq ?? null
  let mark = initial?.mark ?? (base === null ? -1 : base - 1)
  let markEnergy = initial?.markEnergy ?? 0
  let markExport = initial?.markExport ?? 0
  const sparse = new Map<number, number>((initial?.sparse ?? []).map(([s, e]) => [s, e]))
  /** The export counter of each seq in `sparse`. */
  const sparseExport = new Map<number, number>((initial?.sparse ?? []).map(([s, , x]) => [s, x ?? 0]))
  const goneRanges: [number, number][] = (initial?.gone ?? []).map(([a, b]) => [a, b])

  const goneAt = (seq: number): [number, number] | undefined =>
    goneRanges.find(([a, b]) => seq >= a && seq <= b)

  const highest = (): number => {
    let h = mark
    for (const seq of sparse.keys()) if (seq > h) h = seq
    for (const [, b] of goneRanges) if (b > h) h = b
    return h
  }

  /** Moves the mark over every stored or gone seq that follows it. */
  const advance = (): boolean => {
    let moved = false
    for (;;) {
      if (sparse.has(mark + 1)) {
        mark++
        markEnergy = sparse.get(mark) as number
        markExport = sparseExport.get(mark) ?? 0
        sparse.delete(mark)
        sparseExport.delete(mark)
      } else {
        const range = goneAt(mark + 1)
        if (range === undefined) return moved
        mark = range[1]
      }
      moved = true
    }
  }

  return {
    classify(seq, energyWh, exportedWh = 0) {
      if (base !== null && seq < base) return { kind: 'before-start', base }
      if ((base !== null && seq <= mark) || sparse.has(seq) || goneAt(seq) !== undefined)
        return { kind: 'duplicate' }
      // Predecessor: the highest stored seq below, else the mark.
      let predSeq = base !== null && mark >= base ? mark : -1
      let predEnergy = markEnergy
      let predExport = markExport
      let succSeq = Number.POSITIVE_INFINITY
      let succEnergy = 0
      let succExport = 0
      for (const [s, e] of sparse) {
        if (s < seq && s > predSeq) {
          predSeq = s
          predEnergy = e
          predExport = sparseExport.get(s) ?? 0
        }
        if (s > seq && s < succSeq) {
          succSeq = s
          succEnergy = e
          succExport = sparseExport.get(s) ?? 0
        }
      }
      if (predSeq >= 0 && energyWh < predEnergy) {
        return { kind: 'counter-rollback', neighbourSeq: predSeq, neighbourEnergyWh: predEnergy }
      }
      if (succSeq !== Number.POSITIVE_INFINITY && energyWh > succEnergy) {
        return { kind: 'counter-rollback', neighbourSeq: succSeq, neighbourEnergyWh: succEnergy }
      }
      if (predSeq >= 0 && exportedWh < predExport) {
        return { kind: 'export-rollback', neighbourSeq: predSeq, neighbourExportedWh: predExport }
      }
      if (succSeq !== Number.POSITIVE_INFINITY && exportedWh > succExport) {
        return { kind: 'export-rollback', neighbourSeq: succSeq, neighbourExportedWh: succExport }
      }
      const top = highest()
      if (base === null) return { kind: 'accept', fillIn: false }
      if (seq > top + 1) return { kind: 'accept', fillIn: false, gap: { from: top + 1, to: seq - 1 } }
      return { kind: 'accept', fillIn: seq < top }
    },
    store(seq, energyWh, exportedWh = 0) {
      if (base === null) {
        base = seq
        mark = seq - 1
      }
      if (seq <= mark || sparse.has(seq) || goneAt(seq) !== undefined) return false
      sparse.set(seq, energyWh)
      sparseExport.set(seq, exportedWh)
      return advance()
    },
    skip(from, to) {
      // Nothing below the first seq ever existed for this node; a meter never vouches for those.
      if (base === null) base = from
      // Only what lies between the mark and the highest seq seen can be a gap: a notice about
      // seqs the node has not even heard of yet settles nothing (and cannot make the mark jump).
      const lo = Math.max(from, mark + 1, base)
      const hi = Math.min(to, highest())
      const settled: { from: number; to: number }[] = []
      if (lo > hi) return settled
      const held: [number, number][] = [
        ...[...sparse.keys()]
          .filter((seq) => seq >= lo && seq <= hi)
          .map((seq): [number, number] => [seq, seq]),
        ...goneRanges.filter(([a, b]) => b >= lo && a <= hi),
      ].sort((x, y) => x[0] - y[0])
      let next = lo
      for (const [a, b] of held) {
        if (a > next) settled.push({ from: next, to: a - 1 })
        next = Math.max(next, b + 1)
      }
      if (next <= hi) settled.push({ from: next, to: hi })
      for (const r of settled) goneRanges.push([r.from, r.to])
      if (settled.length > 0) advance()
      return settled
    },
    gone: () => goneRanges.map(([from, to]) => ({ from, to })),
    has(seq) {
      return (base !== null && seq >= base && seq <= mark) || sparse.has(seq) || goneAt(seq) !== undefined
    },
    get mark() {
      return mark
    },
    get base() {
      return base
    },
    gaps() {
      const out: { from: number; to: number }[] = []
      let prev = mark
      const held: [number, number][] = [
        ...[...sparse.keys()].map((seq): [number, number] => [seq, seq]),
        ...goneRanges.filter(([, b]) => b > mark),
      ].sort((a, b) => a[0] - b[0])
      for (const [a, b] of held) {
        if (a > prev + 1) out.push({ from: prev + 1, to: a - 1 })
        prev = Math.max(prev, b)
      }
      return out
    },
    snapshot: () => ({
      base,
      mark,
      markEnergy,
      markExport,
      sparse: [...sparse].map(([s, e]): [number, number, number] => [s, e, sparseExport.get(s) ?? 0]),
      ...(goneRanges.length > 0 ? { gone: goneRanges.map(([a, b]): [number, number] => [a, b]) } : {}),
    }),
  }
}
