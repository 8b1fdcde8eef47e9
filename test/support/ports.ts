/**
 * Loopback ports for tests.
 *
 * A server of ours needs none of this: it listens on port 0 and the test reads back the port the
 * kernel bound (the node's `http.port`, `chain.embeddedPort` and `mqtt.embeddedPort`, the broker,
 * `serveJsonRpc` and libp2p's `/ip4/127.0.0.1/tcp/0` all accept 0). This module is for the rest:
 * programs that must be told their port before they start (mosquitto, a forked `zkmeter start`,
 * static libp2p peers that neighbours must know up front) and "a port where nothing listens".
 *
 * The old way (listen on 0, read the port, close, hand the number on) races with every suite running
 * in parallel: the number comes from the kernel's ephemeral range, and the kernel may give it to the
 * next listen(0) or outgoing connection of another test process before our program binds it.
 * reservePort() picks from outside the ephemeral range instead (no listen(0) or outgoing connection
 * is ever given such a port) and claims the number with an exclusive lock file, so no two test
 * processes are handed the same one; the claim ends with the process. A port that some unrelated
 * program holds is skipped by a bind check, and startOnFreePort() retries a start that still finds
 * its port taken.
 */
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** No port could be reserved: every candidate was claimed or in use. */
export class NoFreePortError extends Error {
  override name = 'NoFreePortError'
  constructor(tries: number, range: PortRange) {
    super(
      `no free loopback port in ${range.low}..${range.high} after ${tries} tries (outside the ephemeral range)`,
    )
  }
}

interface PortRange {
  low: number
  high: number
}

const LOCK_DIR = join(tmpdir(), 'zkmeter-test-ports')
const claimed = new Set<number>()
let releaseOnExit = false

/** Linux's ephemeral range; the documented default when it cannot be read. */
function ephemeralRange(): PortRange {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return { low, high }
  } catch {}
  return { low: 32768, high: 60999 }
}

/** Where reserved ports come from: below the ephemeral range, or above it if too little is below. */
function reservableRange(): PortRange {
  const ephemeral = ephemeralRange()
  // 10000 and up stays clear of the registered ports of services a developer may run.
  if (ephemeral.low - 10_000 >= 1000) return { low: 10_000, high: ephemeral.low - 1 }
  return { low: ephemeral.high + 1, high: 65_535 }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8'))
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Moves aside the claim of a process that died without releasing it (a test process killed by
 * signal skips its exit handler). Renamed first and checked after, so a claim another process made
 * on the same port in the meantime is put back, never removed.
 */
function clearDeadClaim(file: string, deadPid: number): void {
  const aside = `${file}.${process.pid}.${Date.now()}`
  try {
    renameSync(file, aside)
  } catch {
    return
  }
  if (ownerOf(aside) !== deadPid) {
    try {
      linkSync(aside, file)
    } catch {}
  }
  unlinkSync(aside)
}

/**
 * Claims `port` for this process unless a live test process holds it: true if claimed. (reservePort
 * picks the port; this is exported for its own test.)
 */
export function claimPort(port: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true })
  const file = join(LOCK_DIR, String(port))
  let fd: number
  try {
    fd = openSync(file, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const owner = ownerOf(file)
    if (owner === undefined || isAlive(owner)) return false
    clearDeadClaim(file, owner)
    try {
      fd = openSync(file, 'wx')
    } catch {
      return false
    }
  }
  writeSync(fd, String(process.pid))
  closeSync(fd)
  claimed.add(port)
  if (!releaseOnExit) {
    releaseOnExit = true
    process.once('exit', () => {
      for (const held of claimed) releaseClaim(held)
    })
  }
  return true
}

function releaseClaim(port: number): void {
  claimed.delete(port)
  try {
    unlinkSync(join(LOCK_DIR, String(port)))
  } catch {}
}

/** Whether 127.0.0.1:port can be bound right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/**
 * A loopback port that no other test process is handed and nothing listens on now, held for this
 * process until it exits. Race-free against parallel suites; a start that finds it taken anyway (an
 * unrelated program bound it since) is what startOnFreePort() retries.
 */
export async function reservePort(): Promise<number> {
  const range = reservableRange()
  const tries = 200
  for (let i = 0; i < tries; i++) {
    const port = range.low + Math.floor(Math.random() * (range.high - range.low + 1))
    if (claimed.has(port) || !claimPort(port)) continue
    if (await bindable(port)) return port
    releaseClaim(port)
  }
  throw new NoFreePortError(tries, range)
}

/** Whether an error says that a port was already taken (from Node, or in a child's own words). */
export function isPortInUse(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') return true
  return /EADDRINUSE|address already in use/i.test(error instanceof Error ? error.message : String(error))
}

/**
 * Starts something that must be told its port up front, on a reserved port; if the start fails
 * because the port is taken after all, tries again on a fresh one (`attempts` times in all). Any
 * other failure is thrown at once.
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await reservePort()
    try {
      return await start(port)
    } catch (error) {
      if (attempt >= attempts || !isPortInUse(error)) throw error
    }
  }
}
