/** Types of tools/build-node.mjs (imported by bench/node.ts). */
export declare const BUNDLE: string
export declare const NODE_RUN_FLAGS: readonly string[]
export declare function buildNode(): Promise<{ file: string; bytes: number; ms: number }>
