import { html, LitElement, svg } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import { shared } from './styles.ts'

interface SpeechRecognitionLike extends EventTarget {
  lang: string
  interimResults: boolean
  maxAlternatives: number
  /** On-device recognition (Web Speech API, newer Chromium): the audio is not sent anywhere. */
  processLocally?: boolean
  /** The earlier draft of the same switch. */
  mode?: string
  start(): void
  abort(): void
}

type SpeechRecognitionCtor = (new () => SpeechRecognitionLike) & {
  available?(options: { langs: string[]; processLocally: boolean }): Promise<string>
  availableOnDevice?(lang: string): Promise<string>
}

const LANG = 'en-US'
/** The resident's answer to the speech notice, per browser: 'voice' or 'text' (text only). */
const VOICE_CHOICE_KEY = 'zkmeter.voice'

type VoiceChoice = 'voice' | 'text' | undefined

function storedChoice(): VoiceChoice {
  try {
    const value = localStorage.getItem(VOICE_CHOICE_KEY)
    return value === 'voice' || value === 'text' ? value : undefined
  } catch {
    return undefined
  }
}

function storeChoice(choice: VoiceChoice): void {
  try {
    if (choice === undefined) localStorage.removeItem(VOICE_CHOICE_KEY)
    else localStorage.setItem(VOICE_CHOICE_KEY, choice)
  } catch {
    // Storage blocked: the notice is simply shown again next time.
  }
}

/** Whether the browser can recognise speech on this device, so no audio leaves it. */
async function onDeviceAvailable(Ctor: SpeechRecognitionCtor): Promise<boolean> {
  try {
    if (typeof Ctor.available === 'function')
      return (await Ctor.available({ langs: [LANG], processLocally: true })) === 'available'
    if (typeof Ctor.availableOnDevice === 'function')
      return (await Ctor.availableOnDevice(LANG)) === 'available'
  } catch {
    // An engine that cannot say is treated as not on the device.
  }
  return false
}

/** Microphone icon drawn inline (no emoji font is guaranteed on every system). */
const MIC = svg`<svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" class="icon"><path fill="currentColor" d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z"/></svg>`

function recognitionCtor(): SpeechRecognitionCtor | undefined {
  const w = window as {
    SpeechRecognition?: SpeechRecognitionCtor
    webkitSpeechRecognition?: SpeechRecognitionCtor
  }
  return w.SpeechRecognition ?? w.webkitSpeechRecognition
}

/**
 * Voice and text commands: both send the words to POST /api/command (the node's grammar) and
 * show its answer, spoken aloud when the browser can. The microphone is offered only where the
 * Web Speech API exists, and before its first use the resident is told that the browser's speech
 * recognition may send the audio to the browser's maker, and chooses voice or text only (kept per
 * browser). Where the browser recognises speech on the device, that is asked for.
 */
export class CommandBox extends LitElement {
  static override properties = {
    text: { state: true },
    answer: { state: true },
    error: { state: true },
    busy: { state: true },
    listening: { state: true },
    asking: { state: true },
    choice: { state: true },
    onDevice: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  declare text: string
  declare answer: string
  declare error: string
  declare busy: boolean
  declare listening: boolean
  /** The speech notice is open (first use of the microphone in this browser). */
  declare asking: boolean
  declare choice: VoiceChoice
  /** The browser recognises speech on this device (undefined until asked). */
  declare onDevice: boolean | undefined
  #recognition: SpeechRecognitionLike | undefined

  constructor() {
    super()
    this.text = ''
    this.answer = ''
    this.error = ''
    this.busy = false
    this.listening = false
    this.asking = false
    this.choice = storedChoice()
    this.onDevice = undefined
  }

  override connectedCallback(): void {
    super.connectedCallback()
    const Ctor = recognitionCtor()
    if (Ctor) void onDeviceAvailable(Ctor).then((yes) => (this.onDevice = yes))
  }

  /** The microphone button: the notice first, once per browser; then listening. */
  #speak(): void {
    if (this.choice === 'voice') this.#listen()
    else this.asking = true
  }

  #choose(choice: 'voice' | 'text'): void {
    this.choice = choice
    storeChoice(choice)
    this.asking = false
    if (choice === 'voice') this.#listen()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#recognition?.abort()
  }

  async send(text: string): Promise<void> {
    const words = text.trim()
    if (!words) return
    this.busy = true
    this.error = ''
    try {
      const { answer } = await api.command({ body: { text: words } })
      this.answer = answer
      this.#say(answer)
    } catch (error) {
      this.error = errorText(error)
    } finally {
      this.busy = false
    }
  }

  #say(text: string): void {
    const synth = globalThis.speechSynthesis
    if (!synth || typeof SpeechSynthesisUtterance === 'undefined') return
    synth.cancel()
    synth.speak(new SpeechSynthesisUtterance(text))
  }

  #listen(): void {
    const Ctor = recognitionCtor()
    if (!Ctor) return
    const recognition = new Ctor()
    this.#recognition = recognition
    recognition.lang = LANG
    recognition.interimResults = false
    recognition.maxAlternatives = 1
    if (this.onDevice) {
      // Keep the audio on this device where the engine can (older drafts called it a mode).
      if ('processLocally' in recognition) recognition.processLocally = true
      else recognition.mode = 'ondevice-only'
    }
    recognition.addEventListener('result', (event) => {
      const transcript =
        (event as Event & { results: ArrayLike<ArrayLike<{ transcript: string }>> }).results[0]?.[0]
          ?.transcript ?? ''
      this.text = transcript
      void this.send(transcript)
    })
    recognition.addEventListener('error', (event) => {
      const code = (event as Event & { error?: string }).error
      this.error =
        code === 'not-allowed' || code === 'service-not-allowed'
          ? 'The browser did not allow the microphone. Allow it in the site settings, or type the command.'
          : code === 'no-speech'
            ? 'No speech was heard. Press the microphone and speak, or type the command.'
            : `Voice recognition failed (${code ?? 'unknown'}). Type the command instead.`
    })
    recognition.addEventListener('end', () => {
      this.listening = false
    })
    this.listening = true
    this.error = ''
    recognition.start()
  }

  #notice() {
    return html`<div class="card" role="group" aria-labelledby="voice-notice-h" data-voice-notice>
      <p id="voice-notice-h"><strong>Before you speak:</strong> voice commands use your browser's own speech recognition, not this node's.
        In many browsers (Chrome and Edge among them) it sends the sound of what you say to the browser maker's servers to turn it into text.
        ${
          this.onDevice
            ? html`<span data-on-device="yes">This browser can recognise speech on this device, and zkmeter asks it to: the audio stays here.</span>`
            : html`<span data-on-device="no">This browser offers no on-device recognition here, so the audio may leave this device.</span>`
        }
        Typed commands go only to your node.</p>
      <div class="row">
        <button type="button" @click=${() => this.#choose('voice')}>Use voice</button>
        <button type="button" class="secondary" @click=${() => this.#choose('text')}>Text only</button>
      </div>
    </div>`
  }

  override render() {
    const voice = recognitionCtor() !== undefined && this.choice !== 'text'
    return html`<form class="row" @submit=${(e: Event) => {
      e.preventDefault()
      void this.send(this.text)
    }}>
        <label class="grow">Command
          <input type="text" .value=${this.text} placeholder="turn on the main lights" autocomplete="off"
            @input=${(e: Event) => {
              this.text = (e.target as HTMLInputElement).value
            }} />
        </label>
        <button type="submit" ?disabled=${this.busy || !this.text.trim() || this.#session.readOnly}>${this.busy ? 'Sending…' : 'Send'}</button>
        ${
          voice
            ? html`<button type="button" class="secondary" @click=${this.#speak} ?disabled=${this.listening || this.busy || this.asking}
          aria-label=${this.listening ? 'Listening…' : 'Speak a command'}>${MIC} ${this.listening ? 'Listening…' : 'Speak'}</button>`
            : ''
        }
      </form>
      ${this.asking ? this.#notice() : ''}
      ${
        recognitionCtor() === undefined
          ? html`<p class="small muted" data-no-voice>Voice commands need the Web Speech API, which this browser does not offer; type the same commands instead.</p>`
          : this.choice === 'text'
            ? html`<p class="small muted" data-text-only>Voice is off in this browser: commands are typed only.
                <button type="button" class="secondary" @click=${() => {
                  this.choice = undefined
                  storeChoice(undefined)
                }}>Turn voice on…</button></p>`
            : ''
      }
      ${this.answer ? html`<p role="status" data-answer><strong>Answer:</strong> ${this.answer}</p>` : ''}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}`
  }
}
customElements.define('zkm-command-box', CommandBox)
