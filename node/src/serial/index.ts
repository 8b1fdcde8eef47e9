export * from './bridge.ts'
export * from './link.ts'
export * from './message.ts'
