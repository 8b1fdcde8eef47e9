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
 *
 * The registry also says who may sign mesh messages for a meter besides the meter itself: the household
 * account the utility bound to it (`householdOf`). A hardware meter keeps its key, so its home's node
 * signs with that account instead (docs/mesh.md §3); `signsFor` is the one check every service uses.
 */
import { readFile } from 'node:fs/promises'
import { InvalidInputError } from '#protocol/errors.ts'
import type { Address } from './signing.ts'

export interface MeterRegistry {
  isMember(meter: Address, area: number): Promise<boolean>
  /**
   * The household account registered for an active meter (lowercase), which may sign mesh messages
   * for that meter and no other; undefined when there is none (or the registry does not know: then
   * only the meter's own key signs for it).
   */
  householdOf?(meter: Address): Promise<Address | undefined>
}

export interface RegistryEntry {
  meter: string
  area: number
  active: boolean
  /** The household account bound to the meter; absent: only the meter's own key signs for it. */
  household?: string
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`

/** A usable household address, lowercased; the zero address (an unregistered meter's) is none. */
function householdAddress(value: unknown): Address | undefined {
  if (typeof value !== 'string' || !ADDRESS.test(value)) return undefined
  const address = value.toLowerCase()
  return address === ZERO_ADDRESS ? undefined : (address as Address)
}

/**
 * Whether a signature that recovered to `signer` speaks for `meter`: the meter's own key, or the
 * household account the registry binds to that meter. An account bound to another meter does not
 * speak for this one; a signature that did not recover (null) speaks for nobody.
 */
export async function signsFor(
  registry: MeterRegistry,
  meter: Address,
  signer: Address | null,
): Promise<boolean> {
  if (signer === null) return false
  const claimed = meter.toLowerCase()
  const recovered = signer.toLowerCase()
  if (recovered === claimed) return true
  if (registry.householdOf === undefined) return false
  try {
    return (await registry.householdOf(claimed as Address)) === recovered
  } catch {
    return false
  }
}

function normaliseEntry(entry: unknown, index: number): RegistryEntry {
  const e = entry as Partial<RegistryEntry> | null
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.meter !== 'string' ||
    !ADDRESS.test(e.meter) ||
    typeof e.area !== 'number' ||
    !Number.isInteger(e.area) ||
    e.area < 0 ||
    e.area > 0xffff_ffff ||
    typeof e.active !== 'boolean' ||
    (e.household !== undefined && householdAddress(e.household) === undefined)
  ) {
    throw new InvalidInputError(
      `registry entry ${index} must be { meter: 0x-address, area: uint32, active: boolean, household?: non-zero 0x-address }, got ${JSON.stringify(entry)?.slice(0, 120)}`,
    )
  }
  const household = householdAddress(e.household)
  return {
    meter: e.meter.toLowerCase(),
    area: e.area,
    active: e.active,
    ...(household === undefined ? {} : { household }),
  }
}

export function snapshotRegistry(entries: readonly RegistryEntry[]): MeterRegistry {
  const members = new Map<string, { area: number; household: Address | undefined }>()
  entries.forEach((entry, i) => {
    const e = normaliseEntry(entry, i)
    if (e.active) members.set(e.meter, { area: e.area, household: householdAddress(e.household) })
    else members.delete(e.meter)
  })
  return {
    isMember: async (meter, area) => members.get(meter.toLowerCase())?.area === area,
    householdOf: async (meter) => members.get(meter.toLowerCase())?.household,
  }
}

/** Reads a JSON array of `{ meter, area, active, household? }` (later entries for a meter override earlier ones). */
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
  /**
   * The household account the utility registered for the meter (the ledger's `meters(address)` view
   * returns it; the registry lowercases it). Absent or the zero address: only the meter's key signs.
   */
  household?: string
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
  /** One cached read serves both questions; a failed read is not cached and answers "nobody". */
  async function read(meter: Address): Promise<MeterInfo | undefined> {
    const key = meter.toLowerCase()
    let hit = cache.get(key)
    if (hit === undefined || now() - hit.at > cacheMs) {
      if (cache.size > 10_000) cache.clear()
      hit = { at: now(), info: readMeter(key as Address) }
      cache.set(key, hit)
    }
    try {
      return await hit.info
    } catch {
      cache.delete(key)
      return undefined
    }
  }
  return {
    async isMember(meter, area) {
      const info = await read(meter)
      return info?.registered === true && info.active && info.areaId === area
    },
    async householdOf(meter) {
      const info = await read(meter)
      // A deactivated meter has nobody speaking for it, its household included.
      if (info === undefined || !info.registered || !info.active) return undefined
      return householdAddress(info.household)
    },
  }
}

/** What the registry needs of the ledger client (contracts/ts/ledger.ts `LedgerClient.meter`). */
export interface LedgerMeterReader {
  meter(meter: string): Promise<MeterInfo>
}

/**
 * Membership from the chain: registered, active meters whose `areaId` is the area, and the household
 * account the utility registered for each (`householdOf`).
 */
export function ledgerRegistry(
  ledger: LedgerMeterReader,
  options: ReaderRegistryOptions = {},
): MeterRegistry {
  return readerRegistry((meter) => ledger.meter(meter), options)
}
