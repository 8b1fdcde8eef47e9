/** Unit tests (node environment) for the UI's pure logic. */
import { Interface } from 'ethers'
import { describe, expect, it } from 'vitest'
import { tariffViolation } from '#protocol/tariff-rules.ts'
import { canonicalSignature, encodePayBill, selector } from '../src/lib/abi.ts'
import { bars, labelIndexes, linearScale, linePath, niceDomain, niceStep } from '../src/lib/chart.ts'
import { discoverWallets, parseAnnouncement } from '../src/lib/eip6963.ts'
import { formatEnergy, formatEth, formatPower, parseEth, toHexQuantity } from '../src/lib/format.ts'
import {
  formatGwei,
  nextEffectiveFrom,
  PriceCurve,
  parseGwei,
  priceAt,
  slotAt,
} from '../src/lib/price-curve.ts'
import { parseRoute } from '../src/lib/router.ts'
import { Resync, type StreamEventName, type StreamEvents } from '../src/lib/stream.ts'
import { StreamResource, type StreamSource } from '../src/lib/stream-resource.ts'
import { classifyWalletError, ensureChain, sameChain, waitForReceipt } from '../src/lib/wallet.ts'

describe('wei formatting', () => {
  it('formats wei as ETH exactly, rounding at 6 decimals', () => {
    expect(formatEth('10234000000000000')).toBe('0.010234 ETH')
    expect(formatEth('0')).toBe('0 ETH')
    expect(formatEth('1000000000000000000')).toBe('1 ETH')
    expect(formatEth('1234567890123456789012')).toBe('1,234.56789 ETH')
    expect(formatEth('1999999500000000000')).toBe('2 ETH')
    expect(formatEth('1')).toBe('< 0.000001 ETH')
    expect(formatEth(123456789n, 18)).toBe('0.000000000123456789 ETH')
    // Beyond 2^53: no float rounding.
    expect(formatEth('9007199254740993000000000000')).toBe('9,007,199,254.740993 ETH')
  })

  it('rejects non-decimal wei strings and parses typed ETH', () => {
    expect(formatEth('1e18')).toBe('—')
    expect(formatEth('-1')).toBe('—')
    expect(formatEth(null)).toBe('—')
    expect(formatEth(undefined)).toBe('—')
    expect(parseEth('0.5')).toBe(500_000_000_000_000_000n)
    expect(parseEth('2')).toBe(2_000_000_000_000_000_000n)
    expect(() => parseEth('1.2.3')).toThrow()
    expect(toHexQuantity(10n ** 18n)).toBe('0xde0b6b3a7640000')
    expect(toHexQuantity(0n)).toBe('0x0')
  })

  it('formats energy and power with units', () => {
    expect(formatEnergy(10_234)).toBe('10.234 kWh')
    expect(formatEnergy(312)).toBe('312 Wh')
    expect(formatPower(1500)).toBe('1,500 W')
    expect(formatPower(12_345)).toBe('12.35 kW')
  })
})

describe('payBill ABI encoding', () => {
  const iface = new Interface(['function payBill(bytes32 billId) payable'])

  it('matches ethers for the selector and the calldata', () => {
    expect(selector('payBill(bytes32)')).toBe(iface.getFunction('payBill')!.selector)
    for (const id of [
      `0x${'00'.repeat(32)}`,
      `0x${'ff'.repeat(32)}`,
      `0x${'0123456789abcdef'.repeat(4)}`,
      `0x${'AB'.repeat(32)}`,
    ]) {
      expect(encodePayBill(id)).toBe(iface.encodeFunctionData('payBill', [id]))
    }
  })

  it('reads the signature from the ABI fragment of /api/chain and rejects bad ids', () => {
    expect(canonicalSignature('function payBill(bytes32 billId) payable')).toBe('payBill(bytes32)')
    expect(canonicalSignature('transfer(address to, uint256 amount)')).toBe('transfer(address,uint256)')
    expect(() => encodePayBill('0x1234')).toThrow(/bytes32/)
    expect(() => encodePayBill(`${'00'.repeat(32)}`)).toThrow(/bytes32/)
  })
})

describe('EIP-6963 discovery', () => {
  const provider = { request: async () => null }
  const detail = (
    uuid: string,
    name: string,
    p: unknown = provider,
    icon = 'data:image/png;base64,AA==',
  ) => ({
    info: { uuid, name, icon, rdns: 'org.example' },
    provider: p,
  })

  it('asks wallets to announce themselves and lists each uuid once', () => {
    const target = new EventTarget()
    let asked = 0
    target.addEventListener('eip6963:requestProvider', () => {
      asked++
      target.dispatchEvent(
        new CustomEvent('eip6963:announceProvider', { detail: detail('u1', 'Wallet One') }),
      )
    })
    const discovery = discoverWallets(target)
    expect(asked).toBe(1)
    const changes: string[][] = []
    discovery.onChange((w) => changes.push(w.map((x) => x.info.name)))
    target.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: detail('u1', 'Wallet One') }))
    target.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: detail('u2', 'Wallet Two') }))
    expect(discovery.wallets().map((w) => w.info.name)).toEqual(['Wallet One', 'Wallet Two'])
    expect(changes).toEqual([['Wallet One', 'Wallet Two']])
    discovery.stop()
    target.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: detail('u3', 'Late') }))
    expect(discovery.wallets()).toHaveLength(2)
  })

  it('falls back to window.ethereum only while nothing announced', () => {
    const target = new EventTarget()
    const legacy = { request: async () => null }
    const discovery = discoverWallets(target, legacy)
    expect(discovery.wallets()).toEqual([expect.objectContaining({ legacy: true, provider: legacy })])
    target.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: detail('u1', 'Wallet One') }))
    expect(discovery.wallets().map((w) => w.legacy)).toEqual([false])
    expect(discoverWallets(new EventTarget(), undefined).wallets()).toEqual([])
    expect(discoverWallets(new EventTarget(), { notAProvider: true }).wallets()).toEqual([])
  })

  it('ignores malformed announcements and icons that are not inline images', () => {
    expect(parseAnnouncement(null)).toBeUndefined()
    expect(parseAnnouncement({ info: { name: 'x' }, provider })).toBeUndefined()
    expect(parseAnnouncement(detail('u', 'x', {}))).toBeUndefined()
    expect(parseAnnouncement(detail('u', 'x', provider, 'https://tracker.example/icon.png'))?.info.icon).toBe(
      '',
    )
  })
})

describe('wallet flow', () => {
  const chain = {
    chainId: '31337',
    chainIdHex: '0x7a69',
    chainName: 'zkmeter dev chain',
    rpcUrl: 'http://127.0.0.1:8545',
    ledger: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    payBillAbi: 'function payBill(bytes32 billId) payable',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  }

  it('classifies wallet errors into messages a resident can act on', () => {
    expect(classifyWalletError({ code: 4001, message: 'User rejected' }, 'the payment').kind).toBe('rejected')
    expect(classifyWalletError({ error: { code: 4001 } }, 'the payment').kind).toBe('rejected')
    expect(classifyWalletError(new Error('insufficient funds for gas * price + value'), 'x').kind).toBe(
      'insufficient-funds',
    )
    expect(classifyWalletError({ code: -32603, message: 'execution reverted: WrongAmount' }, 'x').kind).toBe(
      'reverted',
    )
    expect(classifyWalletError({ code: -32000, message: 'boom' }, 'x').message).toContain('boom')
    expect(sameChain('0x7a69', '31337')).toBe(true)
    expect(sameChain('0x1', '0x7a69')).toBe(false)
  })

  it('adds the chain when the wallet does not know it (4902) and fails clearly when refused', async () => {
    const calls: string[] = []
    let id = '0x1'
    const wallet = {
      async request({ method, params }: { method: string; params?: unknown }) {
        calls.push(method)
        if (method === 'eth_chainId') return id
        if (method === 'wallet_switchEthereumChain') throw { code: 4902, message: 'unknown chain' }
        if (method === 'wallet_addEthereumChain') {
          id = (params as { chainId: string }[])[0]!.chainId
          return null
        }
        throw new Error(method)
      },
    }
    await ensureChain(wallet, chain)
    expect(calls).toEqual([
      'eth_chainId',
      'wallet_switchEthereumChain',
      'wallet_addEthereumChain',
      'eth_chainId',
    ])
    const refusing = {
      request: async ({ method }: { method: string }) =>
        method === 'eth_chainId' ? '0x1' : Promise.reject({ code: 4001 }),
    }
    await expect(ensureChain(refusing, chain)).rejects.toMatchObject({ kind: 'wrong-network' })
  })

  it('polls for the receipt and reports a reverted one', async () => {
    let polls = 0
    const wallet = {
      request: async () =>
        ++polls < 3 ? null : { status: '0x1', transactionHash: '0xaa', blockNumber: '0x1', gasUsed: '0x1' },
    }
    await expect(waitForReceipt(wallet, '0xaa', { intervalMs: 1 })).resolves.toMatchObject({ status: '0x1' })
    expect(polls).toBe(3)
    const reverted = { request: async () => ({ status: '0x0' }) }
    await expect(waitForReceipt(reverted, '0xaa', { intervalMs: 1 })).rejects.toMatchObject({
      kind: 'reverted',
    })
    const never = { request: async () => null }
    await expect(waitForReceipt(never, '0xaa', { intervalMs: 1, timeoutMs: 5 })).rejects.toMatchObject({
      kind: 'timeout',
    })
  })
})

describe('chart scaling', () => {
  it('maps domains to ranges, inverted for SVG y', () => {
    const y = linearScale([0, 100], [200, 0])
    expect(y(0)).toBe(200)
    expect(y(50)).toBe(100)
    expect(y(100)).toBe(0)
    expect(linearScale([5, 5], [0, 10])(5)).toBe(5)
  })

  it('chooses 1-2-5 steps and a domain from zero covering the data', () => {
    expect(niceStep(100, 4)).toBe(50)
    expect(niceStep(7, 4)).toBe(2)
    expect(niceStep(0.3, 3)).toBeCloseTo(0.1)
    expect(niceDomain(0, 730)).toEqual({ domain: [0, 800], ticks: [0, 200, 400, 600, 800] })
    expect(niceDomain(0, 0).domain).toEqual([0, 1])
    expect(niceDomain(-30, 70).domain[0]).toBeLessThanOrEqual(-30)
  })

  it('lays out bars and paths', () => {
    const y = linearScale([0, 10], [100, 0])
    const b = bars([10, 5], 200, y, 0)
    expect(b).toEqual([
      { x: 0, y: 0, width: 100, height: 100 },
      { x: 100, y: 50, width: 100, height: 50 },
    ])
    expect(
      linePath([
        { x: 0, y: 1.234 },
        { x: 10, y: 2 },
      ]),
    ).toBe('M0 1.2 L10 2')
    expect(labelIndexes(24, 8)).toEqual([0, 3, 6, 9, 12, 15, 18, 21])
    expect(labelIndexes(0, 8)).toEqual([])
  })
})

describe('price-curve editor model', () => {
  it('edits slots, hours and presets and serialises wei per Wh', () => {
    const c = new PriceCurve(96)
    c.applyPreset('day-night', parseGwei('40'))
    expect(c.hourPrice(3)).toBe(20_000_000_000n)
    expect(c.hourPrice(12)).toBe(40_000_000_000n)
    expect(c.hourPrice(22)).toBe(20_000_000_000n)
    c.setHour(12, parseGwei('12.5'))
    expect(c.toWeiStrings().slice(48, 52)).toEqual(Array(4).fill('12500000000'))
    c.fill(10, 8, 7n)
    expect(c.prices.slice(8, 11)).toEqual([7n, 7n, 7n])
    expect(c.hourPrice(2)).toBeUndefined()
    expect(c.slotLabel(1)).toBe('00:15')
    expect(c.slotLabel(95)).toBe('23:45')
    c.applyPreset('peak', 10n)
    expect(c.hourPrice(18)).toBe(20n)
    expect(c.max()).toBe(20n)
  })

  it('makes presets that obey the tariff rules whatever the base', () => {
    for (const base of ['40', '12.5', '12.34', '0.000001237', '9999.99']) {
      for (const preset of ['flat', 'day-night', 'peak'] as const) {
        const c = new PriceCurve(96)
        c.applyPreset(preset, parseGwei(base))
        expect(tariffViolation(c.prices, 96), `${preset} at ${base} gwei`).toBeUndefined()
      }
    }
  })

  it('rejects impossible slots and prices', () => {
    expect(() => new PriceCurve(7)).toThrow(/equal slots/)
    expect(() => new PriceCurve(96).set(96, 1n)).toThrow()
    expect(() => new PriceCurve(96).set(0, 2n ** 64n)).toThrow(/2\^64/)
    expect(() => parseGwei('abc')).toThrow()
    expect(() => parseGwei('1.0000000001')).toThrow()
    expect(formatGwei(12_500_000_000n)).toBe('12.5')
    expect(formatGwei(0n)).toBe('0')
  })

  it('maps pointer positions to slots and prices', () => {
    expect(slotAt(0, 960, 96)).toBe(0)
    expect(slotAt(959, 960, 96)).toBe(95)
    expect(slotAt(2000, 960, 96)).toBe(95)
    expect(slotAt(-5, 960, 96)).toBe(0)
    expect(priceAt(0, 200, 100_000_000_000n)).toBe(100_000_000_000n)
    expect(priceAt(200, 200, 100_000_000_000n)).toBe(0n)
    expect(priceAt(100, 200, 100_000_000_000n)).toBe(50_000_000_000n)
  })

  it('starts the next tariff at the next UTC midnight after the latest one', () => {
    expect(nextEffectiveFrom(1_764_072_000)).toBe(1_764_115_200)
    expect(nextEffectiveFrom(1_764_072_000, 1_764_115_200)).toBe(1_764_201_600)
    expect(nextEffectiveFrom(1_764_072_000, 0)).toBe(1_764_115_200)
  })
})

describe('routes', () => {
  it('maps hashes to views and unknown ones to the dashboard', () => {
    expect(parseRoute('')).toBe('/')
    expect(parseRoute('#/bills')).toBe('/bills')
    expect(parseRoute('#/nope')).toBe('/')
  })
})

describe('snapshot and stream', () => {
  it('replays events that arrived while the snapshot was loading', async () => {
    const resync = new Resync<string>()
    resync.event('before')
    let release: (v: string[]) => void = () => undefined
    const pending = resync.snapshot(
      () =>
        new Promise<string[]>((r) => {
          release = r
        }),
    )
    resync.event('during')
    release(['snapshot'])
    expect(await pending).toEqual({ value: ['snapshot'], replay: ['during'] })
    resync.event('after')
    expect((await resync.snapshot(async () => 1)).replay).toEqual([])
  })
})

/** A stream the test drives: named events and connection changes, as LiveStream delivers them. */
function fakeStream() {
  const listeners = new Map<string, Set<(data: unknown) => void>>()
  const connection = new Set<(state: 'connecting' | 'open' | 'closed') => void>()
  const source: StreamSource = {
    on(name, listener) {
      const set = listeners.get(name) ?? new Set()
      listeners.set(name, set)
      const typed = (data: unknown) => listener(data as never)
      set.add(typed)
      return () => set.delete(typed)
    },
    onConnection(listener) {
      connection.add(listener)
      return () => connection.delete(listener)
    },
  }
  return {
    source,
    emit<N extends StreamEventName>(name: N, data: StreamEvents[N]) {
      for (const l of listeners.get(name) ?? []) l(data)
    },
    open() {
      for (const l of connection) l('open')
    },
    subscribers: () => [...listeners.values()].reduce((n, set) => n + set.size, 0) + connection.size,
  }
}

function fakeHost() {
  const controllers: { hostConnected?(): void; hostDisconnected?(): void }[] = []
  let updates = 0
  return {
    addController: (c: (typeof controllers)[number]) => void controllers.push(c),
    removeController: () => undefined,
    requestUpdate: () => void updates++,
    updateComplete: Promise.resolve(true),
    connect: () => {
      for (const c of controllers) c.hostConnected?.()
    },
    disconnect: () => {
      for (const c of controllers) c.hostDisconnected?.()
    },
    updates: () => updates,
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0))
const relay = (channel: number, on: boolean) => ({ channel, on })

describe("stream resource (the views' controller)", () => {
  it('loads on connect, applies events, replays those that arrive during a fetch, reloads on reconnect', async () => {
    const stream = fakeStream()
    const host = fakeHost()
    let answer: { channel: number; on: boolean }[] = [relay(1, false)]
    let release: () => void = () => undefined
    let fetches = 0
    const resource = new StreamResource(host, {
      fetch: async () => {
        fetches++
        const value = answer
        await new Promise<void>((r) => {
          release = r
        })
        return value
      },
      apply: {
        relay: (relays, e) =>
          'channel' in e ? relays.map((r) => (r.channel === e.channel ? e : r)) : relays,
      },
      stream: stream.source,
    })
    expect(resource.loading).toBe(true)
    host.connect()
    // An event while the first snapshot is in flight is replayed on top of it.
    stream.emit('relay', relay(1, true))
    release()
    await settle()
    expect(resource.value).toEqual([relay(1, true)])
    expect(host.updates()).toBeGreaterThan(0)
    stream.emit('relay', relay(1, false))
    expect(resource.value).toEqual([relay(1, false)])
    // A reconnect re-reads the value (events sent meanwhile are lost).
    answer = [relay(1, true), relay(2, true)]
    stream.open()
    release()
    await settle()
    expect(fetches).toBe(2)
    expect(resource.value).toEqual([relay(1, true), relay(2, true)])
    host.disconnect()
    expect(stream.subscribers()).toBe(0)
  })

  it('shows a seed event at once, and an older or empty answer after it does not replace it', async () => {
    type Latest = { seq: number; time: number } | undefined
    const stream = fakeStream()
    const host = fakeHost()
    let answer: Latest
    let release: () => void = () => undefined
    const seeded = new StreamResource<Latest>(host, {
      fetch: async () => {
        const value = answer
        await new Promise<void>((r) => {
          release = r
        })
        return value
      },
      apply: { reading: (current, r) => (current && r.time < current.time ? current : r) },
      seed: { reading: (r) => r },
      stream: { ...stream.source, lastReading: { seq: 5, time: 50 } as never },
    })
    // The reading the stream delivered before the view connected is shown before any answer.
    host.connect()
    expect(seeded.value).toEqual({ seq: 5, time: 50 })
    // The store had none (404 → undefined): the answer does not blank the reading shown.
    release()
    await settle()
    expect(seeded.value).toEqual({ seq: 5, time: 50 })
    // Later answers are the value as usual, and events fold into it.
    answer = { seq: 9, time: 90 }
    stream.open()
    release()
    await settle()
    expect(seeded.value).toEqual({ seq: 9, time: 90 })
    stream.emit('reading', { seq: 8, time: 80 } as never)
    expect(seeded.value).toEqual({ seq: 9, time: 90 })
    host.disconnect()
  })

  it('reloads on the named events it is told to, and keeps a shown value when asked', async () => {
    const stream = fakeStream()
    const host = fakeHost()
    let fail = false
    let fetches = 0
    const resource = new StreamResource(host, {
      fetch: async () => {
        fetches++
        if (fail) throw new Error('the node is away')
        return fetches
      },
      reloadOn: { reading: (r) => r.kind === 'interval' },
      keepOnError: true,
      stream: stream.source,
    })
    host.connect()
    await settle()
    expect(resource.value).toBe(1)
    const reading = (kind: 'live' | 'interval') => ({ kind }) as StreamEvents['reading']
    stream.emit('reading', reading('live'))
    await settle()
    expect(fetches).toBe(1)
    stream.emit('reading', reading('interval'))
    await settle()
    expect(resource.value).toBe(2)
    fail = true
    await resource.reload()
    expect(resource.value).toBe(2)
    expect(resource.error).toBeUndefined()
  })

  it('coalesces a burst of reload events: one fetch in flight, one more after it, never one per event', async () => {
    // A scene switching eight relays sent eight `relay` events, each a GET /api/relays from every view
    // reloading on them: 527 requests in 7 s in the end-to-end test, some failing in the browser.
    const stream = fakeStream()
    const host = fakeHost()
    let fetches = 0
    let release: () => void = () => {}
    const resource = new StreamResource(host, {
      fetch: async () => {
        fetches++
        const n = fetches
        await new Promise<void>((r) => {
          release = r
        })
        return n
      },
      reloadOn: { relay: true },
      stream: stream.source,
    })
    host.connect()
    release()
    await settle()
    expect(fetches).toBe(1)
    for (let i = 0; i < 50; i++) stream.emit('relay', relay(i % 8, i % 2 === 0))
    await settle()
    expect(fetches).toBe(2)
    release()
    await settle()
    // The events that came during the second fetch are covered by exactly one more.
    expect(fetches).toBe(3)
    release()
    await settle()
    expect(fetches).toBe(3)
    expect(resource.value).toBe(3)
    host.disconnect()
  })

  it('shows the error of a failed first load', async () => {
    const host = fakeHost()
    const resource = new StreamResource(host, {
      fetch: async () => {
        throw new Error('Cannot reach the household node.')
      },
      stream: fakeStream().source,
    })
    host.connect()
    await settle()
    expect(resource.state).toEqual({ state: 'error', message: 'Cannot reach the household node.' })
  })
})
