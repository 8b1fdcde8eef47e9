/**
 * The node's JSON-RPC provider, built to ride out an external provider that resets connections,
 * answers slowly or with 5xx (issue 15). Every request has a timeout; a request that fails in
 * transport (no JSON-RPC answer: reset, timeout, HTTP error) is retried with exponential backoff and
 * full jitter, so many nodes behind one provider do not retry in step.
 *
 * Reads are idempotent and simply retried. A raw transaction is too, but only done safely: its hash
 * is fixed by its signed bytes (nonce included), so before sending it again the node asks the chain
 * whether it already has it (eth_getTransactionByHash) and, if so, answers with that hash instead of
 * resending; a resend the chain refuses as "already known" or "nonce too low" is checked the same
 * way. The same nonce can never be mined twice, and the node never signs a second transaction here.
 * eth_sendTransaction (the provider signs) is never retried: its second copy would be a new nonce.
 *
 * health() is what /api/status shows: ok, or degraded since the first failure, with the last error;
 * a request that succeeds at its first attempt makes it ok again.
 */
import {
  FetchRequest,
  type JsonRpcError,
  type JsonRpcPayload,
  JsonRpcProvider,
  type JsonRpcResult,
  keccak256,
  Network,
} from 'ethers'
import { InvalidInputError } from '#protocol/errors.ts'

export interface RetryPolicy {
  /** Per request attempt (ms). */
  timeoutMs: number
  /** Attempts per request, the first included. */
  attempts: number
  /** Backoff before retry k (1-based) is random in [0, min(maxDelayMs, baseDelayMs · 2^(k−1))). */
  baseDelayMs: number
  maxDelayMs: number
  /** For tests: a seeded source instead of Math.random. */
  random?: () => number
}

/** A provider far away or overloaded answers in seconds; five attempts span about half a minute. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  timeoutMs: 15_000,
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
}

export interface ChainHealth {
  state: 'ok' | 'degraded'
  /** Since when (unix ms) the chain is in this state. */
  since: number
  /** The last transport failure (any state: ok keeps the last one for the record). */
  lastError: string | null
  lastErrorAt: number | null
  /** Requests retried since the node started, and requests that failed after every attempt. */
  retries: number
  failures: number
}

/** ethers types an answer as a result; an error answer has `error` instead (JsonRpcError). */
type Answer = JsonRpcResult

/** Methods whose second copy changes nothing on the chain. Everything is, but these two. */
const NEVER_RETRIED = new Set(['eth_sendTransaction', 'eth_sign'])
/** A resend of a transaction the chain already has is refused with one of these. */
const ALREADY_THERE =
  /already known|known transaction|nonce too low|already imported|replacement transaction underpriced/i

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class ResilientRpcProvider extends JsonRpcProvider {
  readonly #policy: RetryPolicy
  readonly #health: ChainHealth

  constructor(url: string, network: Network, policy: RetryPolicy) {
    super(url, network, { staticNetwork: network, batchMaxCount: 1, cacheTimeout: -1 })
    this.#policy = policy
    this.#health = {
      state: 'ok',
      since: Date.now(),
      lastError: null,
      lastErrorAt: null,
      retries: 0,
      failures: 0,
    }
  }

  health(): ChainHealth {
    return { ...this.#health }
  }

  override _getConnection(): FetchRequest {
    const request = super._getConnection()
    request.timeout = this.#policy.timeoutMs
    return request
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<Answer[]> {
    const single = Array.isArray(payload) ? (payload.length === 1 ? payload[0] : undefined) : payload
    if (single?.method === 'eth_sendRawTransaction') return this.#sendRaw(single)
    const retry = !(Array.isArray(payload) ? payload : [payload]).some((p) => NEVER_RETRIED.has(p.method))
    return this.#attempts(() => super._send(payload), retry ? this.#policy.attempts : 1)
  }

  /** Sends a signed transaction at most once on the chain: look before every resend. */
  async #sendRaw(payload: JsonRpcPayload): Promise<Answer[]> {
    const raw = (payload.params as unknown[])[0]
    if (typeof raw !== 'string') return super._send(payload)
    const hash = keccak256(raw)
    const known = async (): Promise<boolean> => {
      const [answer] = await this.#attempts(
        () =>
          super._send({ method: 'eth_getTransactionByHash', params: [hash], id: payload.id, jsonrpc: '2.0' }),
        this.#policy.attempts,
      )
      return answer !== undefined && 'result' in answer && answer.result !== null
    }
    const sent = [{ id: payload.id, result: hash }] as Answer[]
    let first = true
    const answers = await this.#attempts(async () => {
      if (!first && (await known())) return sent
      first = false
      return super._send(payload)
    }, this.#policy.attempts)
    const error = (answers[0] as Partial<JsonRpcError> | undefined)?.error
    if (error !== undefined && ALREADY_THERE.test(String(error.message)) && (await known())) return sent
    return answers
  }

  async #attempts(send: () => Promise<Answer[]>, attempts: number): Promise<Answer[]> {
    const random = this.#policy.random ?? Math.random
    for (let attempt = 1; ; attempt++) {
      try {
        const answers = await send()
        if (attempt === 1 && this.#health.state === 'degraded') {
          this.#health.state = 'ok'
          this.#health.since = Date.now()
        }
        return answers
      } catch (error) {
        this.#noteFailure(error)
        if (attempt >= attempts || this.destroyed) {
          this.#health.failures++
          throw error
        }
        this.#health.retries++
        const cap = Math.min(this.#policy.maxDelayMs, this.#policy.baseDelayMs * 2 ** (attempt - 1))
        await sleep(Math.floor(random() * cap))
      }
    }
  }

  #noteFailure(error: unknown): void {
    const now = Date.now()
    if (this.#health.state === 'ok') {
      this.#health.state = 'degraded'
      this.#health.since = now
    }
    const cause = (error as { cause?: { code?: string } })?.cause?.code
    const message = (error as Error)?.message ?? String(error)
    this.#health.lastError = (cause ? `${cause}: ${message}` : message).slice(0, 300)
    this.#health.lastErrorAt = now
  }
}

/**
 * A resilient provider for a chain's JSON-RPC URL: the network is fetched once, with the same
 * retries (a node starting while its provider hiccups starts anyway), and then fixed.
 */
export async function resilientRpcProvider(
  url: string,
  policy: Partial<RetryPolicy> = {},
): Promise<ResilientRpcProvider> {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new InvalidInputError(`RPC URL must be an http(s):// URL, got ${JSON.stringify(url)}`)
  }
  const full = { ...DEFAULT_RETRY_POLICY, ...policy }
  const random = full.random ?? Math.random
  let lastError: unknown
  for (let attempt = 1; attempt <= full.attempts; attempt++) {
    try {
      // A bare request: an ethers provider without a network retries its detection forever.
      const request = new FetchRequest(url)
      request.timeout = full.timeoutMs
      request.body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })
      request.setHeader('content-type', 'application/json')
      const response = await request.send()
      response.assertOk()
      const chainId = (response.bodyJson as { result?: unknown }).result
      if (typeof chainId !== 'string')
        throw new Error(`eth_chainId answered ${response.bodyText.slice(0, 200)}`)
      return new ResilientRpcProvider(url, Network.from(BigInt(chainId)), full)
    } catch (error) {
      lastError = error
      const cap = Math.min(full.maxDelayMs, full.baseDelayMs * 2 ** (attempt - 1))
      if (attempt < full.attempts) await sleep(Math.floor(random() * cap))
    }
  }
  throw new InvalidInputError(
    `cannot reach the chain at ${url} after ${full.attempts} attempts: ${(lastError as Error)?.message}`,
    { cause: lastError },
  )
}
