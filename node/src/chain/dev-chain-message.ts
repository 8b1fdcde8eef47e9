/**
 * What the dev chain's process (dev-chain-process.ts) tells the node that forked it
 * (spawnEmbeddedChain in embedded-chain.ts) over IPC. In a module of its own so that neither side
 * imports the other for it.
 */
export type DevChainMessage =
  | { type: 'ready'; rpcUrl: string; chainId: string; replayed: { total: number; refused: number } }
  | { type: 'fatal'; error: { name: string; message: string } }
