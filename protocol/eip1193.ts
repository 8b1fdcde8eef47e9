/**
 * The EIP-1193 provider surface zkmeter needs: one `request` method. The in-process dev chain, the
 * journaled provider and the JSON-RPC server all speak it, so it lives below all of them.
 */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | Record<string, unknown> }): Promise<unknown>
}
