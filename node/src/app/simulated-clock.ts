/**
 * Where the virtual meter's simulated time starts. It must never run backwards across restarts (the
 * meter refuses to, and its own checkpoint may be ahead of our last save), nor replay days of
 * downtime at 1440×: it resumes where it stopped plus at most one simulated hour.
 */
import { join } from 'node:path'
import { readMeterCheckpoint } from '../meter/index.ts'
import { readJsonFile, writeJsonAtomic } from '../storage/json-file.ts'

export interface SimulatedStart {
  start: number
  save(now: number): Promise<void>
}

export async function simulatedStart(
  dataDir: string,
  speed: number,
  meterStateFile: string,
  /** The virtual meter's key: its checkpoint is sealed under it (meter/checkpoint.ts). */
  meterPrivateKey: Uint8Array,
): Promise<SimulatedStart> {
  const file = join(dataDir, 'meter', 'clock.json')
  const saved = (await readJsonFile(file)) as { simTime?: number; savedAt?: number } | undefined
  let checkpoint: { time: number } | undefined
  try {
    checkpoint = readMeterCheckpoint(meterStateFile, meterPrivateKey)
  } catch {
    checkpoint = undefined // a damaged checkpoint is the meter's to report at start
  }
  let start: number
  if (saved?.simTime && saved.savedAt) {
    const downtime = Math.max(0, (Date.now() - saved.savedAt) / 1000)
    start = Math.ceil(Math.max(saved.simTime, checkpoint?.time ?? 0) + Math.min(downtime * speed, 3600))
  } else {
    const now = Math.floor(Date.now() / 1000)
    start = now - (now % 86_400)
  }
  return { start, save: (simTime) => writeJsonAtomic(file, { simTime, savedAt: Date.now() }) }
}
