/**
 * A narrow guard against one libp2p failure escaping its caller (see below); everything else keeps
 * Node's behaviour.
 */
import type { Logger } from '../../log/logger.ts'

/*
 * libp2p 3.3 was seen (once, under load: docs/mesh.md §13) to let an EncryptionFailedError from a
 * timed-out outbound noise handshake escape as an uncaught error, which would kill the whole
 * household node (billing, alarms) for a failed dial to a neighbour. The failure is the dial's alone,
 * so that one error, by name, is logged and dropped; anything else keeps Node's behaviour — when no
 * other handler is installed, it is re-thrown from the handler, which terminates the process as an
 * uncaught error would.
 */
const guardLogs = new Set<Logger>()
const isEncryptionFailure = (error: unknown) =>
  error instanceof Error && error.name === 'EncryptionFailedError'
function onUncaught(error: unknown): void {
  if (isEncryptionFailure(error)) {
    for (const log of guardLogs) {
      log.warn('libp2p dial failed outside its caller', { error })
      break
    }
    return
  }
  if (process.listenerCount('uncaughtException') === 1) throw error
}
function onUnhandledRejection(reason: unknown): void {
  if (isEncryptionFailure(reason)) {
    onUncaught(reason)
    return
  }
  if (process.listenerCount('unhandledRejection') === 1) throw reason
}
export function guardStrayDialErrors(log: Logger): () => void {
  if (guardLogs.size === 0) {
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUnhandledRejection)
  }
  guardLogs.add(log)
  return () => {
    if (!guardLogs.delete(log) || guardLogs.size > 0) return
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUnhandledRejection)
  }
}
