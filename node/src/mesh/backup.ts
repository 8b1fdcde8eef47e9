/**
 * Encrypted backups with neighbours (docs/mesh.md §8). A home asks k neighbours to pin its sealed
 * period manifests (dag-cbor, linking the encrypted batches): the neighbour fetches the DAG over
 * bitswap and pins it in its own Helia. After losing its disk, the home — holding only its root key —
 * asks the neighbours which manifests they keep for it and fetches them back. Neighbours only ever hold
 * ciphertext and CIDs; the requests are authorised by an Ed25519 "backup owner" key derived from the
 * root key, so neither the pin list nor the right to add to it depend on the lost disk or peer id.
 *
 * Protocol `/zkmeter/backup/1.0.0`: one length-prefixed JSON request, one JSON response per stream.
 *   request  { v: 1, op: 'pin' | 'list', owner, to, time, cids?, sig }
 *   response { v: 1, ok: true, cids } | { v: 1, ok: false, error }
 * `sig` is Ed25519 by the owner key over "zkmeter-backup/v1\n" + canonical(request without sig); `to`
 * is the neighbour's peer id (a request cannot be replayed to another neighbour) and `time` must be
 * within the skew (a captured request goes stale).
 */
import { hkdfSync } from 'node:crypto'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ed25519 } from '@noble/curves/ed25519.js'
import { Key } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import type { HeliaWithLibp2p } from '../ipfs/helia.ts'
import { type Logger, silentLogger } from '../log/logger.ts'
import { parseCid } from '../vault/manifest.ts'
import { createBlockAccess } from './block-access.ts'
import { InvalidMeshMessageError, MeshError } from './errors.ts'
import { canonicalJson, type Hex } from './signing.ts'

export const BACKUP_PROTOCOL = '/zkmeter/backup/1.0.0'
const MAX_FRAME = 128 * 1024
const MAX_CIDS_PER_REQUEST = 256
const encoder = new TextEncoder()

/** A neighbour refused or failed a backup request; `details.peer` says which. */
export class BackupError extends MeshError {
  override name = 'BackupError'
}

export interface BackupIdentity {
  /** Ed25519 public key (hex): how neighbours index this home's backups. Not secret. */
  owner: Hex
  sign(message: Uint8Array): Uint8Array
}

/** The backup owner key, derived from the vault root key: a home restores with nothing else. */
export function backupIdentity(rootKey: Uint8Array): BackupIdentity {
  if (!(rootKey instanceof Uint8Array) || rootKey.length !== 32) {
    throw new InvalidMeshMessageError('the vault root key is 32 bytes')
  }
  const seed = new Uint8Array(hkdfSync('sha256', rootKey, encoder.encode('zkmeter/backup/v1'), 'owner', 32))
  const publicKey = ed25519.getPublicKey(seed)
  return {
    owner: `0x${Buffer.from(publicKey).toString('hex')}`,
    sign: (message) => ed25519.sign(message, seed),
  }
}

interface BackupRequest {
  v: 1
  op: 'pin' | 'list'
  owner: Hex
  to: string
  time: number
  cids?: string[]
  sig: Hex
}

const signedBytes = (request: Omit<BackupRequest, 'sig'>) =>
  encoder.encode(`zkmeter-backup/v1\n${canonicalJson(request)}`)

function parseRequest(bytes: Uint8Array): BackupRequest {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new InvalidMeshMessageError('backup request is not UTF-8 JSON')
  }
  const r = value as Partial<BackupRequest> | null
  const keys = r !== null && typeof r === 'object' ? Object.keys(r) : []
  const allowed = ['v', 'op', 'owner', 'to', 'time', 'cids', 'sig']
  if (
    r === null ||
    typeof r !== 'object' ||
    keys.some((k) => !allowed.includes(k)) ||
    r.v !== 1 ||
    (r.op !== 'pin' && r.op !== 'list') ||
    typeof r.owner !== 'string' ||
    !/^0x[0-9a-f]{64}$/.test(r.owner) ||
    typeof r.to !== 'string' ||
    r.to.length > 100 ||
    !Number.isSafeInteger(r.time) ||
    typeof r.sig !== 'string' ||
    !/^0x[0-9a-f]{128}$/.test(r.sig) ||
    (r.op === 'pin'
      ? !Array.isArray(r.cids) ||
        r.cids.length === 0 ||
        r.cids.length > MAX_CIDS_PER_REQUEST ||
        r.cids.some((c) => typeof c !== 'string' || c.length > 200)
      : r.cids !== undefined)
  ) {
    throw new InvalidMeshMessageError('malformed backup request')
  }
  return r as BackupRequest
}

async function exchange(stream: Stream, payload: unknown, timeoutMs: number): Promise<unknown> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const signal = AbortSignal.timeout(timeoutMs)
  await lp.write(encoder.encode(JSON.stringify(payload)), { signal })
  const reply = await lp.read({ signal })
  await stream.close({ signal }).catch(() => undefined)
  return JSON.parse(new TextDecoder().decode(reply.subarray()))
}

export interface BackupServiceOptions {
  helia: HeliaWithLibp2p
  /** Who may ask us to store data (e.g. `(peer) => mesh.members.meterOfPeer(peer) !== undefined`). */
  allowPin: (peerId: string) => boolean
  /** Most CIDs kept per owner (each is a whole period's DAG). */
  maxCidsPerOwner?: number
  pinTimeoutMs?: number
  requestTimeoutMs?: number
  skewS?: number
  /** Where the service reports failed requests (default: silent). */
  log?: Logger
  now?: () => number
}

export function createBackupService(options: BackupServiceOptions) {
  const { helia } = options
  const libp2p: Libp2p = helia.libp2p
  const log = options.log ?? silentLogger
  const now = options.now ?? Date.now
  const maxCids = options.maxCidsPerOwner ?? 1000
  const pinTimeoutMs = options.pinTimeoutMs ?? 60_000
  const requestTimeoutMs = options.requestTimeoutMs ?? 120_000
  const skewS = options.skewS ?? 120
  const indexKey = (owner: string) => new Key(`/zkmeter/backup/${owner}`)
  let running = false
  // Bitswap serves a home's blocks only to the neighbours it asked to pin them, and a neighbour serves
  // them back only to the peer that signed as their owner (block-access.ts).
  const access = createBlockAccess({ helia, log })
  let installed = false

  async function ownedBy(owner: string): Promise<string[]> {
    try {
      return JSON.parse(new TextDecoder().decode(await helia.datastore.get(indexKey(owner)))) as string[]
    } catch {
      return []
    }
  }

  async function pin(cid: CID) {
    if (await helia.pins.isPinned(cid)) return
    for await (const _ of helia.pins.add(cid, { signal: AbortSignal.timeout(pinTimeoutMs) })) {
      // pins.add walks (and fetches over bitswap) the whole DAG: manifest, then every batch.
    }
  }

  async function serve(request: BackupRequest, remote: string): Promise<unknown> {
    const { sig, ...unsigned } = request
    if (request.to !== libp2p.peerId.toString())
      return { v: 1, ok: false, error: 'request addressed to another peer' }
    if (Math.abs(request.time - Math.floor(now() / 1000)) > skewS)
      return { v: 1, ok: false, error: 'stale request' }
    const valid = (() => {
      try {
        return ed25519.verify(
          Buffer.from(sig.slice(2), 'hex'),
          signedBytes(unsigned),
          Buffer.from(request.owner.slice(2), 'hex'),
        )
      } catch {
        return false
      }
    })()
    if (!valid) return { v: 1, ok: false, error: 'bad owner signature' }
    const owned = await ownedBy(request.owner)
    // The peer proved to be the owner: it may fetch what we keep for it (a restore after a disk loss).
    if (request.op === 'list') {
      await access.grant(remote, owned.map(parseCid))
      return { v: 1, ok: true, cids: owned }
    }
    if (!options.allowPin(remote)) return { v: 1, ok: false, error: 'only area members may ask to pin' }
    const cids = (request.cids ?? []).map((c) => parseCid(c))
    const merged = [...new Set([...owned, ...cids.map((c) => c.toString())])]
    if (merged.length > maxCids) return { v: 1, ok: false, error: `at most ${maxCids} backups per home` }
    for (const cid of cids) await pin(cid)
    await helia.datastore.put(indexKey(request.owner), encoder.encode(JSON.stringify(merged)))
    await access.grant(remote, merged.map(parseCid))
    return { v: 1, ok: true, cids: merged }
  }

  async function handle(stream: Stream, connection: { remotePeer: PeerId }) {
    const remote = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const signal = AbortSignal.timeout(requestTimeoutMs)
    try {
      const request = parseRequest((await lp.read({ signal })).subarray())
      let reply: unknown
      try {
        reply = await serve(request, remote)
      } catch (error) {
        log.warn('a backup request failed', { peer: remote, error: error })
        reply = {
          v: 1,
          ok: false,
          error: error instanceof InvalidMeshMessageError ? error.message : 'pin failed',
        }
      }
      await lp.write(encoder.encode(JSON.stringify(reply)), { signal })
      await stream.close({ signal })
    } catch (error) {
      log.warn('dropped a backup stream', { peer: remote, error: error })
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    }
  }

  async function request(
    peer: PeerId | Multiaddr,
    identity: BackupIdentity,
    op: 'pin' | 'list',
    cids?: (CID | string)[],
  ): Promise<string[]> {
    const connection = await libp2p.dial(peer, { signal: AbortSignal.timeout(10_000) })
    // The neighbour we ask to pin fetches the manifests and their batches from us: let it, and only it.
    if (op === 'pin' && cids !== undefined)
      await access.grant(connection.remotePeer.toString(), cids.map(parseCid))
    const unsigned: Omit<BackupRequest, 'sig'> = {
      v: 1,
      op,
      owner: identity.owner,
      to: connection.remotePeer.toString(),
      time: Math.floor(now() / 1000),
      ...(cids === undefined ? {} : { cids: cids.map((c) => parseCid(c).toString()) }),
    }
    const sig = `0x${Buffer.from(identity.sign(signedBytes(unsigned))).toString('hex')}` as Hex
    const stream = await connection.newStream(BACKUP_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const reply = (await exchange(stream, { ...unsigned, sig }, requestTimeoutMs)) as {
      ok?: boolean
      cids?: unknown
      error?: unknown
    }
    if (reply?.ok !== true || !Array.isArray(reply.cids) || reply.cids.some((c) => typeof c !== 'string')) {
      throw new BackupError(
        `neighbour ${unsigned.to} refused the backup ${op}: ${String(reply?.error ?? 'bad reply')}`,
        {
          details: { peer: unsigned.to, op },
        },
      )
    }
    return reply.cids as string[]
  }

  return {
    async start() {
      if (running) return
      if (!installed) access.install()
      installed = true
      await libp2p.handle(BACKUP_PROTOCOL, handle, { maxInboundStreams: 8 })
      running = true
    },
    async stop() {
      if (!running) return
      running = false
      await libp2p.unhandle(BACKUP_PROTOCOL)
    },
    /** Want-list entries refused to peers without a grant (strangers, members holding no backup of ours). */
    refusedWants: () => access.refused,
    /** Asks a neighbour to fetch and pin these manifests (and everything they link); returns all it keeps for us. */
    pinWith: (peer: PeerId | Multiaddr, identity: BackupIdentity, cids: (CID | string)[]) =>
      request(peer, identity, 'pin', cids),
    /** The manifest CIDs a neighbour keeps for the owner of `identity`. */
    listWith: (peer: PeerId | Multiaddr, identity: BackupIdentity) => request(peer, identity, 'list'),
    /**
     * Restore after a disk loss: collects the manifest CIDs every reachable neighbour keeps for us and
     * pins them locally (fetching the blocks over bitswap). Returns the CIDs restored.
     */
    async restoreFrom(peers: (PeerId | Multiaddr)[], identity: BackupIdentity): Promise<string[]> {
      const found = new Set<string>()
      for (const peer of peers) {
        try {
          for (const cid of await request(peer, identity, 'list')) found.add(cid)
        } catch (error) {
          log.warn('a neighbour could not list our backups', { error: error })
        }
      }
      for (const cid of found) await pin(parseCid(cid))
      return [...found].sort()
    },
  }
}

export type BackupService = ReturnType<typeof createBackupService>
