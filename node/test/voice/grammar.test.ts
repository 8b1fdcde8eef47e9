import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { answer, commandsFor, formatEther } from '../../src/voice/answer.ts'
import {
  createDeviceRegistry,
  DEFAULT_DEVICES,
  DeviceRegistryError,
  RESERVED_WORDS,
} from '../../src/voice/devices.ts'
import { type Intent, parse } from '../../src/voice/grammar.ts'
import { FILLER_WORDS } from '../../src/voice/normalize.ts'

const home = createDeviceRegistry([
  ...DEFAULT_DEVICES.filter((d) => d.channel !== 1 && d.channel !== 4),
  { name: 'fan', room: 'bedroom', channel: 1, aliases: ['ceiling fan'] },
  { name: 'lamp', room: 'bedroom', channel: 4, aliases: ['bedside lamp'] },
])
const defaults = createDeviceRegistry()

const sw = (on: boolean, ...channels: number[]) => ({
  kind: 'switch',
  on,
  targets: channels.map((channel) => expect.objectContaining({ channel })),
})

const TABLE: [string, unknown][] = [
  ['turn on the bedroom fan', sw(true, 1)],
  ['Turn the bedroom fan on, please!', sw(true, 1)],
  ['could you please switch on the fan', sw(true, 1)],
  ['fan on', sw(true, 1)],
  ['switch off the AC', sw(false, 2)],
  ['switch off the A/C', sw(false, 2)],
  ['turn off the air conditioner', sw(false, 2)],
  ['shut down the air conditioning', sw(false, 2)],
  ['kill the aircon', sw(false, 2)],
  ['start the AC', sw(true, 2)],
  ['turn off all lights', sw(false, 3, 4)],
  ['lights off', sw(false, 3, 4)],
  ['turn off the lights', sw(false, 3, 4)],
  ['turn on the main lights', sw(true, 3)],
  ['turn on the big light', sw(true, 3)],
  ['switch on the bedside lamp', sw(true, 4)],
  ['turn on the bedroom lamp', sw(true, 4)],
  ['turn on the bedroom light', sw(true, 4)],
  ['turn on the exhaust fan', sw(true, 5)],
  ['turn the vent fan on', sw(true, 5)],
  ['switch off the sockets', sw(false, 8)],
  ['turn off the plugs', sw(false, 8)],
  ['turn off everything', sw(false, 1, 2, 3, 4)],
  ['turn off everything in the bedroom', sw(false, 1, 4)],
  ['turn off the bedroom', sw(false, 1, 4)],
  ['um, hey, turn on the fan and the lamp thanks', sw(true, 1, 4)],
  ['set the fan to 3', { kind: 'fanSpeed', speed: 3 }],
  ['set the fan to three', { kind: 'fanSpeed', speed: 3 }],
  ['fan speed two', { kind: 'fanSpeed', speed: 2 }],
  ['Fan speed 1.', { kind: 'fanSpeed', speed: 1 }],
  ['set the bedroom fan to high', { kind: 'fanSpeed', speed: 3 }],
  ['put the fan on low', { kind: 'fanSpeed', speed: 1 }],
  ['fan to zero', { kind: 'fanSpeed', speed: 0 }],
  ['is anything on', { kind: 'query', what: 'anythingOn' }],
  ["what's on?", { kind: 'query', what: 'anythingOn' }],
  ['What is on right now', { kind: 'query', what: 'anythingOn' }],
  ['is anything running', { kind: 'query', what: 'anythingOn' }],
  [
    'is the AC on?',
    { kind: 'query', what: 'anythingOn', targets: [expect.objectContaining({ channel: 2 })] },
  ],
  [
    'are the lights on',
    {
      kind: 'query',
      what: 'anythingOn',
      targets: [{ name: 'main lights', channel: 3 }, expect.objectContaining({ channel: 4 })],
    },
  ],
  ['status', { kind: 'query', what: 'anythingOn' }],
  ["what's my bill this month", { kind: 'query', what: 'bill' }],
  ['how much do I owe', { kind: 'query', what: 'bill' }],
  ['how much have I spent this month?', { kind: 'query', what: 'bill' }],
  ['my bill', { kind: 'query', what: 'bill' }],
  ['how much energy did I use today', { kind: 'query', what: 'today' }],
  ['what is my consumption today', { kind: 'query', what: 'today' }],
  ['how much did I spend today', { kind: 'query', what: 'today' }],
  ['how many kWh have I used', { kind: 'query', what: 'bill' }],
  ['how much power am I using', { kind: 'query', what: 'power' }],
  ["what's my power consumption", { kind: 'query', what: 'power' }],
  ['how much electricity am I using right now', { kind: 'query', what: 'power' }],
  ['power usage', { kind: 'query', what: 'power' }],
  ["what's the temperature", { kind: 'query', what: 'temperature' }],
  ['how hot is it', { kind: 'query', what: 'temperature' }],
  ['temperature', { kind: 'query', what: 'temperature' }],
]

const UNKNOWN = [
  '',
  '   ',
  'sing me a song',
  'turn on',
  'set the fan to 7',
  'turn on the toaster',
  'what is the meaning of life',
]

describe('voice/text grammar', () => {
  it.each(TABLE)('%j', (text, expected) => {
    expect(parse(text, home)).toEqual(expected)
  })

  it.each(UNKNOWN)('unknown: %j gets a helpful answer', (text) => {
    const intent = parse(text, home)
    expect(intent.kind).toBe('unknown')
    const help = (intent as Extract<Intent, { kind: 'unknown' }>).help
    expect(help).toMatch(/turn on the fan/)
    expect(help).toMatch(/bedroom fan/)
  })

  it('asks which one when a name is ambiguous', () => {
    const two = createDeviceRegistry([
      { name: 'light', room: 'kitchen', channel: 3 },
      { name: 'light', room: 'porch', channel: 4 },
    ])
    const intent = parse('turn on the light', two)
    expect(intent).toMatchObject({
      kind: 'unknown',
      help: expect.stringMatching(/kitchen light or the porch light/),
    })
    expect(parse('turn on the porch light', two)).toEqual(sw(true, 4))
    expect(parse('turn on both lights', two)).toEqual(sw(true, 3, 4))
  })

  it('uses the default registry of the 8-channel board', () => {
    expect(parse('turn on the fan', defaults)).toEqual(sw(true, 1))
    expect(parse('turn on the light', defaults)).toEqual(sw(true, 3))
    expect(parse('turn on the night light', defaults)).toEqual(sw(true, 4))
    expect(parse('turn on the night lamp', defaults)).toEqual(sw(true, 4))
  })

  it('rejects registries the grammar could not serve', () => {
    expect(() => createDeviceRegistry([{ name: 'the', channel: 1 }])).toThrow(DeviceRegistryError)
    expect(() => createDeviceRegistry([{ name: 'on', channel: 1 }])).toThrow(DeviceRegistryError)
    expect(() => createDeviceRegistry([{ name: 'sprinkler', channel: 6 }])).toThrow(/safety/)
    expect(() => createDeviceRegistry([{ name: 'x', channel: 9 }])).toThrow(DeviceRegistryError)
    expect(() =>
      createDeviceRegistry([
        { name: 'lamp', channel: 3 },
        { name: 'Lamp', channel: 4 },
      ]),
    ).toThrow(/two devices/)
  })

  it('property: any string (or non-string) parses without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.anything()),
        (input) => {
          const intent = parse(input, home)
          expect(['switch', 'fanSpeed', 'query', 'unknown']).toContain(intent.kind)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('property: inserted filler words, punctuation and case do not change the intent', () => {
    const fillers = [...FILLER_WORDS]
    const noise = fc.oneof(
      fc.constantFrom(...fillers),
      fc.constantFrom(',', '.', '!', '?', '...', ' - ', ';', ':'),
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...TABLE),
        fc.array(fc.tuple(fc.nat(), noise), { maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }),
        ([text, expected], insertions, upper) => {
          const words = text.split(' ')
          for (const [at, word] of insertions) words.splice(at % (words.length + 1), 0, word)
          const varied = [...words.join(' ')]
            .map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c.toLowerCase()))
            .join('')
          expect(parse(varied, home)).toEqual(expected)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('property: every configured device name is recognised', () => {
    const nouns = [
      'heater',
      'kettle',
      'pump',
      'radio',
      'tv',
      'printer',
      'lamp',
      'fan',
      'heater',
      'router',
      'fountain',
      'aquarium',
      'dryer',
      'fridge',
    ]
    const adjectives = [
      'desk',
      'porch',
      'garden',
      'red',
      'big',
      'little',
      'study',
      'reading',
      'corner',
      'old',
    ]
    const name = fc
      .tuple(fc.option(fc.constantFrom(...adjectives), { nil: undefined }), fc.constantFrom(...nouns))
      .map(([a, n]) => (a === undefined ? n : `${a} ${n}`))
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('turn on the', 'please switch on', 'start the'),
        (names, verb) => {
          const channels = [1, 2, 3, 4, 5, 8]
          const registry = createDeviceRegistry(names.map((n, i) => ({ name: n, channel: channels[i]! })))
          for (const [i, n] of names.entries()) {
            const intent = parse(`${verb} ${n}`, registry)
            const named = intent.kind === 'switch' ? intent.targets.map((t) => t.channel) : []
            const ambiguous = intent.kind === 'unknown' && /Which one/.test(intent.help)
            // A bare noun shared by several devices ("lamp" vs "desk lamp") may be ambiguous — but
            // then the answer names the device, and its full name is never ambiguous.
            expect(named.includes(channels[i]!) || (ambiguous && intent.help.includes(n))).toBe(true)
            if (intent.kind === 'switch') expect(intent.on).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('reserved words are not filler words (a name cannot vanish in normalisation)', () => {
    for (const w of RESERVED_WORDS) expect(FILLER_WORDS.has(w)).toBe(false)
  })
})

describe('answers', () => {
  const state = {
    devices: home,
    relays: 0b1000_0011,
    fanSpeed: 2,
    powerW: 1530,
    temperatureCenti: 2745,
    bill: { energyWh: 123_456, totalWei: 12_345_678_900_000_000n },
  }

  it.each([
    ['is anything on', 'The bedroom fan (speed 2), the air conditioner and the sockets are on.'],
    ['is the AC on', 'The air conditioner is on.'],
    ['are the lights on', 'The main lights and the bedroom lamp are off.'],
    ["what's my bill this month", 'Your last bill was for 123.5 kilowatt-hours, costing 0.012345 ETH.'],
    ['how much power am I using', 'You are using 1.5 kilowatts right now.'],
    ["what's the temperature", 'It is 27.4 degrees Celsius.'],
    ['turn on the AC', 'The air conditioner is already on.'],
    ['turn off all lights', 'The main lights and the bedroom lamp are already off.'],
    ['turn on the lights', 'Turning on the main lights and the bedroom lamp.'],
    ['fan speed 3', 'Setting the fan to speed 3.'],
    ['fan speed 0', 'Turning the fan off.'],
  ])('%j → %j', (text, reply) => {
    expect(answer(parse(text, home), state)).toBe(reply)
  })

  it('says what it does not know yet and lists what it can do', () => {
    const empty = { devices: home }
    expect(answer(parse('is anything on', home), empty)).toMatch(/haven't heard from the meter/)
    expect(answer(parse('my bill', home), empty)).toMatch(/don't have/)
    expect(answer(parse('power usage', home), empty)).toMatch(/haven't had a reading/)
    expect(answer(parse('how hot is it', home), empty)).toMatch(/temperature reading/)
    expect(answer(parse('blah', home), empty)).toMatch(/I can switch devices/)
    expect(answer(parse('is anything on', home), { devices: home, relays: 0 })).toBe('Everything is off.')
  })

  it('maps intents to relay commands', () => {
    expect(commandsFor(parse('turn off all lights', home))).toEqual([
      { kind: 'power', channel: 3, on: false },
      { kind: 'power', channel: 4, on: false },
    ])
    expect(commandsFor(parse('fan speed two', home))).toEqual([{ kind: 'fanSpeed', speed: 2 }])
    expect(commandsFor(parse('is anything on', home))).toEqual([])
    expect(formatEther(10n ** 18n)).toBe('1 ETH')
    expect(formatEther(0n)).toBe('0 ETH')
  })
})
