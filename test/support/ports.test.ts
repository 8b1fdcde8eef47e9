import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { claimPort, isPortInUse, reservePort, startOnFreePort } from './ports.ts'

const PORTS = fileURLToPath(new URL('./ports.ts', import.meta.url))

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 32768
  }
}

interface ChildReservation {
  ports: number[]
  /** Ends the child, and with it its claims. */
  exit(): Promise<void>
}

/** Reserves `count` ports in a separate Node process, which holds them until exit() is called. */
function reserveInChild(count: number): Promise<ChildReservation> {
  const script = `import { reservePort } from ${JSON.stringify(PORTS)}
const ports = []
for (let i = 0; i < ${count}; i++) ports.push(await reservePort())
process.stdout.write(JSON.stringify(ports) + '\\n')
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const exited = new Promise<void>((done) => child.once('exit', () => done()))
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += String(d)
      if (out.endsWith('\n')) {
        resolve({
          ports: JSON.parse(out) as number[],
          exit: () => {
            child.stdin.end()
            return exited
          },
        })
      }
    })
    child.stderr.on('data', (d) => {
      err += String(d)
    })
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before reserving: ${err}`)))
  })
}

describe('reservePort', () => {
  it('hands out distinct bindable loopback ports outside the ephemeral range', async () => {
    const ports = [await reservePort(), await reservePort(), await reservePort()]
    expect(new Set(ports).size).toBe(3)
    for (const port of ports) {
      expect(port).toBeLessThan(ephemeralLow())
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', resolve)
      })
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('never hands the same port to two processes reserving at the same time', async () => {
    // Both hold their claims until both have reserved: a port one released on exit may be reused.
    const [a, b] = await Promise.all([reserveInChild(40), reserveInChild(40)])
    await Promise.all([a.exit(), b.exit()])
    expect(new Set([...a.ports, ...b.ports]).size).toBe(80)
  }, 30_000)

  it('skips a port a live process claimed, and takes over the claim of one that died', async () => {
    const child = await reserveInChild(1)
    await child.exit()
    const [port] = child.ports
    const lock = join(tmpdir(), 'zkmeter-test-ports', String(port))
    // The test runner's own parent lives; a process that has exited does not.
    writeFileSync(lock, String(process.ppid))
    expect(claimPort(port as number)).toBe(false)
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString()
    writeFileSync(lock, dead)
    expect(claimPort(port as number)).toBe(true)
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid))
  })
})

describe('startOnFreePort', () => {
  it('retries a start that finds its port taken, on a fresh port', async () => {
    const tried: number[] = []
    const result = await startOnFreePort(async (port) => {
      tried.push(port)
      if (tried.length < 3) throw new Error(`Error: Address already in use (port ${port})`)
      return `listening on ${port}`
    })
    expect(tried).toHaveLength(3)
    expect(new Set(tried).size).toBe(3)
    expect(result).toBe(`listening on ${tried[2]}`)
  })

  it('throws any other failure at once, and gives up after the attempts', async () => {
    let calls = 0
    await expect(
      startOnFreePort(async () => {
        calls++
        throw new Error('mosquitto is not installed')
      }),
    ).rejects.toThrow('not installed')
    expect(calls).toBe(1)
    calls = 0
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })
    await expect(
      startOnFreePort(async () => {
        calls++
        throw inUse
      }, 2),
    ).rejects.toBe(inUse)
    expect(calls).toBe(2)
  })

  it('recognises EADDRINUSE from Node and from a child program', () => {
    expect(isPortInUse(Object.assign(new Error('x'), { code: 'EADDRINUSE' }))).toBe(true)
    expect(isPortInUse(new Error('1700000000: Error: Address already in use'))).toBe(true)
    expect(isPortInUse(new Error('connection refused'))).toBe(false)
  })
})
