export * from '#protocol/serial/message.ts'
export * from './bridge.ts'
export * from './link.ts'
