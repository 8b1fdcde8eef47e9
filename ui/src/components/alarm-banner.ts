import { css, html, LitElement } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { normalizeAlarm } from '../lib/normalize.ts'
import { Resync, stream } from '../lib/stream.ts'
import type { Alarm } from '../lib/types.ts'
import { shared } from './styles.ts'

const KIND_TEXT: Record<Alarm['kind'], string> = {
  fire: 'Fire detected',
  gas: 'Gas leak detected',
  flood: 'Water leak detected',
}

const ADVICE: Record<Alarm['kind'], string> = {
  fire: 'Leave the house and call the fire brigade. The sprinkler is switched on by the meter itself.',
  gas: 'Do not switch anything on or off by hand; open windows and leave. Sockets are cut and the vent runs.',
  flood: 'Turn off the water main. The appliance circuits have been cut.',
}

/**
 * Unmissable alarm banner shown on every view, with a beep loop until each active alarm is
 * acknowledged. Browsers only let a page make sound after a user gesture, so when the audio is
 * blocked the banner says so and its "Enable sound" button starts it.
 */
export class AlarmBanner extends LitElement {
  static override properties = {
    alarms: { state: true },
    error: { state: true },
    soundBlocked: { state: true },
    acking: { state: true },
  }
  static override styles = [
    shared,
    css`
      .banner {
        background: var(--danger);
        color: #fff;
        padding: 0.75rem 1rem;
        border-radius: 10px;
        margin: 0 0 1rem;
        box-shadow: 0 0 0 4px var(--danger-bg);
        animation: pulse 1s ease-in-out infinite alternate;
      }
      @media (prefers-reduced-motion: reduce) {
        .banner {
          animation: none;
        }
      }
      @keyframes pulse {
        from {
          box-shadow: 0 0 0 2px var(--danger-bg);
        }
        to {
          box-shadow: 0 0 0 8px var(--danger-bg);
        }
      }
      .banner strong {
        font-size: 1.2rem;
      }
      .banner button {
        background: #fff;
        color: var(--danger);
        font-weight: 600;
      }
      .alarm {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
        justify-content: space-between;
      }
      .alarm + .alarm {
        border-top: 1px solid rgb(255 255 255 / 0.4);
        margin-top: 0.5rem;
        padding-top: 0.5rem;
      }
    `,
  ]
  declare alarms: Alarm[]
  declare error: string
  declare soundBlocked: boolean
  declare acking: string
  #audio: AudioContext | undefined
  #beep: ReturnType<typeof setInterval> | undefined
  #off: (() => void)[] = []
  #resync = new Resync<Alarm>()

  constructor() {
    super()
    this.alarms = []
    this.error = ''
    this.soundBlocked = false
    this.acking = ''
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#off.push(
      stream.on('alarm', (data) => {
        const alarm = normalizeAlarm(data)
        this.#resync.event(alarm)
        this.#upsert(alarm)
      }),
      stream.onConnection((state) => {
        if (state === 'open') void this.reload()
      }),
    )
    void this.reload()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    for (const off of this.#off.splice(0)) off()
    this.#stopSound()
  }

  async reload(): Promise<void> {
    try {
      const { value, replay } = await this.#resync.snapshot(() => api.get<{ alarms: Alarm[] }>('/api/alarms'))
      this.alarms = value.alarms.map(normalizeAlarm)
      for (const alarm of replay) this.#upsert(alarm)
      this.error = ''
    } catch (error) {
      this.error = errorText(error)
    }
  }

  #upsert(alarm: Alarm): void {
    const others = this.alarms.filter((a) => a.id !== alarm.id)
    this.alarms = [...others, alarm]
  }

  get active(): Alarm[] {
    return this.alarms.filter((a) => a.state === 'active')
  }

  override updated(): void {
    if (this.active.length > 0) this.#startSound()
    else this.#stopSound()
  }

  #startSound(): void {
    if (this.#beep !== undefined) return
    const Ctx = globalThis.AudioContext
    if (!Ctx) return
    this.#audio ??= new Ctx()
    this.soundBlocked = this.#audio.state !== 'running'
    this.#beep = setInterval(() => this.#tone(), 900)
    this.#tone()
  }

  #tone(): void {
    const ctx = this.#audio
    if (ctx?.state !== 'running') return
    const osc = ctx.createOscillator()
    const gain = ctx.createGain()
    osc.type = 'square'
    osc.frequency.value = 880
    gain.gain.value = 0.08
    osc.connect(gain).connect(ctx.destination)
    osc.start()
    osc.stop(ctx.currentTime + 0.35)
  }

  #stopSound(): void {
    clearInterval(this.#beep)
    this.#beep = undefined
    this.soundBlocked = false
  }

  async #enableSound(): Promise<void> {
    await this.#audio?.resume()
    this.soundBlocked = this.#audio?.state !== 'running'
  }

  async #ack(alarm: Alarm): Promise<void> {
    this.acking = alarm.id
    try {
      const { alarm: updated } = await api.post<{ alarm: Alarm }>(
        `/api/alarms/${encodeURIComponent(alarm.id)}/ack`,
      )
      this.#upsert(normalizeAlarm(updated))
      this.error = ''
    } catch (error) {
      this.error = `Acknowledging failed: ${errorText(error)}. Try again.`
    } finally {
      this.acking = ''
    }
  }

  override render() {
    const active = this.active
    if (active.length === 0)
      return this.error ? html`<p class="error small" role="alert">Alarms: ${this.error}</p>` : ''
    return html`<section class="banner" role="alert" aria-live="assertive" aria-label="Active alarms">
      ${active.map(
        (a) => html`<div class="alarm">
          <div>
            <strong>⚠ ${KIND_TEXT[a.kind] ?? a.kind}${a.severity === 'escalated' ? ' — escalated' : ''}</strong>
            <div>${ADVICE[a.kind] ?? ''}</div>
            <div class="small">
              Raised ${new Date(a.raisedAt).toLocaleString()} ·
              ${a.deviceReacted ? 'the meter has reacted' : 'the meter has NOT confirmed its safety reaction'}
            </div>
          </div>
          <button @click=${() => this.#ack(a)} ?disabled=${this.acking === a.id} aria-label="Acknowledge ${KIND_TEXT[a.kind] ?? a.kind} alarm">
            ${this.acking === a.id ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        </div>`,
      )}
      ${this.soundBlocked ? html`<p class="small">The browser blocked the alarm sound. <button @click=${this.#enableSound}>Enable sound</button></p>` : ''}
      ${this.error ? html`<p class="small">${this.error}</p>` : ''}
    </section>`
  }
}
customElements.define('zkm-alarm-banner', AlarmBanner)
