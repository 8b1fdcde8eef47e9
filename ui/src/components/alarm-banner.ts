import { css, html, LitElement } from 'lit'
import { api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import { StreamResource } from '../lib/stream-resource.ts'
import type { Alarm } from '../lib/types.ts'
import { shared } from './styles.ts'

export const KIND_TEXT: Record<Alarm['kind'], string> = {
  fire: 'Fire detected',
  gas: 'Gas leak detected',
  flood: 'Water leak detected',
  'disk-full': 'The home box disk is full',
}

export const ADVICE: Record<Alarm['kind'], string> = {
  fire: 'Leave the house and call the fire brigade. The meter runs the sprinkler and has stopped the fans and the air conditioner (moving air feeds a fire).',
  gas: 'Do not switch anything on or off by hand; open windows and leave. The sockets are cut; the meter switches nothing else (a switch can spark).',
  flood: 'Turn off the water main. The appliance circuits have been cut.',
  'disk-full':
    'New readings are not being stored; the meter keeps them for now. Free space on the home box: storing resumes by itself.',
}

/** Whether the alarm still waits for a person: active, or cleared but not acknowledged. */
export const needsAcknowledging = (a: Alarm): boolean => a.state === 'active' || a.state === 'cleared'

/** "Appliance circuits off, Buzzer on": the relays an alarm holds now. */
export function holdsText(a: Alarm): string {
  return (a.holds ?? [])
    .filter((h) => h.state !== 'locked')
    .map((h) => `${h.name} ${h.state}`)
    .join(', ')
}

/**
 * Why relays are off after a hazard too short for the node to raise an alarm (a blip): "Firmware
 * safety reaction to a 2 s gas (LPG) blip at 14:02:05 (3 blips): no alarm was raised, ...".
 */
export function blipText(a: Alarm): string {
  if (!a.blip) return ''
  const at = new Date(a.clearedAt ?? a.raisedAt).toLocaleTimeString()
  const origin = a.blip.origin.charAt(0).toUpperCase() + a.blip.origin.slice(1)
  return `${origin}, ended ${at}: shorter than the node waits before raising an alarm, but the meter switched its safety relays at once and keeps them off.`
}

/** What acknowledging a cleared alarm switches back, in words. */
export function restoreText(a: Alarm): string {
  const restores = a.restores ?? []
  if (restores.length === 0) return 'Acknowledging it lets the relays and rules work as before.'
  return `Acknowledging it switches back what it held: ${restores.map((r) => `${r.name} ${r.on ? 'on' : 'off'}`).join(', ')}.`
}

/** The list with `alarm` replacing its earlier state (an alarm event is its whole new state). */
function upsert(alarms: Alarm[], alarm: Alarm): Alarm[] {
  return [...alarms.filter((a) => a.id !== alarm.id), alarm]
}

/**
 * Unmissable alarm banner shown on every view, with a beep loop until each active alarm is
 * acknowledged. Browsers only let a page make sound after a user gesture, so when the audio is
 * blocked the banner says so and its "Enable sound" button starts it.
 */
export class AlarmBanner extends LitElement {
  static override properties = {
    error: { state: true },
    soundBlocked: { state: true },
    acking: { state: true },
  }
  static override styles = [
    shared,
    css`
      .banner {
        background: var(--danger);
        color: var(--on-danger);
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
        background: var(--on-danger);
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
        border-top: 1px solid color-mix(in srgb, var(--on-danger) 40%, transparent);
        margin-top: 0.5rem;
        padding-top: 0.5rem;
      }
    `,
  ]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  /** The node's alarms, kept current by `alarm` events. */
  #alarms = new StreamResource<Alarm[]>(this, {
    fetch: async () => (await api.alarms()).alarms,
    apply: { alarm: (alarms, alarm) => upsert(alarms, alarm) },
  })
  /** A failed acknowledgement. */
  declare error: string
  declare soundBlocked: boolean
  declare acking: string
  #audio: AudioContext | undefined
  #beep: ReturnType<typeof setInterval> | undefined

  constructor() {
    super()
    this.error = ''
    this.soundBlocked = false
    this.acking = ''
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.#stopSound()
  }

  get alarms(): Alarm[] {
    return this.#alarms.value ?? []
  }

  get active(): Alarm[] {
    return this.alarms.filter((a) => a.state === 'active')
  }

  /**
   * What the banner shows: active alarms and those that cleared before anyone acknowledged them
   * (they still hold relays off, and someone must know the hazard happened).
   */
  get shown(): Alarm[] {
    return this.alarms.filter(needsAcknowledging)
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
      const { alarm: updated } = await api.acknowledgeAlarm({ params: { id: alarm.id } })
      this.#alarms.update((alarms) => upsert(alarms, updated))
      this.error = ''
    } catch (error) {
      this.error = `Acknowledging failed: ${errorText(error)}. Try again.`
    } finally {
      this.acking = ''
    }
  }

  #describe(a: Alarm) {
    if (a.state === 'cleared') {
      const held = holdsText(a)
      return html`<div>
        <strong>${KIND_TEXT[a.kind] ?? a.kind} — ${a.blip ? 'short blip' : 'cleared'}, not acknowledged</strong>
        ${a.blip ? html`<div data-blip>${blipText(a)}</div>` : ''}
        <div>The hazard has gone${held ? `; still held: ${held}` : ''}. ${restoreText(a)}</div>
        <div class="small">
          Raised ${new Date(a.raisedAt).toLocaleString()} · cleared
          ${a.clearedAt ? new Date(a.clearedAt).toLocaleString() : ''}
        </div>
      </div>`
    }
    return html`<div>
      <strong>⚠ ${KIND_TEXT[a.kind] ?? a.kind}${a.severity === 'escalated' ? ' — escalated' : ''}</strong>
      <div>${ADVICE[a.kind] ?? ''}</div>
      <div class="small">
        Raised ${new Date(a.raisedAt).toLocaleString()} ·
        ${a.deviceReacted ? 'the meter has reacted' : 'the meter has NOT confirmed its safety reaction'}
      </div>
    </div>`
  }

  override render() {
    const shown = this.shown
    const error = this.error || this.#alarms.error
    if (shown.length === 0) return error ? html`<p class="error small" role="alert">Alarms: ${error}</p>` : ''
    const label = this.active.length > 0 ? 'Active alarms' : 'Alarms not acknowledged'
    return html`<section class="banner" role="alert" aria-live="assertive" aria-label=${label}>
      ${shown.map(
        (a) => html`<div class="alarm" data-state=${a.state}>
          ${this.#describe(a)}
          <button @click=${() => this.#ack(a)} ?disabled=${this.acking === a.id || this.#session.readOnly} aria-label="Acknowledge ${KIND_TEXT[a.kind] ?? a.kind} alarm">
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
