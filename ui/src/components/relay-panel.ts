import { css, html, LitElement } from 'lit'
import { ApiError, api, errorText } from '../lib/api.ts'
import { Resync, stream } from '../lib/stream.ts'
import type { Relay, RelayEvent, Relays } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

const FAN_TEXT = ['off', 'low', 'medium', 'high']

/**
 * Relay switches and fan speed showing the state the meter reports, never the state asked for:
 * a switch is "pending" from the click until the meter confirms (`relay` event or the POST's
 * answer); a 504 means the meter did not confirm and the switch keeps its reported state.
 */
export class RelayPanel extends LitElement {
  static override properties = { data: { state: true }, pending: { state: true }, errors: { state: true } }
  static override styles = [
    shared,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5rem;
        grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
      }
      li {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 0.5rem;
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.5rem 0.75rem;
      }
      button[role='switch'] {
        min-width: 5.5rem;
        background: var(--line);
        color: var(--fg);
      }
      button[role='switch'][aria-checked='true'] {
        background: var(--ok);
        color: #fff;
      }
      .state {
        font-size: 0.8rem;
        color: var(--muted);
      }
      .fan {
        margin-top: 1rem;
      }
      fieldset {
        border: 1px solid var(--line);
        border-radius: 8px;
      }
      fieldset label {
        flex-direction: row;
        align-items: center;
        gap: 0.3rem;
        margin-right: 0.8rem;
        display: inline-flex;
      }
    `,
  ]
  declare data: Load<Relays>
  /** Channel (or "fan") → requested state, while waiting for the meter. */
  declare pending: Record<string, boolean | number>
  declare errors: Record<string, string>
  #off: (() => void)[] = []
  #resync = new Resync<RelayEvent>()

  constructor() {
    super()
    this.data = loading()
    this.pending = {}
    this.errors = {}
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.#off.push(
      stream.on('relay', (event) => {
        this.#resync.event(event as RelayEvent)
        this.#apply(event as RelayEvent)
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
  }

  async reload(): Promise<void> {
    let replay: RelayEvent[] = []
    this.data = await load(async () => {
      const snapshot = await this.#resync.snapshot(() => api.get<Relays>('/api/relays'))
      replay = snapshot.replay
      return snapshot.value
    })
    for (const event of replay) this.#apply(event)
  }

  #apply(event: RelayEvent): void {
    if (this.data.state !== 'ready') return
    const current = this.data.value
    if ('fanSpeed' in event) {
      this.data = { state: 'ready', value: { ...current, fanSpeed: event.fanSpeed } }
      this.#clear('fan')
    } else {
      const relays = current.relays.map((r) =>
        r.channel === event.channel ? { ...r, on: event.on, pending: false } : r,
      )
      this.data = { state: 'ready', value: { ...current, relays } }
      if (this.pending[event.channel] === event.on) this.#clear(String(event.channel))
    }
  }

  #clear(key: string): void {
    const { [key]: _, ...rest } = this.pending
    this.pending = rest
  }

  #failure(key: string, error: unknown): void {
    const text =
      error instanceof ApiError && error.status === 504
        ? 'The meter did not confirm: the command was not applied. Check that the meter is online and try again.'
        : errorText(error)
    this.errors = { ...this.errors, [key]: text }
  }

  async #toggle(relay: Relay): Promise<void> {
    const key = String(relay.channel)
    const on = !relay.on
    this.pending = { ...this.pending, [key]: on }
    this.errors = { ...this.errors, [key]: '' }
    try {
      const result = await api.post<{ channel: number; on: boolean; confirmed: boolean }>(
        `/api/relays/${relay.channel}`,
        { on },
      )
      if (result.confirmed) this.#apply({ channel: result.channel, on: result.on })
      this.#clear(key)
    } catch (error) {
      this.#clear(key)
      this.#failure(key, error)
    }
  }

  async #setFan(speed: number): Promise<void> {
    this.pending = { ...this.pending, fan: speed }
    this.errors = { ...this.errors, fan: '' }
    try {
      const result = await api.post<{ speed: number; confirmed: boolean }>('/api/fan', { speed })
      if (result.confirmed) this.#apply({ fanSpeed: result.speed })
      this.#clear('fan')
    } catch (error) {
      this.#clear('fan')
      this.#failure('fan', error)
    }
  }

  #relay(r: Relay) {
    const key = String(r.channel)
    const waiting = key in this.pending || r.pending
    const error = this.errors[key]
    return html`<li data-channel=${r.channel}>
      <div>
        <div id="relay-${r.channel}">${r.name}</div>
        <div class="state" aria-live="polite">
          ${waiting ? `pending — waiting for the meter to switch ${(this.pending[key] ?? !r.on) ? 'on' : 'off'}` : `meter reports ${r.on ? 'on' : 'off'}`}
        </div>
        ${error ? html`<div class="error small" role="alert">${error}</div>` : ''}
      </div>
      <button role="switch" aria-checked=${r.on ? 'true' : 'false'} aria-labelledby="relay-${r.channel}"
        ?disabled=${waiting} @click=${() => this.#toggle(r)}>${waiting ? 'pending' : r.on ? 'On' : 'Off'}</button>
    </li>`
  }

  override render() {
    return renderLoad(
      this.data,
      (d) => html`<ul aria-label="Relays">${d.relays.map((r) => this.#relay(r))}</ul>
        <fieldset class="fan" ?disabled=${'fan' in this.pending}>
          <legend>Ceiling fan speed (meter reports ${FAN_TEXT[d.fanSpeed] ?? d.fanSpeed})</legend>
          ${FAN_TEXT.map(
            (text, speed) => html`<label><input type="radio" name="fan" .checked=${d.fanSpeed === speed}
              @change=${() => this.#setFan(speed)} />${speed} — ${text}</label>`,
          )}
          ${'fan' in this.pending ? html`<span class="state" role="status">pending…</span>` : ''}
          ${this.errors.fan ? html`<div class="error small" role="alert">${this.errors.fan}</div>` : ''}
        </fieldset>`,
      () => void this.reload(),
      'relays',
    )
  }
}
customElements.define('zkm-relay-panel', RelayPanel)
