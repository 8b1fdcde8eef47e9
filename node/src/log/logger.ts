/**
 * The node's one logger: JSON lines with the same field names everywhere —
 * `time` (ISO 8601), `level`, `source` (the component, set once with `child`), `msg` (a sentence for
 * a person), then the facts of the event as their own fields. Keys, salts and readings are never
 * passed to it: callers log identifiers (meter address, period start, CID), never secrets or values.
 *
 * A logger writes entries to a sink. The default sink is one JSON line on stderr (stdout stays free
 * for a command's own output); tests and embedders pass their own sink to collect entries.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LogEntry {
  time: string
  level: LogLevel
  source?: string
  msg: string
  [field: string]: unknown
}

export type LogSink = (entry: LogEntry) => void

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** A logger whose entries carry these fields too (e.g. `{ source: 'mesh' }`); the child's win. */
  child(bindings: { source?: string } & Record<string, unknown>): Logger
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

/** One JSON line on stderr per entry. */
export const stderrSink: LogSink = (entry) => {
  process.stderr.write(`${JSON.stringify(entry, jsonSafe)}\n`)
}

export interface LoggerOptions {
  sink?: LogSink
  /** Entries below this level are dropped (default 'debug': everything). */
  level?: LogLevel
  clock?: () => Date
}

export function createLogger(options: LoggerOptions = {}, bindings: Record<string, unknown> = {}): Logger {
  const sink = options.sink ?? stderrSink
  const threshold = LEVELS.indexOf(options.level ?? 'debug')
  const clock = options.clock ?? (() => new Date())
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < threshold) return
    // Fields may not overwrite the entry's own keys: a field named `msg` or `level` would make the
    // line lie about what happened.
    const { time: _t, level: _l, msg: _m, source, ...rest } = { ...bindings, ...fields }
    // Key order is the line's reading order: when, how bad, who, what, then the facts.
    const who = source === undefined ? {} : { source: String(source) }
    try {
      sink({ time: clock().toISOString(), level, ...who, msg, ...rest })
    } catch {
      // A failing sink (a closed stderr at shutdown) must never take the node down with it.
    }
  }
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  }
}

/** A logger that drops everything: the default where a component is used as a library. */
export const silentLogger: Logger = createLogger({ sink: () => {} })

/** Errors as `{ name, message }` and bigints as decimal strings, so every entry serialises. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}
