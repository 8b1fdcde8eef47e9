/**
 * EIP-6963 multi-wallet discovery: the page asks with `eip6963:requestProvider` and each wallet
 * extension answers with `eip6963:announceProvider` carrying its info and its EIP-1193 provider.
 * Without any announcement the legacy `window.ethereum` is offered instead.
 */

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>
  on?(event: string, listener: (...args: unknown[]) => void): void
  removeListener?(event: string, listener: (...args: unknown[]) => void): void
}

export interface WalletInfo {
  uuid: string
  name: string
  icon: string
  rdns: string
}

export interface DiscoveredWallet {
  info: WalletInfo
  provider: Eip1193Provider
  /** True for the window.ethereum fallback (no EIP-6963 announcement). */
  legacy: boolean
}

function isProvider(value: unknown): value is Eip1193Provider {
  return (
    typeof value === 'object' && value !== null && typeof (value as Eip1193Provider).request === 'function'
  )
}

/** Validates an announcement's detail; anything malformed is ignored rather than trusted. */
export function parseAnnouncement(detail: unknown): DiscoveredWallet | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined
  const { info, provider } = detail as { info?: Partial<WalletInfo>; provider?: unknown }
  if (!info || typeof info.uuid !== 'string' || typeof info.name !== 'string' || !isProvider(provider))
    return undefined
  return {
    info: {
      uuid: info.uuid,
      name: info.name.slice(0, 64),
      // Only inline images: an icon URL would let a wallet make the page fetch from anywhere.
      icon: typeof info.icon === 'string' && info.icon.startsWith('data:image/') ? info.icon : '',
      rdns: typeof info.rdns === 'string' ? info.rdns : '',
    },
    provider,
    legacy: false,
  }
}

export interface WalletDiscovery {
  wallets(): DiscoveredWallet[]
  /** Called whenever the list changes. */
  onChange(listener: (wallets: DiscoveredWallet[]) => void): () => void
  stop(): void
}

/**
 * Starts listening on `target` (the window) and asks wallets to announce themselves. Wallets are
 * keyed by uuid (a wallet may announce more than once); `legacy` is window.ethereum, listed only
 * while no EIP-6963 wallet has announced.
 */
export function discoverWallets(target: EventTarget, legacy?: unknown): WalletDiscovery {
  const byUuid = new Map<string, DiscoveredWallet>()
  const listeners = new Set<(wallets: DiscoveredWallet[]) => void>()
  const fallback: DiscoveredWallet | undefined = isProvider(legacy)
    ? {
        info: { uuid: 'window.ethereum', name: 'Browser wallet (window.ethereum)', icon: '', rdns: '' },
        provider: legacy,
        legacy: true,
      }
    : undefined
  const list = (): DiscoveredWallet[] => (byUuid.size > 0 ? [...byUuid.values()] : fallback ? [fallback] : [])
  const onAnnounce = (event: Event): void => {
    const wallet = parseAnnouncement((event as CustomEvent).detail)
    if (!wallet) return
    const known = byUuid.get(wallet.info.uuid)
    if (known && known.provider === wallet.provider && known.info.name === wallet.info.name) return
    byUuid.set(wallet.info.uuid, wallet)
    const current = list()
    for (const l of listeners) l(current)
  }
  target.addEventListener('eip6963:announceProvider', onAnnounce)
  target.dispatchEvent(new Event('eip6963:requestProvider'))
  return {
    wallets: list,
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    stop() {
      target.removeEventListener('eip6963:announceProvider', onAnnounce)
      listeners.clear()
    },
  }
}
