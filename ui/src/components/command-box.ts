import { html, LitElement, svg } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import { shared } from './styles.ts'

interface SpeechRecognitionLike extends EventTarget {
  lang: string
  interimResults: boolean
  maxAlternatives: number
  start(): void
  abort(): void
}

type SpeechRecognitionCtor = new () => SpeechRecognitionLike

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
 * Web Speech API exists.
 */
export class CommandBox extends LitElement {
  static override properties = {
    text: { state: true },
    answer: { state: true },
    error: { state: true },
    busy: { state: true },
    listening: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  declare text: string
  declare answer: string
  declare error: string
  declare busy: boolean
  declare listening: boolean
  #recognition: SpeechRecognitionLike | undefined

  constructor() {
    super()
    this.text = ''
    this.answer = ''
    this.error = ''
    this.busy = false
    this.listening = false
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
      this.#speak(answer)
    } catch (error) {
      this.error = errorText(error)
    } finally {
      this.busy = false
    }
  }

  #speak(text: string): void {
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
    recognition.lang = 'en-US'
    recognition.interimResults = false
    recognition.maxAlternatives = 1
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

  override render() {
    const voice = recognitionCtor() !== undefined
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
            ? html`<button type="button" class="secondary" @click=${this.#listen} ?disabled=${this.listening || this.busy}
          aria-label=${this.listening ? 'Listening…' : 'Speak a command'}>${MIC} ${this.listening ? 'Listening…' : 'Speak'}</button>`
            : ''
        }
      </form>
      ${voice ? '' : html`<p class="small muted" data-no-voice>Voice commands need the Web Speech API, which this browser does not offer; type the same commands instead.</p>`}
      ${this.answer ? html`<p role="status" data-answer><strong>Answer:</strong> ${this.answer}</p>` : ''}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}`
  }
}
customElements.define('zkm-command-box', CommandBox)
