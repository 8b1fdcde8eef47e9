import { describe, expect, it } from 'vitest'
import { Lifecycle } from '../../src/app/lifecycle.ts'

describe('Lifecycle', () => {
  it('stops services in reverse start order, logs a failing stop and carries on, and stops each once', async () => {
    const log: Record<string, unknown>[] = []
    const stopped: string[] = []
    const lifecycle = new Lifecycle((entry) => log.push(entry))
    const broker = lifecycle.started('broker', {
      stop: async () => {
        stopped.push('broker')
      },
    })
    lifecycle.started('vault', async () => {
      stopped.push('vault')
      throw new Error('disk gone')
    })
    lifecycle.started('timer', () => {
      stopped.push('timer')
    })
    expect(typeof broker.stop).toBe('function')

    await Promise.all([lifecycle.stop(), lifecycle.stop()])
    expect(stopped).toEqual(['timer', 'vault', 'broker'])
    expect(log).toEqual([
      { level: 'warn', msg: 'error while stopping', service: 'vault', error: 'Error: disk gone' },
    ])
  })
})
