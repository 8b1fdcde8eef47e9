/**
 * Text normalisation shared by the grammar and the device registry: both the spoken/typed command
 * and every configured device name go through the same steps, so "Lamp", "lamps" and "light"
 * compare equal and filler words can never change what a phrase means.
 */

/** Words that carry no meaning for a command: politeness, hesitation, articles. */
export const FILLER_WORDS: ReadonlySet<string> = new Set([
  'please',
  'pls',
  'plz',
  'kindly',
  'could',
  'can',
  'would',
  'will',
  'you',
  'hey',
  'hi',
  'hello',
  'ok',
  'okay',
  'um',
  'umm',
  'uh',
  'er',
  'erm',
  'hmm',
  'well',
  'so',
  'just',
  'quickly',
  'now',
  'thanks',
  'thank',
  'the',
  'a',
  'an',
  'go',
  'ahead',
  'and',
  'me',
  'for',
  'tell',
  'let',
  'know',
  'i',
  'want',
  'like',
  'maybe',
  'actually',
  'really',
  'right',
  'also',
])

const CONTRACTIONS: [RegExp, string][] = [
  [/\bwhat'?s\b/g, 'what is'],
  [/\bwhats\b/g, 'what is'],
  [/\bhow'?s\b/g, 'how is'],
  [/\bit'?s\b/g, 'it is'],
  [/\bthat'?s\b/g, 'that is'],
  [/\bi'?m\b/g, 'i am'],
  [/\bi'd\b/g, 'i would'],
  [/\bdon'?t\b/g, 'do not'],
  [/\bisn'?t\b/g, 'is not'],
  [/\baren'?t\b/g, 'are not'],
]

/** Multi-word synonyms, applied after filler removal so an inserted "please" cannot split them. */
const PHRASES: [string[], string][] = [
  [['air', 'conditioners'], 'ac'],
  [['air', 'conditioner'], 'ac'],
  [['air', 'conditioning'], 'ac'],
  [['air', 'con'], 'ac'],
]

/** What a word names when it names a kind of device. */
export type KindWord = 'fan' | 'light' | 'ac' | 'socket'

/** Single words → [canonical singular word, device kind it names, was plural]. */
const WORDS: Record<string, [string, KindWord | undefined, boolean]> = {
  ac: ['ac', 'ac', false],
  aircon: ['ac', 'ac', false],
  acs: ['ac', 'ac', true],
  light: ['light', 'light', false],
  lights: ['light', 'light', true],
  lamp: ['lamp', 'light', false],
  lamps: ['lamp', 'light', true],
  bulb: ['bulb', 'light', false],
  bulbs: ['bulb', 'light', true],
  fan: ['fan', 'fan', false],
  fans: ['fan', 'fan', true],
  socket: ['socket', 'socket', false],
  sockets: ['socket', 'socket', true],
  plug: ['plug', 'socket', false],
  plugs: ['plug', 'socket', true],
  outlet: ['outlet', 'socket', false],
  outlets: ['outlet', 'socket', true],
  appliances: ['appliance', 'socket', true],
  zero: ['0', undefined, false],
  none: ['0', undefined, false],
  one: ['1', undefined, false],
  two: ['2', undefined, false],
  three: ['3', undefined, false],
  four: ['4', undefined, false],
  five: ['5', undefined, false],
  six: ['6', undefined, false],
  seven: ['7', undefined, false],
  eight: ['8', undefined, false],
  nine: ['9', undefined, false],
  ten: ['10', undefined, false],
}

export interface Token {
  word: string
  kind: KindWord | undefined
  plural: boolean
}

const MAX_INPUT = 500

export function tokenize(text: string): Token[] {
  let t = String(text)
    .slice(0, MAX_INPUT)
    .toLowerCase()
    .replace(/[’‘`´]/g, "'")
  t = t.replace(/\ba\s*[/.]\s*c\b\.?/g, ' ac ')
  for (const [pattern, replacement] of CONTRACTIONS) t = t.replace(pattern, replacement)
  const raw = t
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter((w) => w.length > 0 && !FILLER_WORDS.has(w))
  const merged: string[] = []
  for (let i = 0; i < raw.length; i++) {
    const phrase = PHRASES.find(([words]) => words.every((w, k) => raw[i + k] === w))
    if (phrase) {
      merged.push(phrase[1])
      i += phrase[0].length - 1
    } else merged.push(raw[i]!)
  }
  return merged.map((w) => {
    const mapped = WORDS[w]
    return mapped
      ? { word: mapped[0], kind: mapped[1], plural: mapped[2] }
      : { word: w, kind: undefined, plural: false }
  })
}

export function words(text: string): string[] {
  return tokenize(text).map((t) => t.word)
}
