/**
 * Simulated area load for judging forecasts: a number of homes, each with its own base load, a morning
 * and an evening peak at home-specific times (later mornings and a midday bump at weekends), evening
 * heating/cooling that drifts over the month, occasional appliance spikes and noise. Deterministic
 * for a seed (mulberry32), so tests and benches are reproducible.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SimulationOptions {
  homes?: number
  days?: number
  /** Intervals per day. */
  slots?: number
  seed?: number
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}

const bump = (hour: number, centre: number, width: number) => Math.exp(-0.5 * ((hour - centre) / width) ** 2)

/** Per-home Wh per interval, homes × (days·slots), as integers (what a meter reports). */
export function simulateHomes(options: SimulationOptions = {}): number[][] {
  const homes = options.homes ?? 20
  const days = options.days ?? 30
  const slots = options.slots ?? 96
  const random = mulberry32(options.seed ?? 1)
  const hoursPerSlot = 24 / slots
  return Array.from({ length: homes }, () => {
    const base = 40 + 60 * random() // Wh per 15 min ≈ 160–400 W always-on
    const morning = 6.5 + 1.5 * random()
    const evening = 18 + 2 * random()
    const peak = 150 + 250 * random()
    const heating = 50 * random()
    const out: number[] = []
    for (let d = 0; d < days; d++) {
      const weekend = d % 7 === 5 || d % 7 === 6
      const drift = 1 + (heating / 100) * (d / days) // a slowly colder month
      for (let s = 0; s < slots; s++) {
        const hour = (s + 0.5) * hoursPerSlot
        let wh = base
        wh += peak * 0.6 * bump(hour, weekend ? morning + 1.5 : morning, 1)
        wh += peak * drift * bump(hour, evening, 1.6)
        if (weekend) wh += peak * 0.4 * bump(hour, 13, 2)
        if (random() < 0.02) wh += 200 + 300 * random() // kettle, oven, washing machine
        wh *= 1 + 0.15 * gaussian(random)
        out.push(Math.max(0, Math.round(wh)))
      }
    }
    return out
  })
}

export function areaTotals(homes: readonly number[][]): number[] {
  const n = homes[0]?.length ?? 0
  return Array.from({ length: n }, (_, t) => homes.reduce((s, h) => s + (h[t] as number), 0))
}
