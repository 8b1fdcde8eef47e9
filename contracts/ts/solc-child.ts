/**
 * Runs solc-js on one standard-JSON input in its own process: reads the input from stdin, writes
 * solc's output JSON to stdout. compile.ts starts it on a cache miss so that the compiler (~115 MB
 * of WASM heap that V8 does not give back) never lives in the caller — above all in a household
 * node deploying its ledger on its very first start.
 */
import solc from 'solc'

const chunks: Buffer[] = []
for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
const compiler = solc as unknown as { version(): string; compile(input: string): string }
const output = compiler.compile(Buffer.concat(chunks).toString('utf8'))
process.stdout.write(JSON.stringify({ version: compiler.version(), output }))
