/**
 * Who may take part in an area's aggregation: registered, active meters of that area (DESIGN.md §2:
 * the utility registers meter → household, areaId on the ledger). The mesh only asks
 * `isMember(meter, area)`; where the answer comes from is the integrator's choice:
 * - `snapshotRegistry`: a list of `{ meter, area, active }` (in code or a JSON file), e.g. exported
 *   from the ledger's MeterRegistered/MeterDeactivated events;
 * - `readerRegistry`: any `readMeter(meter)` lookup, cached for a while so a flood of announcements
 *   cannot become a flood of RPC calls;
 * - `ledgerRegistry`: the chain itself, through the ledger client's `meter(address)` reader
 *   (contracts/ts/ledger.ts: the contract's `meters(address)` view).
 */
import { readFile } from 'node:fs/promises'
import { InvalidInputError } from '../errors.ts'
import type { Address } from './signing.ts'

export interface MeterRegistry {
  isMember(meter: Address, area: number): Promise<boolean>
}

export interface RegistryEntry {
  meter: string
  area: number
  active: boolean
}

function normaliseEntry(entry: unknown, index: number): RegistryEntry {
  const e = entry as Partial<RegistryEntry> | null
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.meter !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(e.meter) ||
    typeof e.area !== 'number' ||
    !Number.isInteger(e.area) ||
    e.area < 0 ||
    e.area > 0xffff_ffff ||
    typeof e.active !== 'boolean'
  ) {
    throw new InvalidInputError(
      `registry entry ${index} must be { meter: 0x-address, area: uint32, active: boolean }, got ${JSON.stringify(entry)?.slice(0, 120)}`,
    )
  }
  return { meter: e.meter.toLowerCase(), area: e.area, active: e.active }
}

export function snapshotRegistry(entries: readonly RegistryEntry[]): MeterRegistry {
  const members = new Map<string, number>()
  entries.forEach((entry, i) => {
    const e = normaliseEntry(entry, i)
    if (e.active) members.set(e.meter, e.area)
    else members.delete(e.meter)
  })
  return { isMember: async (meter, area) => members.get(meter.toLowerCase()) === area }
}

/** Reads a JSON array of `{ meter, area, active }` (later entries for a meter override earlier ones). */
export async function snapshotRegistryFromFile(path: string): Promise<MeterRegistry> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch (cause) {
    throw new InvalidInputError(
      `cannot read the registry snapshot ${path}: it must be a JSON array of entries`,
      {
        cause,
      },
    )
  }
  if (!Array.isArray(value)) throw new InvalidInputError(`registry snapshot ${path} must be a JSON array`)
  return snapshotRegistry(value as RegistryEntry[])
}

export interface MeterInfo {
  areaId: number
  registered: boolean
  active: boolean
}

export interface ReaderRegistryOptions {
  /** How long an answer is trusted; deactivation takes effect after at most this long. */
  cacheMs?: number
  now?: () => number
}

export function readerRegistry(
  readMeter: (meter: Address) => Promise<MeterInfo>,
  options: ReaderRegistryOptions = {},
): MeterRegistry {
  const cacheMs = options.cacheMs ?? 60_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { at: number; info: Promise<MeterInfo> }>()
  return {
    async isMember(meter, area) {
      const key = meter.toLowerCase()
      let hit = cache.get(key)
      if (hit === undefined || now() - hit.at > cacheMs) {
        if (cache.size > 10_000) cache.clear()
        hit = { at: now(), info: readMeter(key as Address) }
        cache.set(key, hit)
      }
      try {
        const info = await hit.info
        return info.registered && info.active && info.areaId === area
      } catch {
        cache.delete(key)
        return false
      }
    },
  }
}

/** What the registry needs of the ledger client (contracts/ts/ledger.ts `LedgerClient.meter`). */
export interface LedgerMeterReader {
  meter(meter: string): Promise<MeterInfo>
}

/** Membership from the chain: registered, active meters whose `areaId` is the area. */
export function ledgerRegistry(
  ledger: LedgerMeterReader,
  options: ReaderRegistryOptions = {},
): MeterRegistry {
  return readerRegistry((meter) => ledger.meter(meter), options)
}
