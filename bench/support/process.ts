/** Small helpers the benches share for the processes they start: a free loopback port, a process's RSS. */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'

/** A TCP port the OS has just handed out on 127.0.0.1 (closed again, for a child to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** Resident memory of a process in MB (Linux /proc); 0 once it has exited. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}
