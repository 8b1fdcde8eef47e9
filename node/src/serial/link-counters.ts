/** The serial link's counters (SerialMeterLink.counters()), shared by the modules that count. */
export interface SerialLinkCounters {
  frames: number
  crcErrors: number
  messagesDropped: number
  otherFrames: number
  /** Complete messages handed to onMessage: every topic but tele/<meter>/SENSOR, PERIOD and GONE. */
  otherMessages: number
  ingested: number
  rejected: number
  ingestFailed: number
  queueFull: number
  sent: number
  opens: number
  disconnects: number
}

export const newCounters = (): SerialLinkCounters => ({
  frames: 0,
  crcErrors: 0,
  messagesDropped: 0,
  otherFrames: 0,
  otherMessages: 0,
  ingested: 0,
  rejected: 0,
  ingestFailed: 0,
  queueFull: 0,
  sent: 0,
  opens: 0,
  disconnects: 0,
})
