/**
 * An injectable full disk (node/src/storage/disk.ts): files opened through it under `under` write
 * normally until `full` is set; then every write lands half of its bytes (a torn write, as a disk
 * that fills mid-write leaves it) and fails with ENOSPC. Clearing `full` is "space is back".
 */
import { open as fsOpen } from 'node:fs/promises'
import type { DiskOps } from '../../node/src/storage/disk.ts'
import { nodeDisk } from '../../node/src/storage/disk.ts'

export interface FullDisk {
  disk: DiskOps
  full: boolean
  /** Writes that failed with ENOSPC so far. */
  failures: number
}

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 })

export function fullDisk(under: string): FullDisk {
  const state: FullDisk = { disk: nodeDisk, full: false, failures: 0 }
  const open = (async (path: Parameters<typeof fsOpen>[0], flags?: string | number, mode?: number) => {
    const handle = await fsOpen(path, flags, mode)
    if (!String(path).startsWith(under)) return handle
    const torn = async (bytes: Uint8Array) => {
      await handle.write(bytes.subarray(0, Math.floor(bytes.length / 2)))
      state.failures++
      throw enospc()
    }
    return new Proxy(handle, {
      get(target, prop) {
        if (state.full && prop === 'writev') return (buffers: Uint8Array[]) => torn(Buffer.concat(buffers))
        if (state.full && prop === 'writeFile')
          return (data: string | Uint8Array) => torn(typeof data === 'string' ? Buffer.from(data) : data)
        if (state.full && prop === 'write') return (data: Uint8Array) => torn(data)
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  }) as DiskOps['open']
  state.disk = { ...nodeDisk, open }
  return state
}
