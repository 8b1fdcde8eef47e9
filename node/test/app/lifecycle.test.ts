import { describe, expect, it } from 'vitest'
import { Lifecycle } from '../../src/app/lifecycle.ts'
import { createLogger, type LogEntry } from '../../src/log/logger.ts'

describe('Lifecycle', () => {
  it('stops services in reverse start order, logs a failing stop and carries on, and stops each once', async () => {
    const log: LogEntry[] = []
    const stopped: string[] = []
    const lifecycle = new Lifecycle(createLogger({ sink: (entry) => log.push(entry) }))
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
    // Each start is logged at debug level with the time since the node began starting (a slow step
    // makes a slow start), each stop that worked with its duration (a slow stop makes a slow restart).
    const started = (service: string) => ({
      time: expect.any(String),
      level: 'debug',
      msg: 'started',
      service,
      ms: expect.any(Number),
    })
    expect(log.filter((e) => e.level === 'debug')).toEqual([
      started('broker'),
      started('vault'),
      started('timer'),
      { time: expect.any(String), level: 'debug', msg: 'stopped', service: 'timer', ms: expect.any(Number) },
      { time: expect.any(String), level: 'debug', msg: 'stopped', service: 'broker', ms: expect.any(Number) },
    ])
    expect(log.filter((e) => e.level !== 'debug')).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        msg: 'error while stopping',
        service: 'vault',
        error: new Error('disk gone'),
      },
    ])
  })
})
