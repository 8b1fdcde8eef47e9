/** The vault's public surface: other parts of the node import from here. */
export * from './batch.ts'
export * from './errors.ts'
export * from './grant.ts'
export * from './keyfile.ts'
export * from './keys.ts'
export * from './manifest.ts'
export * from './record-codec.ts'
export * from './vault.ts'
