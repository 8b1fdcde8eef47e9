/**
 * Loaded into the household node under test with `--import` (bench/support/chaos-node.ts): the
 * faults that have to happen inside its process, switched from outside through files in a control
 * directory (CHAOS_CONTROL_DIR), so the node's own code runs unchanged:
 *
 *   disk-full        while this file exists, every write through node:fs/promises to a file opened
 *                    under the data directory (CHAOS_DATA_DIR; not its meter/, the virtual meter's
 *                    stand-in for a real meter's own flash) lands half its bytes and fails with
 *                    ENOSPC, and statfs says no byte is free (as test/support/full-disk.ts does for
 *                    one ingestor; written again here because that helper closes over the very
 *                    `open` this file replaces). The node's disk calls go through
 *                    node/src/storage/disk.ts, which imports these functions by name:
 *                    syncBuiltinESMExports makes those imports see the wrapped ones. Helia's
 *                    LevelDB stores under the data directory refuse their writes meanwhile too, and
 *                    a store that refused one keeps refusing until it is reopened (LevelDB's
 *                    background error after a compaction failed on ENOSPC).
 *   clock-offset-ms  a number: the wall clock (Date.now and `new Date()`) runs that far from the
 *                    real one. Re-read every 200 ms, so a jump happens while the node runs.
 *   chain requests   with CHAOS_CHAIN_PORT and CHAOS_RPC_PROXY_PORT set, the node's HTTP requests
 *                    to its dev chain (127.0.0.1:CHAOS_CHAIN_PORT) go to the fault-injecting proxy
 *                    instead (test/support/faulty-rpc-proxy.ts, run by the harness), which forwards
 *                    them to the chain: the dev chain is a process of its own that the node spawns,
 *                    on a port it is given, so there is no other place to put a proxy between them.
 */
import { existsSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const control = process.env.CHAOS_CONTROL_DIR
const dataDir = process.env.CHAOS_DATA_DIR

if (control !== undefined && dataDir !== undefined) {
  installFullDisk(join(control, 'disk-full'), dataDir)
  installClock(join(control, 'clock-offset-ms'))
  const chainPort = process.env.CHAOS_CHAIN_PORT
  const proxyPort = process.env.CHAOS_RPC_PROXY_PORT
  if (chainPort && proxyPort) installChainRedirect(chainPort, proxyPort)
  syncBuiltinESMExports()
}

function installFullDisk(flag: string, under: string): void {
  const fsp = require('node:fs/promises') as typeof import('node:fs/promises')
  const originalOpen = fsp.open
  const originalStatfs = fsp.statfs
  const enospc = () =>
    Object.assign(new Error('ENOSPC: no space left on device, write (injected)'), {
      code: 'ENOSPC',
      errno: -28,
    })
  const full = () => existsSync(flag)
  const wrappedOpen = (async (
    path: Parameters<typeof originalOpen>[0],
    flags?: string | number,
    mode?: number,
  ) => {
    const handle = await originalOpen(path, flags, mode)
    // The virtual meter keeps its state under <data>/meter/ only because it runs in the node's
    // process; a real meter writes its own flash, which the node's full disk does not fill.
    if (!String(path).startsWith(under) || String(path).startsWith(join(under, 'meter'))) return handle
    const torn = async (bytes: Uint8Array) => {
      await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)))
      throw enospc()
    }
    return new Proxy(handle, {
      get(target, prop) {
        if (full() && prop === 'writev') return (buffers: Uint8Array[]) => torn(Buffer.concat(buffers))
        if (full() && prop === 'writeFile')
          return (data: string | Uint8Array) => torn(typeof data === 'string' ? Buffer.from(data) : data)
        if (full() && prop === 'write')
          return (data: string | Uint8Array) => torn(typeof data === 'string' ? Buffer.from(data) : data)
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  }) as typeof originalOpen
  const wrappedStatfs = (async (
    path: Parameters<typeof originalStatfs>[0],
    options?: { bigint?: boolean },
  ) => {
    const stats = await originalStatfs(path, options as { bigint: false })
    if (!full() || !String(path).startsWith(under)) return stats
    return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, {
      bavail: typeof stats.bavail === 'bigint' ? 0n : 0,
      bfree: typeof stats.bfree === 'bigint' ? 0n : 0,
    })
  }) as typeof originalStatfs
  fsp.open = wrappedOpen
  fsp.statfs = wrappedStatfs
  installFullLevel(full, under)
}

/**
 * Helia's block and data stores are LevelDB (classic-level, native, outside the bundle: this
 * require gets the very module the node loads). While the disk is full, every put, del and batch
 * of a database under the data directory fails as LevelDB fails on ENOSPC (code LEVEL_IO_ERROR,
 * strerror's text in the message) and writes nothing, as test/support/full-level.ts does in tests.
 */
function installFullLevel(full: () => boolean, under: string): void {
  type Method = (this: { location?: string }, ...args: unknown[]) => Promise<unknown>
  const { ClassicLevel } = require('classic-level') as { ClassicLevel: { prototype: Record<string, Method> } }
  const proto = ClassicLevel.prototype
  // LevelDB's background error: a database that refused a write on the full disk (its compaction
  // failed) keeps refusing until it is reopened, space or not (test/support/full-level.ts, sticky).
  const poisoned = new WeakSet<object>()
  const originalOpen = proto._open as Method
  proto._open = async function (this: { location?: string }, ...args: unknown[]) {
    const opened = await originalOpen.apply(this, args)
    poisoned.delete(this)
    return opened
  }
  for (const name of ['_put', '_del', '_batch']) {
    const original = proto[name] as Method
    proto[name] = async function (this: { location?: string }, ...args: unknown[]) {
      if ((full() || poisoned.has(this)) && String(this.location ?? '').startsWith(under)) {
        poisoned.add(this)
        throw Object.assign(
          new Error(`IO error: ${this.location}/000005.log: No space left on device (injected)`),
          { code: 'LEVEL_IO_ERROR' },
        )
      }
      return original.apply(this, args)
    }
  }
}

function installClock(file: string): void {
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  let offset = 0
  const read = () => {
    try {
      const value = Number(readFileSync(file, 'utf8').trim())
      offset = Number.isFinite(value) ? value : 0
    } catch {
      offset = 0
    }
  }
  read()
  setInterval(read, 200).unref()
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + offset)
      else super(...(args as [number]))
    }
    static override now(): number {
      return realNow() + offset
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor
}

function installChainRedirect(chainPort: string, proxyPort: string): void {
  const original = http.request
  const from = `127.0.0.1:${chainPort}`
  const redirect = (url: unknown): unknown => {
    if (typeof url === 'string' && url.includes(`//${from}`))
      return url.replace(from, `127.0.0.1:${proxyPort}`)
    if (url instanceof URL && url.host === from) {
      const copy = new URL(url)
      copy.port = proxyPort
      return copy
    }
    return url
  }
  http.request = ((url: unknown, ...rest: unknown[]) =>
    (original as (...a: unknown[]) => http.ClientRequest)(redirect(url), ...rest)) as typeof http.request
}
