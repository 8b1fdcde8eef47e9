import { describe, expect, it, vi } from 'vitest'
import { createLogger, type LogEntry, stderrSink } from '../../src/log/logger.ts'

const fixedClock = () => new Date('2026-12-06T12:00:00.000Z')

describe('logger', () => {
  it('writes entries with time, level, source, msg and the event fields', () => {
    const entries: LogEntry[] = []
    const log = createLogger({ sink: (e) => entries.push(e), clock: fixedClock })
    log.child({ source: 'mesh' }).warn('rejected an alert', { id: 'a1' })
    expect(entries).toEqual([
      { time: '2026-12-06T12:00:00.000Z', level: 'warn', source: 'mesh', msg: 'rejected an alert', id: 'a1' },
    ])
  })

  it('lets a child add fields and never lets fields overwrite level, msg or time', () => {
    const entries: LogEntry[] = []
    const log = createLogger({ sink: (e) => entries.push(e), clock: fixedClock })
    log.child({ source: 'ingest' }).child({ meter: '0xabc' }).info('sealed', { level: 'error', msg: 'x' })
    expect(entries[0]).toMatchObject({ level: 'info', msg: 'sealed', source: 'ingest', meter: '0xabc' })
  })

  it('drops entries below the threshold', () => {
    const entries: LogEntry[] = []
    const log = createLogger({ sink: (e) => entries.push(e), level: 'warn' })
    log.debug('a')
    log.info('b')
    log.error('c')
    expect(entries.map((e) => e.msg)).toEqual(['c'])
  })

  it('survives a sink that throws', () => {
    const log = createLogger({
      sink: () => {
        throw new Error('stderr closed')
      },
    })
    expect(() => log.error('still fine')).not.toThrow()
  })

  it('prints one JSON line per entry on stderr, errors and bigints included', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      createLogger({ sink: stderrSink, clock: fixedClock }).error('failed', {
        error: new TypeError('bad'),
        total: 10n ** 20n,
      })
      const line = String(write.mock.calls[0]?.[0])
      expect(line.endsWith('\n')).toBe(true)
      expect(JSON.parse(line)).toEqual({
        time: '2026-12-06T12:00:00.000Z',
        level: 'error',
        msg: 'failed',
        error: { name: 'TypeError', message: 'bad' },
        total: '100000000000000000000',
      })
    } finally {
      write.mockRestore()
    }
  })
})
