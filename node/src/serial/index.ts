export * from './link.ts'
export * from './message.ts'
