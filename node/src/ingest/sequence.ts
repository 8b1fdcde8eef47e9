/**
 * Per-meter sequence and counter bookkeeping. The node acknowledges a contiguous high-water mark:
 * every seq in [base, mark] is stored. Records above the mark (after a gap) are kept sparse until the
 * gap is filled by a Resend. The cumulative counter must never go down with increasing seq: a record
 * is checked against its stored neighbours on both sides, so a fill-in must fit between them.
 */

export interface SequenceSnapshot {
  base: number | null
  mark: number
  markEnergy: number
  sparse: [number, number][]
}

export type Classification =
  | { kind: 'accept'; fillIn: boolean; gap?: { from: number; to: number } }
  | { kind: 'duplicate' }
  | { kind: 'before-start'; base: number }
  | { kind: 'counter-rollback'; neighbourSeq: number; neighbourEnergyWh: number }

export interface SequenceTracker {
  classify(seq: number, energyWh: number): Classification
  /** Records a stored seq; returns true when the contiguous mark moved. */
  store(seq: number, energyWh: number): boolean
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
  const sparse = new Map<number, number>(initial?.sparse ?? [])

  const highest = (): number => {
    let h = mark
    for (const seq of sparse.keys()) if (seq > h) h = seq
    return h
  }

  return {
    classify(seq, energyWh) {
      if (base !== null && seq < base) return { kind: 'before-start', base }
      if ((base !== null && seq <= mark) || sparse.has(seq)) return { kind: 'duplicate' }
      // Predecessor: the highest stored seq below, else the mark.
      let predSeq = base !== null && mark >= base ? mark : -1
      let predEnergy = markEnergy
      let succSeq = Number.POSITIVE_INFINITY
      let succEnergy = 0
      for (const [s, e] of sparse) {
        if (s < seq && s > predSeq) {
          predSeq = s
          predEnergy = e
        }
        if (s > seq && s < succSeq) {
          succSeq = s
          succEnergy = e
        }
      }
      if (predSeq >= 0 && energyWh < predEnergy) {
        return { kind: 'counter-rollback', neighbourSeq: predSeq, neighbourEnergyWh: predEnergy }
      }
      if (succSeq !== Number.POSITIVE_INFINITY && energyWh > succEnergy) {
        return { kind: 'counter-rollback', neighbourSeq: succSeq, neighbourEnergyWh: succEnergy }
      }
      const top = highest()
      if (base === null) return { kind: 'accept', fillIn: false }
      if (seq > top + 1) return { kind: 'accept', fillIn: false, gap: { from: top + 1, to: seq - 1 } }
      return { kind: 'accept', fillIn: seq < top }
    },
    store(seq, energyWh) {
      if (base === null) {
        base = seq
        mark = seq - 1
      }
      if (seq <= mark || sparse.has(seq)) return false
      sparse.set(seq, energyWh)
      let moved = false
      while (sparse.has(mark + 1)) {
        mark++
        markEnergy = sparse.get(mark) as number
        sparse.delete(mark)
        moved = true
      }
      return moved
    },
    has(seq) {
      return (base !== null && seq >= base && seq <= mark) || sparse.has(seq)
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
      for (const seq of [...sparse.keys()].sort((a, b) => a - b)) {
        if (seq > prev + 1) out.push({ from: prev + 1, to: seq - 1 })
        prev = seq
      }
      return out
    },
    snapshot: () => ({ base, mark, markEnergy, sparse: [...sparse] }),
  }
}
